import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { CommanderError } from 'commander'
import { freshTokens, fakeRun, NOW } from '../../../test/support/command-env.ts'
import { goCliDocument, goSdkDocument, sealGoValue, writeGoFile } from '../../../test/support/go-files.ts'
import { parsedOptions } from '../../../test/support/parse-table.ts'
import { AuthgateError, UsageError } from '../../errors.ts'
import { MemoryKeyring } from '../../stores/memory-keyring.ts'
import { registerImport, runImportGo, type ImportGoOptions } from './import.ts'

// ---- parse table: argv → options, with the run function replaced ----

const parse = (argv: string[]) =>
  parsedOptions<ImportGoOptions>(argv, (p, env, capture) => registerImport(p, env, capture))

const none: ImportGoOptions = { file: undefined, keyringService: undefined, force: false }
const parseCases: Array<{ argv: string[]; want: ImportGoOptions | ((err: unknown) => boolean) }> = [
  { argv: ['import', 'go'], want: none },
  { argv: ['import', 'go', '--file', 'go.json'], want: { ...none, file: 'go.json' } },
  {
    argv: ['import', 'go', '--keyring-service', 'my-app', '--force'],
    want: { ...none, keyringService: 'my-app', force: true },
  },
  { argv: ['--json', 'import', 'go', '--file=/a/b.enc'], want: { ...none, file: '/a/b.enc' } },
  { argv: ['import', 'go', '--file'], want: (e) => e instanceof CommanderError },
  { argv: ['import', 'go', 'extra'], want: (e) => e instanceof CommanderError },
  { argv: ['import', 'python'], want: (e) => e instanceof CommanderError },
]

for (const c of parseCases) {
  test(`parse: authgate ${c.argv.join(' ')}`, async () => {
    if (typeof c.want === 'function') return void (await assert.rejects(parse(c.argv), c.want))
    assert.deepEqual(await parse(c.argv), c.want)
  })
}

// ---- run table: options + Go files / keyring → stdout, stderr, error, store ----

const goJson = (name: string, extra: Record<string, string> = {}) => ({
  access_token: `GO-AT-${name}-0123456789`,
  refresh_token: `GO-RT-${name}-0123456789`,
  token_type: 'Bearer',
  expires_at: new Date(NOW + 3_600_000).toISOString(),
  client_id: 'cli',
  ...extra,
})
const KEY = randomBytes(32)
const masterKey = (k: MemoryKeyring, service: string, key = KEY) =>
  void k.items.set(`${service}\n__authgate_master_key__`, new TextEncoder().encode(key.toString('base64')))

interface RunCase {
  name: string
  options?: Partial<ImportGoOptions>
  env?: Record<string, string>
  /** Files to write, relative to the run's root (its cwd, HOME and XDG_CONFIG_HOME base). */
  files?: Record<string, string>
  keyring?: (k: MemoryKeyring) => void
  seeded?: boolean
  want: { imported?: string; stderr: RegExp; error?: (e: unknown) => boolean; keyringCalls?: string[] }
}

