import assert from 'node:assert/strict'
import { test } from 'node:test'
import { registerCommands } from '../../cli/commands.ts'
import { sessionKey } from '../../session-key.ts'
import { AuthgateError } from '../../errors.ts'
import { memoryLock } from '../../lock/memory-lock.ts'
import { FileStore } from '../../stores/file-store.ts'
import { fakeRun, freshTokens, NOW, SERVER } from '../../../test/support/command-env.ts'
import { buildStatusAll, runStatusAll } from './status-all.ts'
import { quietProgram } from '../../../test/support/parse-table.ts'

// ---- parse: `status --all` reaches this runner (the branch lives in cli/commands.ts) ----

test('parse: authgate status --all [--json] lists; plain status does not', async (t) => {
  const cases: Array<{ argv: string[]; wantListed: boolean; wantJson?: boolean }> = [
    { argv: ['status', '--all'], wantListed: true, wantJson: false },
    { argv: ['--json', 'status', '--all'], wantListed: true, wantJson: true },
    { argv: ['status', '--all', '--json'], wantListed: true, wantJson: true },
  ]
  for (const c of cases) {
    const run = fakeRun(t)
    await run.seed(freshTokens())
    const program = quietProgram()
    registerCommands(program, (cmd) => ({ ...run.env, flags: run.flags, json: cmd.optsWithGlobals().json === true }))
    await program.parseAsync([...c.argv, '--token-store', 'file', '--token-file', run.flags.tokenFile!], {
      from: 'user',
    })
    assert.equal(run.out.stdout.startsWith('{"store":"file"'), c.wantJson, c.argv.join(' '))
    assert.equal(/stored session|"sessions"/.test(run.out.stdout), c.wantListed)
  }
})

// ---- pure report ----

test('buildStatusAll: every session, sorted, the current one marked, never a token', () => {
  const a = sessionKey('https://a.example', 'cli')
  const b = sessionKey('https://b.example', 'cli')
  const report = buildStatusAll(
    { serverUrl: 'https://b.example', clientId: 'cli' },
    { kind: 'file', location: '/t/tokens.json' },
    [
      {
        key: b,
        store: 'file',
        tokens: {
          accessToken: 'AT-b',
          tokenType: 'Bearer',
          refreshToken: 'RT-b',
          expiresAtMs: NOW + 90_000,
          scope: 'email',
          issuer: 'https://b.example',
        },
      },
      { key: a, store: 'file', tokens: { accessToken: 'AT-a', tokenType: 'Bearer', expiresAtMs: NOW - 1 } },
    ],
    NOW,
  )
  assert.deepEqual(report, {
    store: 'file',
    store_path: '/t/tokens.json',
    sessions: [
      {
        server_url: 'https://a.example',
        client_id: 'cli',
        store: 'file',
        current: false,
        issuer: null,
        scope: null,
        expires_at: '2023-11-14T22:13:19Z',
        expires_in: 0,
        has_refresh_token: false,
      },
      {
        server_url: 'https://b.example',
        client_id: 'cli',
        store: 'file',
        current: true,
        issuer: 'https://b.example',
        scope: 'email',
        expires_at: '2023-11-14T22:14:50Z',
        expires_in: 90,
        has_refresh_token: true,
      },
    ],
  })
  assert.doesNotMatch(JSON.stringify(report), /AT-|RT-/)
})

// ---- run table ----

const current = sessionKey(SERVER, 'cli')
const other = sessionKey('https://other.example', 'tool')

const runCases: Array<{
  name: string
  json: boolean
  sessions: number
  noClientId?: boolean
  want: { stdout: RegExp[]; error?: boolean }
}> = [
  {
    name: 'two sessions, text: both, the current one starred',
    json: false,
    sessions: 2,
    want: {
      stdout: [
        /^2 stored sessions \(file store \/.*tokens\.json\):$/m,
        /^\* https:\/\/as\.test {2}client cli {2}\(file\)$/m,
        /^ {2}https:\/\/other\.example {2}client tool {2}\(file\)$/m,
        /expires: 2023-11-14T23:13:20Z \(in 1h 0m\); refresh token: yes; scopes: email profile/,
      ],
    },
  },
  {
    name: 'json: one object',
    json: true,
    sessions: 2,
    want: {
      stdout: [
        /^\{"store":"file","store_path":"\/.*","sessions":\[\{"server_url":"https:\/\/as\.test",.*"current":true.*\},\{"server_url":"https:\/\/other\.example".*\]\}\n$/,
      ],
    },
  },
  {
    name: 'no client id configured: still lists',
    json: false,
    sessions: 2,
    noClientId: true,
    want: { stdout: [/^2 stored sessions/m] },
  },
  {
    name: 'an empty store: says so, exit 4',
    json: true,
    sessions: 0,
    want: { stdout: [/^\{"store":"file","store_path":"\/.*","sessions":\[\]\}\n$/], error: true },
  },
]

for (const c of runCases) {
  test(`run: ${c.name}`, async (t) => {
    const run = fakeRun(t, { env: c.noClientId ? { AUTHGATE_CLIENT_ID: '' } : {} })
    const store = new FileStore(run.flags.tokenFile!, { lockFile: memoryLock(), lockTimeoutMs: 1000, now: () => NOW })
    for (const [key, tokens] of [
      [current, freshTokens()],
      [other, freshTokens('9')],
    ] as const) {
      if (c.sessions > (key === current ? 0 : 1)) await store.write(key, tokens)
    }
    const done = runStatusAll({ json: c.json }, { ...run.env, json: c.json })
    if (c.want.error) await assert.rejects(done, (e: unknown) => e instanceof AuthgateError && e.exitCode === 4)
    else await done
    for (const re of c.want.stdout) assert.match(run.out.stdout, re)
    assert.doesNotMatch(run.out.stdout, /[AR]T\d-0123456789/)
  })
}
