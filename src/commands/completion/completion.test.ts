import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Command, CommanderError } from 'commander'
import { registerCommands } from '../../cli/commands.ts'
import { fakeRun } from '../../../test/support/command-env.ts'
import { parsedOptions, quietProgram } from '../../../test/support/parse-table.ts'
import { registerCompletion, runCompletion, type CompletionOptions } from './completion.ts'
import { completionTree } from './tree.ts'

/** The real program, as main builds it: the tree must follow it, not a list kept beside it. */
function realProgram(): Command {
  const program = quietProgram()
  registerCommands(program, () => {
    throw new Error('not run')
  })
  return program
}

test('completionTree: every command and flag of the real program, global flags at the root', () => {
  const tree = completionTree(realProgram())
  const root = tree.nodes.find((n) => n.path.length === 0)!
  assert.deepEqual(
    root.subcommands.map((c) => c.name),
    realProgram()
      .commands.map((c) => c.name())
      .concat('help'),
  )
  for (const flag of ['--server-url', '--client-id', '--registry', '--json', '--verbose', '--help'])
    assert.ok(
      root.flags.some((f) => f.names.includes(flag)),
      flag,
    )
  const at = (path: string) => tree.nodes.find((n) => n.path.join(' ') === path)!
  assert.deepEqual(
    at('credential').subcommands.map((c) => c.name),
    ['git', 'kubectl', 'docker', 'help'],
  )
  assert.deepEqual(at('credential docker').argChoices, ['get', 'store', 'erase', 'list'])
  assert.deepEqual(at('completion').argChoices, ['bash', 'zsh', 'fish'])
  assert.equal(at('exec').runsCommand, true)
  assert.equal(at('api').runsCommand, false)
  assert.deepEqual(root.flags.find((f) => f.names.includes('--token-store'))?.choices, [
    'auto',
    'keyring',
    'file',
    'encrypted',
    'postgres',
  ])
  assert.ok(
    root.flags.some((f) => f.names.includes('--database-url')),
    'completion misses --database-url',
  )
  assert.ok(tree.valueFlags.includes('--env') && tree.valueFlags.includes('-X') && !tree.valueFlags.includes('--json'))
})

test('completionTree: a command added to the program completes with no other change', () => {
  const program = realProgram()
  program.command('frobnicate').description('new').option('--level <n>', 'how much')
  const tree = completionTree(program)
  assert.ok(tree.nodes.some((n) => n.path.join(' ') === 'frobnicate' && n.flags.some((f) => f.names[0] === '--level')))
  assert.ok(tree.valueFlags.includes('--level'))
})

test('completionTree: a flag that is a switch in one command and takes a value in another is refused', () => {
  const program = new Command('x')
  program.command('a').option('--mode <m>')
  program.command('b').option('--mode')
  assert.throws(() => completionTree(program), TypeError)
})

const parse = (argv: string[]) =>
  parsedOptions<CompletionOptions>(argv, (p, env, capture) => registerCompletion(p, env, capture))
test('parse: the shell is one of bash, zsh, fish', async () => {
  assert.equal((await parse(['completion', 'zsh'])).shell, 'zsh')
  await assert.rejects(parse(['completion', 'tcsh']), CommanderError)
  await assert.rejects(parse(['completion']), CommanderError)
})

test('run: each script names the program and every top-level command, and is written to stdout only', async (t) => {
  const tree = completionTree(realProgram())
  for (const shell of ['bash', 'zsh', 'fish'] as const) {
    const run = fakeRun(t)
    await runCompletion({ shell, tree }, run.env)
    for (const word of ['login', 'logout', 'exec', 'credential', 'docker', '--registry', 'authgate'])
      assert.ok(run.out.stdout.includes(word), `${shell}: ${word}`)
    assert.equal(run.out.stderr, '')
  }
})
