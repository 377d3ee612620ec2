import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { sessionKey } from '../session-key.ts'
import { AuthRequiredError, UsageError } from '../errors.ts'
import { memoryLock } from '../lock/memory-lock.ts'
import { FileStore } from '../stores/file-store.ts'
import type { TokenSet } from '../stores/types.ts'
import { createClient } from './client.ts'
import type { ClientOptions } from './options.ts'

const SERVER = 'https://as.test'

// ---- the boundary: wrong types are TypeErrors, thrown by createClient itself ----

test('createClient: options are checked at the boundary (TypeError), settings with UsageError', () => {
  const dirs = { configDir: '/nonexistent/config', cacheDir: '/nonexistent/cache' }
  const cases: Array<{ options: unknown; want: RegExp; type?: 'usage' }> = [
    { options: undefined, want: /options must be an object/ },
    { options: 'https://as.test', want: /options must be an object/ },
    { options: { serverUrl: SERVER }, want: /"clientId" is required/ },
    { options: { clientId: '' }, want: /"clientId" is required/ },
    { options: { clientId: 'cli', serverURL: SERVER }, want: /unknown option "serverURL"/ },
    { options: { clientId: 42 }, want: /"clientId" must be a string/ },
    { options: { clientId: 'cli', lockTimeoutMs: -1 }, want: /"lockTimeoutMs" must be a finite number >= 0/ },
    {
      options: { clientId: 'cli', refreshSkewSeconds: Number.NaN },
      want: /"refreshSkewSeconds" must be a finite number/,
    },
    { options: { clientId: 'cli', fetch: 'node-fetch' }, want: /"fetch" must be a function/ },
    { options: { clientId: 'cli', signal: {} }, want: /"signal" must be an AbortSignal/ },
    { options: { clientId: 'cli', env: 'AUTHGATE_CLIENT_ID=x' }, want: /"env" must be an object/ },
    { options: { clientId: 'cli', allowInsecureHttp: 'yes' }, want: /"allowInsecureHttp" must be a boolean/ },
    { options: { clientId: 'cli', serverUrl: 'not a url', ...dirs }, want: /invalid server URL/, type: 'usage' },
    {
      options: { clientId: 'cli', serverUrl: 'http://auth.example', ...dirs },
      want: /refusing plain http/,
      type: 'usage',
    },
    { options: { env: {}, ...dirs, cwd: '/nonexistent' }, want: /no client id configured/, type: 'usage' },
  ]
  for (const c of cases) {
    const kind = c.type === 'usage' ? UsageError : TypeError
    assert.throws(
      () => createClient(c.options as ClientOptions),
      (e: unknown) => e instanceof kind && c.want.test(e.message),
      JSON.stringify(c.options),
    )
  }
})

test('createClient: reads no environment unless given env', (t) => {
  const base = { serverUrl: SERVER, clientId: 'cli', configDir: '/nonexistent/config', cacheDir: '/nonexistent/cache' }
  process.env.AUTHGATE_API_URL = 'https://from-process-env.example'
  t.after(() => delete process.env.AUTHGATE_API_URL)
  // With env: the variables apply below the options; without: never.
  assert.doesNotThrow(() => createClient(base))
  assert.throws(
    () => createClient({ ...base, env: { AUTHGATE_TOKEN_STORE: 'vault' }, cwd: '/nonexistent' }),
    /unknown token store "vault"/,
  )
  assert.doesNotThrow(() =>
    createClient({ ...base, env: { AUTHGATE_TOKEN_STORE: 'vault' }, tokenStore: 'file', cwd: '/nonexistent' }),
  )
})

// ---- behaviour with a fake server, the real file store and lock in a temp dir ----

interface Fake {
  options: ClientOptions
  seen: Array<{ url: string; auth: string | null; body: string }>
  refreshes: () => number
  seed(tokens: TokenSet): Promise<void>
  stored(): Promise<TokenSet | undefined>
}

