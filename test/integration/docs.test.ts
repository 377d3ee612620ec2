import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { test } from 'node:test'
import { Command } from 'commander'
import { commandAnchor, MANUAL_URL } from '../../src/cli/manual.ts'
import { registerCommands } from '../../src/cli/commands.ts'
import { addGlobalOptions } from '../../src/cli/program.ts'
import { completionTree, type CompletionNode } from '../../src/commands/completion/tree.ts'
import { ROOT } from '../support/cli.ts'
import { headings, links, manualPages, ragged, readPage, section } from '../support/markdown.ts'
import { runMain, tempHome } from '../support/run-main.ts'

/**
 * The manual stays true to the program: every page names the version it describes, every command and flag of the
 * command table is in docs/commands.md and in its `--help` (which links to it), and every relative link resolves.
 * The runnable samples are run by docs-runnable.test.ts.
 */

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string
  homepage?: string
  repository?: { url?: string }
}
const COMMANDS = readPage(ROOT, 'docs/commands.md')

/** The program's command table, walked from commander's own objects as the completion generator walks it. */
function commandTable(): CompletionNode[] {
  const program = addGlobalOptions(new Command('authgate')).version('0.0.0', '-V, --version', 'print the version')
  registerCommands(program, () => {
    throw new Error('no command runs in this test')
  })
  return [...completionTree(program).nodes]
}

/** Flags every command has from commander, documented once with the global flags. */
const isHelpFlag = (name: string) => name === '--help' || name === '-h'

test('every page of the manual names the version in package.json', () => {
  for (const page of manualPages(ROOT).filter((p) => p.startsWith('docs/'))) {
    const first = readPage(ROOT, page).split('\n\n')[1] ?? ''
    assert.match(first, /^This page describes authgate \S+\./, `${page}: its first paragraph names no version`)
    assert.ok(first.startsWith(`This page describes authgate ${pkg.version}.`), `${page}: not ${pkg.version}`)
  }
})

test('the manual URL in --help is the repository package.json names', () => {
  const repo = MANUAL_URL.replace(/\/blob\/.*$/, '')
  assert.equal(pkg.homepage, `${repo}#readme`)
  assert.equal(pkg.repository?.url, `git+${repo}.git`)
  assert.ok(existsSync(join(ROOT, 'docs/commands.md')))
})

test('every command of the command table has its section in docs/commands.md, with each of its flags', () => {
  const nodes = commandTable()
  assert.ok(nodes.length > 10, 'the walk found the commands')
  const missing: string[] = []
  for (const node of nodes) {
    const where = node.path.length ? commandAnchor(node.path) : 'global-flags'
    const text = section(COMMANDS, where)
    if (text === undefined) {
      missing.push(`no section #${where} for \`${node.path.join(' ')}\``)
      continue
    }
    for (const flag of node.flags) {
      for (const name of flag.names.filter((n) => node.path.length === 0 || !isHelpFlag(n)))
        if (!new RegExp(`\`${name}[\` ]`).test(text)) missing.push(`#${where} does not mention ${name}`)
    }
  }
  assert.deepEqual(missing, [])
})

test('every command section of docs/commands.md is a command of the program (nothing documented that is gone)', () => {
  const anchors = new Set(commandTable().map((n) => commandAnchor(n.path)))
  const documented = headings(COMMANDS)
    .filter((h) => /^`[a-z][a-z ]*`$/.test(h.text))
    .map((h) => h.slug)
  assert.ok(documented.length > 10)
  assert.deepEqual(
    documented.filter((slug) => !anchors.has(slug) && slug !== 'help'),
    [],
  )
})

test('every command --help lists its flags and links to its section of the manual', async () => {
  const home = tempHome()
  const problems: string[] = []
  for (const node of commandTable()) {
    const help = await runMain([...node.path, '--help'], home)
    assert.equal(help.code, 0, `${node.path.join(' ')} --help: ${help.stderr}`)
    const link = `Manual: ${MANUAL_URL}commands.md${node.path.length ? `#${commandAnchor(node.path)}` : ''}\n`
    if (!help.stdout.endsWith(link)) problems.push(`\`${node.path.join(' ')} --help\` does not end with ${link}`)
    for (const name of node.flags.flatMap((f) => f.names))
      if (!help.stdout.includes(name)) problems.push(`\`${node.path.join(' ')} --help\` does not list ${name}`)
  }
  assert.deepEqual(problems, [])
})

test('every relative link and #anchor in README.md and docs/ resolves', () => {
  const broken: string[] = []
  for (const page of manualPages(ROOT)) {
    for (const { target, line } of links(readPage(ROOT, page))) {
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue // https:, mailto:
      const [path, anchor] = target.split('#', 2)
      const file = path ? normalize(join(dirname(page), decodeURIComponent(path))) : page
      const at = `${page}:${line}: ${target}`
      if (file.startsWith('..') || !existsSync(join(ROOT, file))) broken.push(`${at} (no file ${file})`)
      else if (anchor !== undefined && !file.endsWith('.md'))
        broken.push(`${at} (an anchor into a file that is not a page)`)
      else if (anchor !== undefined && !headings(readPage(ROOT, file)).some((h) => h.slug === anchor))
        broken.push(`${at} (no heading #${anchor} in ${file})`)
    }
  }
  assert.deepEqual(broken, [])
})

test('every table in README.md and docs/ has as many cells in each row as in its header', () => {
  const bad = manualPages(ROOT).flatMap((page) => ragged(readPage(ROOT, page)).map((r) => ({ page, ...r })))
  assert.deepEqual(bad, [])
  assert.deepEqual(ragged('| a | b |\n|---|---|\n| `x \\| y` | z |\n| p | q | r |\n'), [
    { line: 4, cells: 3, header: 2 },
  ])
})

test('the link checker itself: GitHub slugs, and a broken anchor is found', () => {
  const text = '# A `b` c\n\n## A `b` c\n\n```\n# not a heading\n[x](nowhere.md)\n```\n\n## What `auto` does!\n'
  assert.deepEqual(
    headings(text).map((h) => h.slug),
    ['a-b-c', 'a-b-c-1', 'what-auto-does'],
  )
  assert.deepEqual(links(text), [])
  assert.deepEqual(links('see [it](x.md#y) and `[not](z.md)`'), [{ target: 'x.md#y', line: 1 }])
})
