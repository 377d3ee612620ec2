import type { Command } from 'commander'
import { Argument } from 'commander'
import { UsageError } from '../../errors.ts'
import type { CommandEnv } from '../command-env.ts'
import { bashScript } from './bash.ts'
import { fishScript } from './fish.ts'
import { completionTree, type CompletionTree } from './tree.ts'
import { zshScript } from './zsh.ts'

const SHELLS = ['bash', 'zsh', 'fish'] as const
export type Shell = (typeof SHELLS)[number]

export interface CompletionOptions {
  shell: Shell
  tree: CompletionTree
}

const SCRIPTS: Record<Shell, (tree: CompletionTree) => string> = { bash: bashScript, zsh: zshScript, fish: fishScript }

export function parseCompletionArgs(shell: string | undefined, program: Command): CompletionOptions {
  if (!(SHELLS as readonly string[]).includes(shell ?? ''))
    throw new UsageError(`missing or unknown shell ${JSON.stringify(shell ?? '')}: expected ${SHELLS.join(', ')}`)
  return { shell: shell as Shell, tree: completionTree(program) }
}

/** Prints the script; it reads no settings and no session, so it works before any configuration exists. */
export async function runCompletion(options: CompletionOptions, env: CommandEnv): Promise<void> {
  env.deps.io.stdout.write(SCRIPTS[options.shell](options.tree))
}

/** `authgate completion <bash|zsh|fish>`: generated from the program's own command table, never a list kept by hand. */
export function registerCompletion(
  program: Command,
  makeEnv: (cmd: Command) => CommandEnv,
  run: (options: CompletionOptions, env: CommandEnv) => Promise<void> = runCompletion,
): void {
  program
    .command('completion')
    .description('print a shell completion script for commands and flags (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'the shell to complete in').choices(SHELLS))
    .action(async (shell: string, _flags: unknown, cmd: Command) =>
      run(parseCompletionArgs(shell, program), makeEnv(cmd)),
    )
}
