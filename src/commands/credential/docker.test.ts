import assert from 'node:assert/strict'
import { test } from 'node:test'
import { registryHost } from '../../config/settings.ts'
import { AuthgateError, UsageError } from '../../errors.ts'
import { fakeRun, freshTokens, NOW, refreshingServer } from '../../../test/support/command-env.ts'
import { dockerList, matchRegistry, parseDockerAction, runDockerCredential, type DockerAction } from './docker.ts'

// ---- pure decisions ----
test('registryHost: every way Docker names a registry → lower-case host[:port]', () => {
  const cases: Array<[string, string | undefined]> = [
    ['registry.example', 'registry.example'],
    ['Registry.Example:5000', 'registry.example:5000'],
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['https://registry.example:443/v2/', 'registry.example'],
    ['http://127.0.0.1:5000', '127.0.0.1:5000'],
    ['registry.example/v2/', 'registry.example'],
    ['[::1]:5000', '[::1]:5000'],
    ['', undefined],
    ['https://user:pw@registry.example', undefined],
    ['bad host', undefined],
  ]
  for (const [input, want] of cases) assert.equal(registryHost(input), want, input)
})

test('matchRegistry: only a configured host, port included', () => {
  const configured = ['registry.example', '127.0.0.1:5000']
  const cases: Array<[string, string | undefined]> = [
    ['registry.example', 'registry.example'],
    ['https://REGISTRY.example/v1/', 'registry.example'],
    ['registry.example:5000', undefined],
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['http://127.0.0.1:5000/', '127.0.0.1:5000'],
    ['127.0.0.1', undefined],
    ['registry.example.evil.example', undefined],
    ['evil.example/registry.example', undefined],
    ['', undefined],
  ]
  for (const [input, want] of cases) assert.equal(matchRegistry(input, configured), want, input)
})

test('dockerList and parseDockerAction', () => {
  assert.equal(dockerList([]), '{}\n')
  assert.equal(dockerList(['a.example', 'b.example:5000']), '{"a.example":"oauth2","b.example:5000":"oauth2"}\n')
  assert.equal(parseDockerAction('get'), 'get')
  assert.throws(() => parseDockerAction(undefined), UsageError)
  assert.throws(() => parseDockerAction('version'), UsageError)
})

// ---- run table: action + stdin + settings + fake server → stdout, error, requests ----
const REGISTRY = { AUTHGATE_REGISTRY: 'registry.example, 127.0.0.1:5000' }
const answer = (url: string, secret: string) =>
  `${JSON.stringify({ ServerURL: url, Username: 'oauth2', Secret: secret })}\n`

const runCases: Array<{
  name: string
  action: DockerAction
  stdin: string
  env?: Record<string, string>
  seeded?: ReturnType<typeof freshTokens> | null
  want: { stdout: string; exitCode?: number; refreshed?: boolean }
}> = [
  {
    name: 'get for a configured registry: oauth2 and a valid token',
    action: 'get',
    stdin: 'https://registry.example/v1/\n',
    env: REGISTRY,
    want: { stdout: answer('https://registry.example/v1/', 'AT1-0123456789') },
  },
  {
    name: 'get with an expiring token: refreshed first',
    action: 'get',
    stdin: '127.0.0.1:5000',
    env: REGISTRY,
    seeded: { ...freshTokens(), expiresAtMs: NOW + 1000, obtainedAtMs: NOW - 3_600_000 },
    want: { stdout: answer('127.0.0.1:5000', 'AT2-0123456789'), refreshed: true },
  },
  {
    name: 'get for another host: the text Docker knows, exit 1',
    action: 'get',
    stdin: 'ghcr.io\n',
    env: REGISTRY,
    want: { stdout: 'credentials not found in native keychain\n', exitCode: 1 },
  },
  {
    name: 'get with no registry configured: not found, even for the server host',
    action: 'get',
    stdin: 'as.test\n',
    want: { stdout: 'credentials not found in native keychain\n', exitCode: 1 },
  },
  {
    name: 'get, not signed in: exit 4 and a line Docker can show',
    action: 'get',
    stdin: 'registry.example\n',
    env: REGISTRY,
    seeded: null,
    want: { stdout: 'authgate: not signed in, or the session has ended: run `authgate login`\n', exitCode: 4 },
  },
  {
    name: 'store: reads and changes nothing',
    action: 'store',
    stdin: '{"ServerURL":"registry.example","Username":"u","Secret":"typed"}',
    env: REGISTRY,
    want: { stdout: '' },
  },
  { name: 'erase: changes nothing', action: 'erase', stdin: 'registry.example\n', env: REGISTRY, want: { stdout: '' } },
  {
    name: 'list: the configured registries',
    action: 'list',
    stdin: '',
    env: REGISTRY,
    want: { stdout: '{"registry.example":"oauth2","127.0.0.1:5000":"oauth2"}\n' },
  },
]
for (const c of runCases) {
  test(`run: ${c.name}`, async (t) => {
    const run = fakeRun(t, { server: refreshingServer, stdin: c.stdin, env: c.env })
    if (c.seeded !== null) await run.seed(c.seeded ?? freshTokens())
    const done = runDockerCredential(c.action, run.env)
    if (c.want.exitCode === undefined) await done
    else await assert.rejects(done, (e: unknown) => e instanceof AuthgateError && e.exitCode === c.want.exitCode)
    assert.equal(run.out.stdout, c.want.stdout)
    assert.equal(
      run.requests.some((r) => r.url.endsWith('/oauth/token')),
      c.want.refreshed === true,
    )
    assert.equal((await run.stored()) === undefined, c.seeded === null, 'store and erase never touch the session')
  })
}

test('a registry from a working-directory .env is not the user’s: not found', async (t) => {
  const run = fakeRun(t, { server: refreshingServer, stdin: 'registry.example\n' })
  const { writeFileSync } = await import('node:fs')
  writeFileSync(`${run.deps.cwd}/.env`, 'AUTHGATE_REGISTRY=registry.example\nREGISTRY=registry.example\n')
  await run.seed(freshTokens())
  await assert.rejects(runDockerCredential('get', run.env), (e: unknown) => e instanceof AuthgateError)
  assert.equal(run.out.stdout, 'credentials not found in native keychain\n')
})