const runCases: RunCase[] = [
  {
    name: 'the Go CLI file named by --file',
    options: { file: 'go.json' },
    files: { 'go.json': goCliDocument({ cli: goJson('cli'), other: goJson('other') }) },
    want: {
      imported: 'cli',
      stderr:
        /^Imported the Go session for client cli from the file \/.*\/go\.json as authgate's session for https:\/\/as\.test\./m,
      keyringCalls: [],
    },
  },
  {
    name: 'the SDK’s encrypted file found by its base path; the key from the first service that has one',
    options: { file: 'tokens.json' },
    files: { 'tokens.json.enc': goSdkDocument({ cli: sealGoValue(JSON.stringify(goJson('enc')), KEY) }) },
    keyring: (k) => (masterKey(k, 'authgate-oauth-cli', randomBytes(32)), masterKey(k, 'authgate')),
    want: {
      imported: 'enc',
      stderr: /from the file \/.*\/tokens\.json\.enc /,
      keyringCalls: ['get authgate-oauth-cli __authgate_master_key__', 'get authgate __authgate_master_key__'],
    },
  },
  {
    name: '--keyring-service names the only service asked',
    options: { file: 'x.enc', keyringService: 'my-app' },
    files: { 'x.enc': goSdkDocument({ cli: sealGoValue(JSON.stringify(goJson('mine')), KEY) }) },
    keyring: (k) => masterKey(k, 'my-app'),
    want: {
      imported: 'mine',
      stderr: /from the file \/.*\/x\.enc /,
      keyringCalls: ['get my-app __authgate_master_key__'],
    },
  },
  {
    name: 'no --file: the SDK’s plain file in the user config dir',
    files: { 'xdg/authgate/tokens.json': goSdkDocument({ cli: JSON.stringify(goJson('plain')) }) },
    want: { imported: 'plain', stderr: /from the file \/.*\/xdg\/authgate\/tokens\.json /, keyringCalls: [] },
  },
  {
    name: 'no --file: the token JSON kept in the keyring itself (account = client id)',
    keyring: (k) => k.items.set('authgate\ncli', new TextEncoder().encode(JSON.stringify(goJson('kr')))),
    want: {
      imported: 'kr',
      stderr: /from the OS keyring \(Secret Service\), service authgate /,
      keyringCalls: ['get authgate-oauth-cli cli', 'get authgate cli'],
    },
  },
  {
    name: 'no --file never reads the working directory, where the Go tools’ default file is',
    files: {
      '.authgate-tokens.json': goCliDocument({ cli: goJson('cwd') }),
      '.authgate-tokens.json.enc': goSdkDocument({ cli: JSON.stringify(goJson('cwd')) }),
    },
    want: { stderr: /^$/, error: refused(/no Go session for client id "cli" in the OS keyring/) },
  },
  {
    name: 'refused: no entry for the client id',
    options: { file: 'go.json' },
    files: { 'go.json': goCliDocument({ other: goJson('other') }) },
    want: { stderr: /^$/, error: refused(/^no Go session for client id "cli" in \/.*\/go\.json$/) },
  },
  {
    name: 'refused: --file names nothing that exists',
    options: { file: 'missing.json' },
    want: { stderr: /^$/, error: refused(/in any of \/.*\/missing\.json\.enc, \/.*\/missing\.json$/) },
  },
  {
    name: 'a Go file that is not JSON: exit 1 naming it, never quoting it',
    options: { file: 'go.json' },
    files: { 'go.json': '{"tokens":{"cli":{"access_token":"GO-AT-cut' },
    want: {
      stderr: /^$/,
      error: (e) =>
        e instanceof AuthgateError &&
        e.exitCode === 1 &&
        /^the Go session in \/.*\/go\.json cannot be imported: it is not a JSON object$/.test(e.message),
    },
  },
  {
    name: 'refused: expired with no refresh token',
    options: { file: 'go.json' },
    files: {
      'go.json': goCliDocument({
        cli: goJson('old', { refresh_token: '', expires_at: new Date(NOW - 1000).toISOString() }),
      }),
    },
    want: { stderr: /^$/, error: refused(/has expired and has no refresh token/) },
  },
  {
    name: 'expired with a refresh token is imported (the next `token` refreshes it)',
    options: { file: 'go.json' },
    files: { 'go.json': goCliDocument({ cli: goJson('old', { expires_at: new Date(NOW - 1000).toISOString() }) }) },
    want: { imported: 'old', stderr: /Imported/ },
  },
  {
    name: "Go's zero time with no refresh token is imported: it never expires",
    options: { file: 'go.json' },
    files: {
      'go.json': goCliDocument({ cli: goJson('zero', { refresh_token: '', expires_at: '0001-01-01T00:00:00Z' }) }),
    },
    want: { imported: 'zero', stderr: /Imported/ },
  },
  {
    name: 'refused: the session already exists in authgate',
    options: { file: 'go.json' },
    files: { 'go.json': goCliDocument({ cli: goJson('cli') }) },
    seeded: true,
    want: {
      stderr: /^$/,
      error: refused(/^authgate already has a session for client id "cli" at https:\/\/as\.test \(/),
    },
  },
  {
    name: '--force replaces it',
    options: { file: 'go.json', force: true },
    files: { 'go.json': goCliDocument({ cli: goJson('cli') }) },
    seeded: true,
    want: { imported: 'cli', stderr: /Imported/ },
  },
  {
    name: 'a v1: value no key opens is an error naming the services, and nothing is saved',
    options: { file: 'go.json.enc' },
    files: { 'go.json.enc': goSdkDocument({ cli: sealGoValue(JSON.stringify(goJson('enc')), KEY) }) },
    keyring: (k) => masterKey(k, 'authgate', randomBytes(32)),
    want: {
      stderr: /^$/,
      error: (e) =>
        e instanceof AuthgateError &&
        e.exitCode === 1 &&
        /no master key in the OS keyring \(Secret Service\) opens it \(account __authgate_master_key__, service authgate-oauth-cli or authgate\)/.test(
          e.message,
        ),
    },
  },
  {
    name: 'the server URL from .env only: a usage error, nothing read',
    options: { file: 'go.json' },
    env: { AUTHGATE_SERVER_URL: '' },
    files: { '.env': 'SERVER_URL=http://127.0.0.1:18081\n', 'go.json': goCliDocument({ cli: goJson('cli') }) },
    want: {
      stderr: /^$/,
      error: usage(/server URL set by you: here it comes only from a \.env file/),
      keyringCalls: [],
    },
  },
  {
    name: 'the default server URL: a usage error',
    options: { file: 'go.json' },
    env: { AUTHGATE_SERVER_URL: '' },
    files: { 'go.json': goCliDocument({ cli: goJson('cli') }) },
    want: { stderr: /^$/, error: usage(/server URL set by you: here it comes only from the default/) },
  },
  {
    name: 'the client id from .env only: a usage error',
    options: { file: 'go.json' },
    env: { AUTHGATE_CLIENT_ID: '' },
    files: { '.env': 'CLIENT_ID=cli\n', 'go.json': goCliDocument({ cli: goJson('cli') }) },
    want: { stderr: /^$/, error: usage(/client id set by you: here it comes only from a \.env file/) },
  },
  {
    name: 'a .env naming another server cannot redirect the import: the user’s server wins',
    options: { file: 'go.json' },
    files: { '.env': 'SERVER_URL=http://127.0.0.1:18081\n', 'go.json': goCliDocument({ cli: goJson('cli') }) },
    want: { imported: 'cli', stderr: /as authgate's session for https:\/\/as\.test\./ },
  },
]

/** The memory keyring, named as the real one is in messages. */
function reader(k: MemoryKeyring) {
  return { name: 'the OS keyring (Secret Service)', get: (s: string, a: string) => k.get(s, a) }
}

function refused(message: RegExp) {
  return (e: unknown) =>
    e instanceof AuthgateError && e.code === 'AUTHGATE_IMPORT_REFUSED' && e.exitCode === 1 && message.test(e.message)
}
function usage(message: RegExp) {
  return (e: unknown) => e instanceof UsageError && message.test(e.message)
}

for (const c of runCases) {
  test(`run: ${c.name}`, async (t) => {
    const root = { dir: '' }
    const run = fakeRun(t, { env: { ...c.env } })
    root.dir = run.deps.cwd
    Object.assign(run.deps, { env: { ...run.deps.env, HOME: root.dir, XDG_CONFIG_HOME: join(root.dir, 'xdg') } })
    const written = Object.entries(c.files ?? {}).map(([name, text]) => (writeGoFile(join(root.dir, name), text), name))
    const before = written.map((name) => readFileSync(join(root.dir, name)))
    if (c.seeded) await run.seed(freshTokens('seeded'))
    const keyring = new MemoryKeyring()
    c.keyring?.(keyring)
    const items = new Map(keyring.items)
    const options = { ...{ file: undefined, keyringService: undefined, force: false }, ...c.options }
    const outcome = await runImportGo(options, run.env, reader(keyring)).then(
      () => undefined,
      (e: unknown) => e,
    )
    if (c.want.error) assert.ok(c.want.error(outcome), String(outcome))
    else assert.equal(outcome, undefined)
    assert.equal(run.out.stdout, '')
    assert.match(run.out.stderr, c.want.stderr)
    assert.doesNotMatch(run.out.stderr, /GO-[AR]T-/, 'no token on stderr')
    if (c.want.keyringCalls) assert.deepEqual(keyring.calls, c.want.keyringCalls)
    const stored = await run.stored()
    if (c.want.imported) assert.equal(stored?.accessToken, `GO-AT-${c.want.imported}-0123456789`)
    else assert.equal(stored?.accessToken, c.seeded ? 'ATseeded-0123456789' : undefined)
    written.forEach((name, i) => assert.deepEqual(readFileSync(join(root.dir, name)), before[i], `${name} unchanged`))
    assert.deepEqual(keyring.items, items, 'the keyring unchanged')
  })
}

test('run: the Go entry’s fields become the session (zero time = no expiry; scope, id token kept)', async (t) => {
  const run = fakeRun(t)
  const path = join(run.deps.cwd, 'go.json')
  writeFileSync(
    path,
    goCliDocument({ cli: goJson('f', { expires_at: '0001-01-01T00:00:00Z', scope: 'email', id_token: 'GO-ID' }) }),
  )
  await runImportGo({ file: path, keyringService: undefined, force: false }, run.env, reader(new MemoryKeyring()))
  const { obtainedAtMs: _stamped, ...stored } = (await run.stored())!
  assert.deepEqual(stored, {
    accessToken: 'GO-AT-f-0123456789',
    tokenType: 'Bearer',
    refreshToken: 'GO-RT-f-0123456789',
    scope: 'email',
    idToken: 'GO-ID',
  })
})
