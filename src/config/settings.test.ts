import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AuthgateError } from '../errors.ts'
import { parseDotenv } from './dotenv.ts'
import { normaliseServerUrl, sessionKey } from '../session-key.ts'
import {
  dotenvNotice,
  ignoredDotenv,
  isAllowedOrigin,
  requireSession,
  resolveRaw,
  resolveSettings,
  type SettingsSources,
} from './settings.ts'
import { RESOLVED, type SettingKey } from './settings-table.ts'

const base: SettingsSources = {
  flags: {},
  env: {},
  dotenv: {},
  profile: {},
  profileName: 'default',
  cwd: '/work',
  paths: { config: '/cfg/authgate', cache: '/cache/authgate' },
}
const resolve = (over: Partial<SettingsSources>) => resolveSettings({ ...base, ...over })

test('precedence: flags > AUTHGATE_* > bare names > .env > profile > defaults', () => {
  const cases = [
    { name: 'default', src: {}, want: 'http://localhost:8080' },
    { name: 'profile', src: { profile: { server_url: 'https://p.example' } }, want: 'https://p.example' },
    {
      name: '.env bare beats profile',
      src: { dotenv: { SERVER_URL: 'https://d.example' }, profile: { server_url: 'https://p.example' } },
      want: 'https://d.example',
    },
    {
      name: '.env AUTHGATE_ beats .env bare',
      src: { dotenv: { SERVER_URL: 'https://d.example', AUTHGATE_SERVER_URL: 'https://da.example' } },
      want: 'https://da.example',
    },
    {
      name: 'bare env beats .env',
      src: { env: { SERVER_URL: 'https://b.example' }, dotenv: { AUTHGATE_SERVER_URL: 'https://da.example' } },
      want: 'https://b.example',
    },
    {
      name: 'AUTHGATE_ env beats bare env',
      src: { env: { SERVER_URL: 'https://b.example', AUTHGATE_SERVER_URL: 'https://a.example' } },
      want: 'https://a.example',
    },
    {
      name: 'flag beats everything',
      src: { flags: { serverUrl: 'https://f.example' }, env: { AUTHGATE_SERVER_URL: 'https://a.example' } },
      want: 'https://f.example',
    },
    {
      name: 'empty env value is unset',
      src: { env: { AUTHGATE_SERVER_URL: '' }, profile: { server_url: 'https://p.example' } },
      want: 'https://p.example',
    },
  ]
  for (const c of cases) assert.equal(resolve(c.src as Partial<SettingsSources>).serverUrl, c.want, c.name)
})

test('bare names apply only to the Go CLI names; LOCK_DIR has no bare form', () => {
  assert.equal(resolve({ env: { CLIENT_ID: 'go-client' } }).clientId, 'go-client')
  assert.equal(resolve({ env: { LOCK_DIR: '/bare' } }).lockDir, '/cache/authgate/locks')
  assert.equal(resolve({ env: { AUTHGATE_LOCK_DIR: '/x' } }).lockDir, '/x')
})

test('defaults follow the contract', () => {
  const s = resolve({})
  assert.equal(s.scope, 'email profile')
  assert.equal(s.tokenStore, 'auto')
  assert.equal(s.tokenFile, '/cfg/authgate/tokens.json')
  assert.equal(s.callbackPort, 8888)
  assert.equal(s.redirectUri, 'http://localhost:8888/callback')
  assert.equal(s.refreshSkewSeconds, 60)
  assert.equal(s.lockTimeoutMs, 30_000)
  assert.equal(s.callbackTimeoutMs, 120_000)
  assert.equal(s.clientAuth, 'post')
  assert.equal(s.apiUrl, 'http://localhost:8080')
  assert.equal(resolve({ flags: { callbackPort: '9999' } }).redirectUri, 'http://localhost:9999/callback')
  assert.equal(resolve({ flags: { tokenFile: 'rel/t.json' } }).tokenFile, '/work/rel/t.json')
})

