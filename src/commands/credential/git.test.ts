import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CommanderError } from 'commander'
import { AuthgateError, UsageError } from '../../errors.ts'
import { fakeRun, freshTokens, NOW, refreshingServer } from '../../../test/support/command-env.ts'
import { registerCredential } from './credential.ts'
import { parsedOptions, parseTableTests } from '../../../test/support/parse-table.ts'
import {
  formatGitCredential,
  isConfiguredOrigin,
  parseGitCredential,
  runGitCredential,
  type GitCredentialOptions,
} from './git.ts'

// ---- pure decisions ----

test("parseGitCredential: git's key=value lines up to a blank line; url= stands for its parts", () => {
  const cases = [
    {
      input: 'protocol=https\nhost=git.example\n\n',
      want: { protocol: 'https', host: 'git.example', username: undefined },
    },
    {
      input: 'protocol=https\r\nhost=git.example:8443\r\nusername=bob\r\n',
      want: { protocol: 'https', host: 'git.example:8443', username: 'bob' },
    },
    {
      input: 'protocol=https\nhost=a.example\n\nhost=b.example\n',
      want: { protocol: 'https', host: 'a.example', username: undefined },
    },
    {
      input: 'url=https://x-access-token@git.example/org/repo.git\n',
      want: { protocol: 'https', host: 'git.example', username: 'x-access-token' },
    },
    {
      input:
        'capability[]=authtype\nwwwauth[]=Bearer realm="x"\nprotocol=http\nhost=127.0.0.1:9\npath=a/b\nnonsense\n=x\n',
      want: { protocol: 'http', host: '127.0.0.1:9', username: undefined },
    },
    { input: 'password=a=b=c\n', want: { protocol: undefined, host: undefined, username: undefined } },
    { input: '', want: { protocol: undefined, host: undefined, username: undefined } },
  ]
  for (const c of cases) assert.deepEqual(parseGitCredential(c.input), c.want, JSON.stringify(c.input))
})

test('isConfiguredOrigin: only the configured origins, port included, default port the same as none', () => {
  const configured = {
    apiUrl: 'https://api.example/v1',
    serverUrl: 'http://127.0.0.1:8080',
    allowedHosts: ['git.example'],
    allowInsecureHttp: false,
  }
  const cases: Array<[Parameters<typeof isConfiguredOrigin>[0], boolean]> = [
    [{ protocol: 'https', host: 'api.example' }, true],
    [{ protocol: 'HTTPS', host: 'API.example:443' }, true],
    [{ protocol: 'http', host: 'api.example' }, false],
    [{ protocol: 'https', host: 'api.example:8443' }, false],
    [{ protocol: 'https', host: 'api.example.evil.example' }, false],
    [{ protocol: 'http', host: '127.0.0.1:8080' }, true],
    [{ protocol: 'http', host: '127.0.0.1' }, false],
    [{ protocol: 'ssh', host: 'api.example' }, false],
    [{ protocol: 'https' }, false],
    [{ host: 'api.example' }, false],
    [{ protocol: 'https', host: 'bad host' }, false],
    [{ protocol: 'https', host: 'git.example:8443' }, true],
    [{ protocol: 'https', host: 'other.example' }, false],
    // Attributes that a URL parser reads as a configured origin, while git and curl name another host with them
    // (the CVE-2020-5260 family): the helper answers only for a bare host[:port] and a bare scheme.
    [{ protocol: 'https', host: 'evil.example@api.example' }, false],
    [{ protocol: 'https', host: 'api.example#.evil.example' }, false],
    [{ protocol: 'https', host: 'api.example?.evil.example' }, false],
    [{ protocol: 'https', host: 'api.example/.evil.example' }, false],
    [{ protocol: 'https', host: 'api.example\\.evil.example' }, false],
    [{ protocol: 'https://api.example#', host: 'evil.example' }, false],
    // An allowed host over plain http: git would send the token in clear text; `api` refuses it too.
    [{ protocol: 'http', host: 'git.example' }, false],
  ]
  for (const [request, want] of cases)
    assert.equal(isConfiguredOrigin(request, configured), want, JSON.stringify(request))
  const insecure = { ...configured, allowInsecureHttp: true }
  assert.equal(isConfiguredOrigin({ protocol: 'http', host: 'git.example' }, insecure), true)
})

test('formatGitCredential: username, password, and the expiry when known', () => {
  assert.equal(formatGitCredential({ username: 'oauth2', password: 'AT' }), 'username=oauth2\npassword=AT\n')
  assert.equal(
    formatGitCredential({ username: 'u', password: 'AT', expiresAtMs: 1_700_000_000_999 }),
    'username=u\npassword=AT\npassword_expiry_utc=1700000000\n',
  )
})

// ---- parse table: argv → options, with the runners replaced ----

type Parsed = GitCredentialOptions | 'kubectl' | 'kubectl --login' | { docker: string }
const parse = (argv: string[]) =>
  parsedOptions<Parsed>(argv, (p, env, capture) =>
    registerCredential(p, env, {
      git: capture,
      kubectl: (o) => capture(o.login ? 'kubectl --login' : 'kubectl'),
      docker: (action) => capture({ docker: action }),
    }),
  )