function fake(t: TestContext, api: (req: Request, body: string) => Response = () => Response.json({ ok: true })): Fake {
  const root = mkdtempSync(join(tmpdir(), 'authgate-lib-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const seen: Fake['seen'] = []
  let issued = 1
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init)
    const body = await req.clone().text()
    seen.push({ url: req.url, auth: req.headers.get('authorization'), body })
    const { pathname } = new URL(req.url)
    if (pathname.startsWith('/.well-known/')) return new Response('404 page not found', { status: 404 })
    if (pathname === '/oauth/revoke') return new Response(null, { status: 200 })
    if (pathname === '/oauth/token') {
      issued++
      return Response.json({
        access_token: `AT${issued}`,
        token_type: 'Bearer',
        refresh_token: `RT${issued}`,
        expires_in: 3600,
        scope: 'email profile',
      })
    }
    return api(req, body)
  }) as typeof globalThis.fetch
  const options: ClientOptions = {
    serverUrl: SERVER,
    clientId: 'cli',
    tokenStore: 'file',
    configDir: join(root, 'config'),
    cacheDir: join(root, 'cache'),
    fetch,
  }
  const store = new FileStore(join(root, 'config', 'tokens.json'), {
    lockFile: memoryLock(),
    lockTimeoutMs: 1000,
    now: () => Date.now(),
  })
  const key = sessionKey(SERVER, 'cli')
  return {
    options,
    seen,
    refreshes: () => seen.filter((s) => s.url.endsWith('/oauth/token')).length,
    seed: (tokens) => store.write(key, tokens),
    stored: () => store.read(key),
  }
}

const tokens = (n: number, expiresInMs: number): TokenSet => ({
  accessToken: `AT${n}`,
  tokenType: 'Bearer',
  refreshToken: `RT${n}`,
  expiresAtMs: Date.now() + expiresInMs,
  obtainedAtMs: Date.now() - 7_200_000,
  scope: 'email profile',
})

test('getAccessToken: a fresh token with no request; an expired one refreshed once for 50 concurrent callers', async (t) => {
  const f = fake(t)
  await f.seed(tokens(1, 3_600_000))
  const client = createClient(f.options)
  assert.equal(await client.getAccessToken(), 'AT1')
  assert.equal(f.seen.length, 0)
  await f.seed(tokens(1, -1000))
  const got = await Promise.all(Array.from({ length: 50 }, () => client.getAccessToken()))
  assert.deepEqual(new Set(got), new Set(['AT2']))
  assert.equal(f.refreshes(), 1)
  assert.equal((await f.stored())?.refreshToken, 'RT2')
})

test('getAccessToken: not signed in is an AuthRequiredError with code and exit code', async (t) => {
  const client = createClient(fake(t).options)
  await assert.rejects(
    client.getAccessToken(),
    (e: unknown) => e instanceof AuthRequiredError && e.code === 'AUTHGATE_AUTH_REQUIRED' && e.exitCode === 4,
  )
})

test('fetch: bearer token, relative URLs under apiUrl, 401 → one refresh and one retry with the same body', async (t) => {
  const f = fake(t, (req, body) =>
    req.headers.get('authorization') === 'Bearer AT2'
      ? Response.json({ body, type: req.headers.get('content-type') })
      : new Response('no', { status: 401 }),
  )
  await f.seed(tokens(1, 3_600_000))
  const client = createClient({ ...f.options, apiUrl: `${SERVER}/api` })
  const res = await client.fetch('items?x=1', {
    method: 'POST',
    body: JSON.stringify({ n: 1 }),
    headers: { 'content-type': 'application/json' },
  })
  assert.equal(res.status, 200)
  assert.deepEqual(await res.json(), { body: '{"n":1}', type: 'application/json' })
  assert.deepEqual(
    f.seen.filter((s) => s.url.includes('/api/')).map((s) => [s.url, s.auth, s.body]),
    [
      [`${SERVER}/api/items?x=1`, 'Bearer AT1', '{"n":1}'],
      [`${SERVER}/api/items?x=1`, 'Bearer AT2', '{"n":1}'],
    ],
  )
  assert.equal(f.refreshes(), 1)
})

