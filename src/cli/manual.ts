import type { Command } from 'commander'

/** The manual's home; package.json `homepage` names the same repository (test/integration/docs.test.ts checks). */
export const MANUAL_URL = 'https://github.com/authgate/authgate-cli/blob/main/docs/'

/** `credential git` → `credential-git`: the GitHub anchor of the command's heading in docs/commands.md. */
export function commandAnchor(path: readonly string[]): string {
  return path.join('-')
}

/** Ends every command's `--help` with a link to its section of the manual (gh prints "Learn more" the same way). */
export function addManualLinks(program: Command): void {
  const visit = (cmd: Command, path: string[]) => {
    const page = `${MANUAL_URL}commands.md${path.length ? `#${commandAnchor(path)}` : ''}`
    cmd.addHelpText('after', `\nManual: ${page}`)
    for (const child of cmd.commands) visit(child, [...path, child.name()])
  }
  visit(program, [])
}