const parseCases: Array<{ argv: string[]; want: Parsed | ((e: unknown) => boolean) }> = [
  { argv: ['credential', 'git', 'get'], want: { operation: 'get', username: 'oauth2', login: false } },
  { argv: ['credential', 'git', '--login', 'get'], want: { operation: 'get', username: 'oauth2', login: true } },
  { argv: ['credential', 'git', 'store'], want: { operation: 'store', username: 'oauth2', login: false } },
  {
    argv: ['credential', 'git', '--username', 'x-access-token', 'get'],
    want: { operation: 'get', username: 'x-access-token', login: false },
  },
  {
    argv: ['--server-url', 'https://git.example', 'credential', 'git', 'capability'],
    want: { operation: 'capability', username: 'oauth2', login: false },
  },
  { argv: ['credential', 'kubectl'], want: 'kubectl' },
  { argv: ['credential', 'kubectl', '--login'], want: 'kubectl --login' },
  { argv: ['credential', 'kubectl', '--json'], want: 'kubectl' },
  { argv: ['credential', 'git'], want: (e) => e instanceof UsageError && /missing operation/.test(e.message) },
  { argv: ['credential', 'git', '--username', '', 'get'], want: (e) => e instanceof UsageError },
  { argv: ['credential', 'kubectl', 'extra'], want: (e) => e instanceof CommanderError },
  { argv: ['credential', 'svn'], want: (e) => e instanceof CommanderError },
  { argv: ['credential', 'docker', 'get'], want: { docker: 'get' } },
  { argv: ['credential', 'docker', 'list', '--registry', 'r.example'], want: { docker: 'list' } },
  { argv: ['credential', 'docker', 'erase'], want: { docker: 'erase' } },
  { argv: ['credential', 'docker', 'version'], want: (e) => e instanceof CommanderError },
  {
    argv: ['credential', 'docker'],
    want: (e) => e instanceof UsageError && /unknown credential action/.test(e.message),
  },
]

parseTableTests(parseCases, parse)

// ---- run table: options + stdin + fake server → stdout, error, requests ----

const EXPIRY = Math.floor((NOW + 3_600_000) / 1000)

const runCases: Array<{
  name: string
  operation?: string
  stdin: string
  seeded?: ReturnType<typeof freshTokens> | null
  want: { stdout: string; error?: (e: unknown) => boolean; refreshed?: boolean }
}> = [
  {
    name: 'get for the server URL: a valid token as the password',
    stdin: 'protocol=https\nhost=as.test\n\n',
    want: { stdout: `username=oauth2\npassword=AT1-0123456789\npassword_expiry_utc=${EXPIRY}\n` },
  },
  {
    name: 'get keeps the username git asks with',
    stdin: 'protocol=https\nhost=as.test\nusername=x-access-token\n\n',
    want: { stdout: `username=x-access-token\npassword=AT1-0123456789\npassword_expiry_utc=${EXPIRY}\n` },
  },
  {
    name: 'get for another host: no answer, so git asks elsewhere',
    stdin: 'protocol=https\nhost=github.com\n\n',
    want: { stdout: '' },
  },
  {
    name: 'get over http for an https session: no answer',
    stdin: 'protocol=http\nhost=as.test\n\n',
    want: { stdout: '' },
  },
  {
    name: 'get with an expiring token: refreshed first',
    stdin: 'protocol=https\nhost=as.test\n',
    seeded: { ...freshTokens(), expiresAtMs: NOW + 1000, obtainedAtMs: NOW - 3_600_000 },
    want: { stdout: `username=oauth2\npassword=AT2-0123456789\npassword_expiry_utc=${EXPIRY}\n`, refreshed: true },
  },
  {
    name: 'store: reads and ignores',
    operation: 'store',
    stdin: 'protocol=https\nhost=as.test\nusername=oauth2\npassword=AT1-0123456789\n\n',
    want: { stdout: '' },
  },
  {
    name: 'erase: reads and ignores (the session stays)',
    operation: 'erase',
    stdin: 'protocol=https\nhost=as.test\n\n',
    want: { stdout: '' },
  },
  { name: 'an operation from a newer git: ignored', operation: 'capability', stdin: '', want: { stdout: '' } },
  {
    name: 'get, not signed in: exit 4, nothing on stdout',
    stdin: 'protocol=https\nhost=as.test\n\n',
    seeded: null,
    want: { stdout: '', error: (e) => e instanceof AuthgateError && e.exitCode === 4 },
  },
]

for (const c of runCases) {
  test(`run: ${c.name}`, async (t) => {
    const run = fakeRun(t, { server: refreshingServer, stdin: c.stdin })
    if (c.seeded !== null) await run.seed(c.seeded ?? freshTokens())
    const done = runGitCredential({ operation: c.operation ?? 'get', username: 'oauth2', login: false }, run.env)
    if (c.want.error) await assert.rejects(done, c.want.error)
    else await done
    assert.equal(run.out.stdout, c.want.stdout)
    assert.equal(
      run.requests.some((r) => r.url.endsWith('/oauth/token')),
      c.want.refreshed === true,
    )
    assert.equal((await run.stored()) === undefined, c.seeded === null, 'store and erase never touch the session')
  })
}