test('invalid configuration is a usage error (exit 2) with a clear message', () => {
  const cases = [
    { src: { flags: { serverUrl: 'not a url' } }, match: /invalid server URL/ },
    { src: { flags: { serverUrl: 'ftp://x.example' } }, match: /scheme must be http or https/ },
    { src: { flags: { serverUrl: 'http://auth.example.com' } }, match: /refusing plain http to auth\.example\.com/ },
    { src: { flags: { tokenStore: 'vault' } }, match: /unknown token store "vault"/ },
    { src: { flags: { lockTimeout: 'soon' } }, match: /invalid --lock-timeout "soon"/ },
    { src: { env: { AUTHGATE_REFRESH_SKEW: '1 minute' } }, match: /invalid --refresh-skew/ },
    { src: { flags: { callbackPort: '70000' } }, match: /invalid callback port/ },
    { src: { flags: { clientAuth: 'jwt' } }, match: /unknown client auth/ },
    { src: { flags: { allowInsecureHttp: 'maybe' } }, match: /allow-insecure-http/ },
  ]
  for (const c of cases) {
    assert.throws(
      () => resolve(c.src as Partial<SettingsSources>),
      (err: unknown) => err instanceof AuthgateError && err.exitCode === 2 && c.match.test(err.message),
    )
  }
  assert.throws(
    () => requireSession(resolve({})),
    (err: unknown) => err instanceof AuthgateError && err.exitCode === 2 && /no client id/.test(err.message),
  )
})

test('plain http: loopback allowed, others only with --allow-insecure-http', () => {
  for (const url of ['http://localhost:8080', 'http://127.0.0.1:1', 'http://127.9.8.7', 'http://[::1]:9'])
    assert.equal(resolve({ flags: { serverUrl: url } }).serverUrl, url)
  // Loopback literally: a name under .localhost, or one that merely starts like a loopback address, goes through DNS.
  for (const url of [
    'http://app.localhost',
    'http://localhost.evil.example',
    'http://127.0.0.1.nip.io',
    'http://[::2]',
  ])
    assert.throws(() => resolve({ flags: { serverUrl: url } }), /refusing plain http/, url)
  assert.equal(
    resolve({ flags: { serverUrl: 'http://auth.lan', allowInsecureHttp: 'true' } }).serverUrl,
    'http://auth.lan',
  )
})

test('durations accept units', () => {
  assert.equal(resolve({ flags: { lockTimeout: '500ms' } }).lockTimeoutMs, 500)
  assert.equal(resolve({ flags: { lockTimeout: '2m' } }).lockTimeoutMs, 120_000)
  assert.equal(resolve({ flags: { refreshSkew: '1.5' } }).refreshSkewSeconds, 1.5)
})

test('server URL normalisation and session keys', () => {
  const cases = [
    ['HTTPS://Auth.Example.COM:443/', 'https://auth.example.com'],
    ['http://LOCALHOST:80', 'http://localhost'],
    ['https://x.example:8443/tenant//', 'https://x.example:8443/tenant'],
  ]
  for (const [input, want] of cases) assert.equal(normaliseServerUrl(input!), want)
  const k = sessionKey('https://a.example', 'id/../../etc')
  assert.equal(k.account, 'id/../../etc@https://a.example')
  assert.match(k.hash, /^[0-9a-f]{64}$/)
  assert.notEqual(sessionKey('https://a.example', 'x').hash, sessionKey('https://b.example', 'x').hash)
})

test('.env parsing', () => {
  const env = parseDotenv(
    '# c\nexport AUTHGATE_CLIENT_ID=abc\nSCOPE="email profile"\nQ=\'a b\'\nBAD LINE\nX=1 # trailing\n',
  )
  assert.deepEqual(env, { AUTHGATE_CLIENT_ID: 'abc', SCOPE: 'email profile', Q: 'a b', X: '1' })
})

test('registries: flag (repeated, joined), env (comma-separated) or profile; never a working-directory .env', () => {
  const cases: Array<{ name: string; src: Partial<SettingsSources>; want: string[] }> = [
    { name: 'none by default', src: {}, want: [] },
    { name: 'flags', src: { flags: { registry: 'Reg.Example,https://ghcr.io/' } }, want: ['reg.example', 'ghcr.io'] },
    {
      name: 'env',
      src: { env: { AUTHGATE_REGISTRY: ' a.example , b.example:5000,' } },
      want: ['a.example', 'b.example:5000'],
    },
    { name: 'profile', src: { profile: { registry: ['p.example', 'q.example'] } }, want: ['p.example', 'q.example'] },
    {
      name: '.env ignored',
      src: { dotenv: { AUTHGATE_REGISTRY: 'evil.example', REGISTRY: 'evil.example' } },
      want: [],
    },
    {
      name: '.env ignored, profile used',
      src: { dotenv: { AUTHGATE_REGISTRY: 'evil.example' }, profile: { registry: 'p.example' } },
      want: ['p.example'],
    },
  ]
  for (const c of cases) assert.deepEqual(resolve(c.src).registries, c.want, c.name)
  assert.throws(
    () => resolve({ env: { AUTHGATE_REGISTRY: 'bad host' } }),
    (e: unknown) => e instanceof AuthgateError && e.exitCode === 2 && /invalid registry "bad host"/.test(e.message),
  )
})

