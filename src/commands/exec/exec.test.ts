import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CommanderError } from 'commander'
import { AuthgateError, CommandFailedError, UsageError } from '../../errors.ts'
import type { ChildExit } from '../../session/deps.ts'
import { fakeRun, freshTokens, NOW, refreshingServer } from '../../../test/support/command-env.ts'
import { parsedOptions, parseTableTests } from '../../../test/support/parse-table.ts'
import { childEnvironment, exitStatus, registerExec, runExec, type ExecOptions } from './exec.ts'

// ---- pure decisions ----
test('exitStatus: the code, or 128 + the signal that ended the command', () => {
  const cases: Array<[ChildExit, number]> = [
    [{ code: 0, signal: null }, 0],
    [{ code: 3, signal: null }, 3],
    [{ code: null, signal: 15 }, 143],
    [{ code: null, signal: 2 }, 130],
    [{ code: null, signal: 9 }, 137],
    [{ code: null, signal: null }, 1],
  ]
  for (const [exit, want] of cases) assert.equal(exitStatus(exit), want, JSON.stringify(exit))
})

test('childEnvironment: ours, plus the token as AUTHGATE_TOKEN and each --env name; unset variables dropped', () => {
  assert.deepEqual(childEnvironment({ PATH: '/bin', GONE: undefined, GH_TOKEN: 'old' }, 'AT', ['GH_TOKEN', 'X']), {
    PATH: '/bin',
    GH_TOKEN: 'AT',
    X: 'AT',
    AUTHGATE_TOKEN: 'AT',
  })
})

// ---- parse table: argv → options, with the run function replaced ----
const parse = (argv: string[]) => parsedOptions<ExecOptions>(argv, (p, env, capture) => registerExec(p, env, capture))
const parseCases: Array<{ argv: string[]; want: ExecOptions | ((e: unknown) => boolean) }> = [
  { argv: ['exec', '--', 'env'], want: { command: 'env', args: [], envNames: [] } },
  {
    argv: ['exec', '--env', 'GH_TOKEN', '--env=NPM_TOKEN', '--', 'sh', '-c', 'echo "$GH_TOKEN"', '--env', 'x'],
    want: { command: 'sh', args: ['-c', 'echo "$GH_TOKEN"', '--env', 'x'], envNames: ['GH_TOKEN', 'NPM_TOKEN'] },
  },
  {
    argv: ['--client-id', 'cli', 'exec', '--verbose', '--', 'curl', '--verbose'],
    want: { command: 'curl', args: ['--verbose'], envNames: [] },
  },
  { argv: ['exec', 'make', 'all'], want: { command: 'make', args: ['all'], envNames: [] } },
  { argv: ['exec', '--login', '--', 'make'], want: { command: 'make', args: [], envNames: [], login: true } },
  { argv: ['exec'], want: (e) => e instanceof CommanderError },
  { argv: ['exec', '--', ''], want: (e) => e instanceof UsageError && /missing command/.test(e.message) },
  {
    argv: ['exec', '--env', 'A=B', '--', 'env'],
    want: (e) => e instanceof UsageError && /--env "A=B"/.test(e.message),
  },
  { argv: ['exec', '--env', '1X', '--', 'env'], want: (e) => e instanceof UsageError },
  { argv: ['exec', 'ls', '-la'], want: (e) => e instanceof CommanderError },
]
parseTableTests(parseCases, parse)

// ---- run table: options + fake spawn + fake server → what the command got, the error ----

const runCases: Array<{
  name: string
  seeded?: ReturnType<typeof freshTokens> | null
  envNames?: string[]
  spawn?: ChildExit | Error
  want: { token?: string; exitCode?: number; silent?: boolean; started: boolean }
}> = [
  { name: 'a valid token in the environment; exit 0', want: { token: 'AT1-0123456789', started: true } },
  {
    name: 'an expiring token is refreshed before the command starts',
    seeded: { ...freshTokens(), expiresAtMs: NOW + 1000, obtainedAtMs: NOW - 3_600_000 },
    want: { token: 'AT2-0123456789', started: true },
  },
  { name: '--env names get it too', envNames: ['GH_TOKEN'], want: { token: 'AT1-0123456789', started: true } },
  {
    name: 'the command exits 3: authgate exits 3 and says nothing',
    spawn: { code: 3, signal: null },
    want: { exitCode: 3, silent: true, started: true },
  },
  {
    name: 'SIGTERM ended it: 143',
    spawn: { code: null, signal: 15 },
    want: { exitCode: 143, silent: true, started: true },
  },
  {
    name: 'not found: 127, named',
    spawn: Object.assign(new Error('spawn nope ENOENT'), { code: 'ENOENT' }),
    want: { exitCode: 127, silent: false, started: true },
  },
  { name: 'not signed in: exit 4 and the command never starts', seeded: null, want: { exitCode: 4, started: false } },
]
for (const c of runCases) {
  test(`run: ${c.name}`, async (t) => {
    const run = fakeRun(t, { server: refreshingServer, env: { PATH: '/usr/bin' } })
    if (c.seeded !== null) await run.seed(c.seeded ?? freshTokens())
    const calls: Array<{ command: string; args: readonly string[]; env: Record<string, string> }> = []
    run.deps.spawn = async (command, args, env) => {
      calls.push({ command, args, env })
      if (c.spawn instanceof Error) throw c.spawn
      return c.spawn ?? { code: 0, signal: null }
    }
    const done = runExec({ command: 'tool', args: ['--flag'], envNames: c.envNames ?? [] }, run.env)
    if (c.want.exitCode === undefined) await done
    else
      await assert.rejects(done, (e: unknown) => {
        assert.ok(e instanceof AuthgateError)
        assert.equal(e.exitCode, c.want.exitCode)
        if (c.want.silent !== undefined) assert.equal(e instanceof CommandFailedError && e.silent, c.want.silent)
        return true
      })
    assert.equal(calls.length, c.want.started ? 1 : 0)
    if (!c.want.started) return
    assert.deepEqual([calls[0]!.command, calls[0]!.args], ['tool', ['--flag']])
    assert.equal(calls[0]!.env.PATH, '/usr/bin')
    if (c.want.token) assert.equal(calls[0]!.env.AUTHGATE_TOKEN, c.want.token)
    for (const name of c.envNames ?? []) assert.equal(calls[0]!.env[name], c.want.token)
    assert.equal(run.out.stdout, '')
  })
}
