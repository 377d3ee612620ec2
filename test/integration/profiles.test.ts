import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test, type TestContext } from 'node:test'
import { profileValues, saveProfile } from '../../src/config/profile-save.ts'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli, spawnCli, type CliHome } from '../support/cli.ts'
import { startOidcServer, type OidcTestServer } from '../support/oidc-server.ts'
import {
  obtainTokensFromAuthGate,
  obtainTokensFromOidc,
  readTokenEntry,
  sessionAccount,
  writeTokenFile,
} from '../support/tokens.ts'

/** Named profiles in `<user config dir>/authgate/config.json`, chosen by --profile or AUTHGATE_PROFILE; `status --all`. */

before(requireBuild)
after(killAllClis)

let authgate: AuthGateTestServer
let oidc: OidcTestServer
before(async () => {
  authgate = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })
  oidc = await startOidcServer({ quiet: true })
})
after(async () => {
  await authgate.close()
  await oidc.close()
})

function home(t: TestContext): CliHome {
  const h = createCliHome()
  t.after(h.remove)
  return h
}

/** Two profiles, one per server, both signed in, in the default token file of the home. */
async function twoProfiles(h: CliHome): Promise<{ work: string; lab: string }> {
  const tokenFile = join(h.configDir, 'tokens.json')
  saveProfile(
    h.configDir,
    'work',
    profileValues({ serverUrl: authgate.url, clientId: authgate.publicClientId, tokenStore: 'file' }, h.dir),
  )
  saveProfile(
    h.configDir,
    'lab',
    profileValues({ serverUrl: oidc.url, clientId: 'cli', scope: 'openid email profile', tokenStore: 'file' }, h.dir),
  )
  const work = await obtainTokensFromAuthGate(authgate)
  const lab = await obtainTokensFromOidc(oidc)
  const base = JSON.parse(
    writeTokenFile(tokenFile, sessionAccount(authgate.url, authgate.publicClientId), work),
  ) as Record<string, unknown>
  writeTokenFile(tokenFile, sessionAccount(oidc.url, 'cli'), lab, { base })
  return { work: work.access_token, lab: lab.access_token }
}

test('--profile and AUTHGATE_PROFILE select the saved server and client; a flag still beats the profile', async (t) => {
  const h = home(t)
  const tokens = await twoProfiles(h)
  assert.equal((await runCli(['--profile', 'work', 'token'], { home: h })).stdout, `${tokens.work}\n`)
  assert.equal((await runCli(['token'], { home: h, env: { AUTHGATE_PROFILE: 'lab' } })).stdout, `${tokens.lab}\n`)
  assert.equal(
    (
      await runCli(
        ['token', '--profile', 'lab', '--server-url', authgate.url, '--client-id', authgate.publicClientId],
        { home: h },
      )
    ).stdout,
    `${tokens.work}\n`,
  )
  const none = await runCli(['token'], { home: h })
  assert.equal(none.code, 2, 'the default profile does not exist: no client id')
  assert.match(none.stderr, /no client id configured/)
})

test('status --all lists every stored session with its backend and expiry, and --json says the same', async (t) => {
  const h = home(t)
  await twoProfiles(h)
  const text = await runCli(['status', '--all', '--profile', 'lab'], { home: h })
  assert.equal(text.code, 0, text.stderr)
  assert.match(
    text.stdout,
    new RegExp(`^2 stored sessions \\(file store ${join(h.configDir, 'tokens.json')}\\):$`, 'm'),
  )
  assert.match(
    text.stdout,
    new RegExp(
      `^ {2}${authgate.url} {2}client ${authgate.publicClientId} {2}\\(file\\)\\n {4}expires: \\S+Z \\(in 9h 59m\\); refresh token: yes; scopes: email profile$`,
      'm',
    ),
  )
  assert.match(
    text.stdout,
    new RegExp(
      `^\\* ${oidc.url} {2}client cli {2}\\(file\\)\\n {4}expires: \\S+Z \\(in (59m|1h 0m)\\); refresh token: yes`,
      'm',
    ),
  )
  const json = await runCli(['status', '--all', '--json'], { home: h })
  const report = JSON.parse(json.stdout) as { store: string; sessions: Array<Record<string, unknown>> }
  assert.equal(report.store, 'file')
  assert.deepEqual(
    report.sessions
      .map((s) => [s.server_url, s.client_id, s.store, s.has_refresh_token, typeof s.expires_at, s.current])
      .sort(),
    [
      [authgate.url, authgate.publicClientId, 'file', true, 'string', false],
      [oidc.url, 'cli', 'file', true, 'string', false],
    ].sort(),
  )
  assert.doesNotMatch(text.stdout + json.stdout, /eyJ[\w-]{10,}\./)
})

test('status --all with no stored session: says so, exit 4', async (t) => {
  const h = home(t)
  const out = await runCli(['status', '--all', ...h.flags], { home: h })
  assert.equal(out.code, 4)
  assert.equal(out.stdout, `No stored sessions (file store ${h.tokenFile}).\n`)
})

test('login --profile work --server-url … --client-id … saves the profile', async (t) => {
  const h = home(t)
  const login = spawnCli(
    [
      'login',
      '--device',
      '--profile',
      'work',
      '--server-url',
      authgate.url,
      '--client-id',
      authgate.publicClientId,
      '--token-store',
      'file',
    ],
    { home: h },
  )
  const code = await login.waitForStderr(/check that it shows the code (\S+)/)
  authgate.approveDevice(code[1]!)
  const done = await login.exited
  assert.equal(done.code, 0, done.stderr)
  const config = join(h.configDir, 'config.json')
  assert.ok(existsSync(config), 'config.json written')
  assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')), {
    profiles: { work: { server_url: authgate.url, client_id: authgate.publicClientId, token_store: 'file' } },
  })
  const token = await runCli(['token', '--profile', 'work'], { home: h })
  assert.equal(token.code, 0, token.stderr)
  assert.equal(
    readTokenEntry(join(h.configDir, 'tokens.json'), sessionAccount(authgate.url, authgate.publicClientId))
      ?.access_token,
    token.stdout.trim(),
  )
})

test('--json: status, token and status --all print exactly the documented fields (docs/usage.md "--json output")', async (t) => {
  const h = home(t)
  await twoProfiles(h)
  const keys = async (args: string[]) => {
    const out = await runCli(args, { home: h })
    assert.equal(out.code, 0, out.stderr)
    return JSON.parse(out.stdout) as Record<string, unknown>
  }
  const status = await keys(['--profile', 'work', 'status', '--json'])
  assert.deepEqual(Object.keys(status), [
    'signed_in',
    'server_url',
    'issuer',
    'client_id',
    'grant',
    'store',
    'store_path',
    'subject',
    'username',
    'scope',
    'expires_at',
    'expires_in',
    'has_refresh_token',
    'verified',
  ])
  assert.match(String(status.expires_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  const token = await keys(['--profile', 'work', 'token', '--json'])
  assert.deepEqual(Object.keys(token), ['access_token', 'token_type', 'expires_at', 'scope'])
  assert.equal(token.token_type, 'Bearer')
  const all = await keys(['status', '--all', '--json'])
  assert.deepEqual(Object.keys(all), ['store', 'store_path', 'sessions'])
  for (const s of all.sessions as Array<Record<string, unknown>>) {
    assert.deepEqual(Object.keys(s), [
      'server_url',
      'client_id',
      'store',
      'current',
      'issuer',
      'scope',
      'expires_at',
      'expires_in',
      'has_refresh_token',
    ])
  }
})