test('fetch: a Request object and a full URL; a 403 is returned as it is, without a refresh', async (t) => {
  const f = fake(t, () => new Response('forbidden', { status: 403 }))
  await f.seed(tokens(1, 3_600_000))
  await assert.rejects(
    createClient(f.options).fetch('https://other.example/x'),
    (e: unknown) => e instanceof UsageError && /https:\/\/other\.example.*--allow-host/.test(e.message),
  )
  assert.equal(f.seen.length, 0, 'refused before any request: no token, no refresh')
  const client = createClient({ ...f.options, allowedHosts: ['other.example'] })
  const res = await client.fetch(new Request('https://other.example/x', { headers: { 'x-a': '1' } }))
  assert.equal(res.status, 403)
  assert.deepEqual(
    f.seen.map((s) => [s.url, s.auth]),
    [['https://other.example/x', 'Bearer AT1']],
  )
  assert.equal(f.refreshes(), 0)
  await assert.rejects(client.fetch('http://plain.example/x'), (e: unknown) => e instanceof UsageError)
})

test('logout: revokes refresh then access token, deletes, reports; status offline before and after', async (t) => {
  const f = fake(t)
  await f.seed(tokens(1, 3_600_000))
  const client = createClient(f.options)
  const before = await client.status({ offline: true })
  assert.deepEqual(
    { ...before, storePath: typeof before.storePath, expiresAt: before.expiresAt instanceof Date },
    {
      signedIn: true,
      serverUrl: SERVER,
      issuer: undefined,
      clientId: 'cli',
      grant: 'user',
      store: 'file',
      storePath: 'string',
      subject: undefined,
      username: undefined,
      scope: 'email profile',
      expiresAt: true,
      hasRefreshToken: true,
      verified: undefined,
    },
  )
  const report = await client.logout()
  assert.deepEqual(report, {
    signedIn: true,
    revocations: [
      { hint: 'refresh_token', revoked: true },
      { hint: 'access_token', revoked: true },
    ],
  })
  assert.deepEqual(
    f.seen.filter((s) => s.url.endsWith('/oauth/revoke')).map((s) => new URLSearchParams(s.body).get('token')),
    ['RT1', 'AT1'],
  )
  assert.equal((await client.status({ offline: true })).signedIn, false)
  assert.deepEqual(await client.logout({ revoke: false }), { signedIn: false, revocations: [] })
})

test('login: the device prompt goes to onPrompt, never to the terminal; the tokens are saved', async (t) => {
  const f = fake(t)
  const device = {
    device_code: 'dc',
    user_code: 'ABCD-EFGH',
    verification_uri: `${SERVER}/device`,
    verification_uri_complete: `${SERVER}/device?user_code=ABCD-EFGH`,
    expires_in: 600,
    interval: 1,
  }
  const fetch = f.options.fetch!
  const options: ClientOptions = {
    ...f.options,
    fetch: async (input, init) =>
      String(input instanceof Request ? input.url : input).endsWith('/oauth/device/code')
        ? Response.json(device)
        : fetch(input, init),
  }
  const prompts: unknown[] = []
  const writes: string[] = []
  const write = process.stderr.write
  process.stderr.write = ((chunk: string) => writes.push(String(chunk)) > 0) as typeof process.stderr.write
  t.after(() => void (process.stderr.write = write))
  const status = await createClient(options).login({ flow: 'device', onPrompt: (p) => void prompts.push(p) })
  process.stderr.write = write
  assert.deepEqual(prompts, [
    {
      kind: 'device',
      verificationUri: `${SERVER}/device`,
      verificationUriComplete: `${SERVER}/device?user_code=ABCD-EFGH`,
      userCode: 'ABCD-EFGH',
      expiresInSeconds: 600,
    },
  ])
  assert.equal(status.signedIn, true)
  assert.equal((await f.stored())?.accessToken, 'AT2')
  assert.deepEqual(writes, [])
  await assert.rejects(createClient(options).login({ flow: 'sideways' as 'device' }), TypeError)
})