test('.env: only the rows marked dotenv read it; every other setting there is ignored and named', () => {
  for (const spec of RESOLVED) {
    const names = [`AUTHGATE_${spec.env}`, ...(spec.bare ? [spec.env] : [])]
    for (const name of names) {
      const sample = spec.key === 'redirectUri' ? 'http://127.0.0.1:9/cb' : 'v-from-dotenv'
      const { raw, origin } = resolveRaw({ ...base, dotenv: { [name]: sample }, dotenvFile: '/repo/.env' })
      const ignored = ignoredDotenv({ dotenv: { [name]: sample }, dotenvFile: '/repo/.env' })
      if (spec.dotenv) {
        assert.deepEqual([raw[spec.key as SettingKey], origin[spec.key], ignored], [sample, '.env', undefined], name)
      } else {
        assert.notEqual(origin[spec.key], '.env', name)
        assert.deepEqual(ignored, { file: '/repo/.env', names: [name] }, name)
      }
    }
  }
})

test('.env: a redirect URI must be loopback http; the profile is never chosen there; one notice names all', () => {
  for (const uri of ['https://127.0.0.1/cb', 'http://evil.example/cb', 'http://app.localhost:1/cb', 'nonsense']) {
    const sources = { dotenv: { REDIRECT_URI: uri }, dotenvFile: '/repo/.env' }
    const s = resolve(sources)
    assert.equal(s.redirectUri, 'http://localhost:8888/callback', uri)
    assert.deepEqual(ignoredDotenv(sources)?.names, ['REDIRECT_URI'], uri)
  }
  const sources = {
    dotenv: { AUTHGATE_PROFILE: 'x', TOKEN_FILE: 'f', SERVER_URL: 'https://a.example', NODE_ENV: 'dev' },
    dotenvFile: '/repo/.env',
  }
  const s = resolve(sources)
  assert.equal(s.serverUrl, 'https://a.example')
  assert.equal(
    dotenvNotice(ignoredDotenv(sources)),
    'warning: ignoring AUTHGATE_PROFILE, TOKEN_FILE in /repo/.env: a working-directory .env may only set the server, client, scope and sign-in settings',
  )
})

test('--allow-host: HOST or HOST:PORT; a host alone allows every port', () => {
  const s = resolve({ flags: { allowHost: 'A.example,b.example:8443, [::1]:9' } })
  assert.deepEqual(s.allowedHosts, ['a.example', 'b.example:8443', '[::1]:9'])
  const allowed = (url: string) => isAllowedOrigin(new URL(url), s)
  assert.deepEqual(
    [
      'https://a.example:1/x',
      'https://b.example:8443/',
      'https://b.example/',
      'http://[::1]:9/',
      'http://localhost:8080/',
    ].map(allowed),
    [true, true, false, true, true],
  )
  for (const bad of ['a.example/x', 'user@a.example', 'a.example:x'])
    assert.throws(() => resolve({ flags: { allowHost: bad } }), /invalid --allow-host/, bad)
})
test('--grant: user by default; client-credentials needs a secret; scope sent only when the user set one; never from .env', () => {
  const secret = { AUTHGATE_CLIENT_SECRET: 's3cret' }
  const cases: Array<{ name: string; src: Partial<SettingsSources>; want: [string, string | undefined] | RegExp }> = [
    { name: 'default', src: {}, want: ['user', 'email profile'] },
    {
      name: 'machine, default scope not sent',
      src: { env: { ...secret, AUTHGATE_GRANT: 'client-credentials' } },
      want: ['client_credentials', undefined],
    },
    {
      name: 'machine, the user scope sent',
      src: { env: { ...secret, AUTHGATE_GRANT: 'client-credentials', AUTHGATE_SCOPE: ' read  write ' } },
      want: ['client_credentials', 'read write'],
    },
    { name: 'no secret', src: { flags: { grant: 'client-credentials' } }, want: /needs a client secret/ },
    { name: 'unknown', src: { flags: { grant: 'password' } }, want: /unknown grant "password"/ },
    {
      name: '.env ignored',
      src: { env: secret, dotenv: { AUTHGATE_GRANT: 'client-credentials' } },
      want: ['user', 'email profile'],
    },
  ]
  for (const c of cases) {
    if (c.want instanceof RegExp) {
      assert.throws(
        () => resolve(c.src),
        (e: AuthgateError) => e.exitCode === 2 && (c.want as RegExp).test(e.message),
        c.name,
      )
      continue
    }
    const s = resolve(c.src)
    const scope = s.grant === 'user' ? s.scope : s.machineScope
    assert.deepEqual([s.grant, scope], c.want, c.name)
  }
})
