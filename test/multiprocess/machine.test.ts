import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test, type TestContext } from 'node:test'
import { sessionKey } from '../../src/session-key.ts'
import { sessionLockPath } from '../../src/session-key.ts'
import { startAuthGateServer } from '../support/authgate-server/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli, spawnCli, type CliHome } from '../support/cli.ts'
import { startOidcServer } from '../support/oidc-server.ts'
import { assertOneTokenForAll, stormBehindLock } from '../support/storm.ts'
import { readTokenEntry, sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * Machine sessions (issue 12 item 3): `--grant client-credentials` against both test servers, with real CLIs and the
 * real kernel lock. Every storm starts all its processes behind the session lock before any can finish (see
 * stormBehindLock), so "one grant" means one grant for processes that really ran together. Sized for 2 cores; no
 * wall-clock assertions.
 */

const N = 50
const WAVE = 10
const SECRET = 'ago_machine-session-test-secret'

before(requireBuild)
after(killAllClis)

function home(t: TestContext): CliHome {
  const h = createCliHome('authgate-machine-')
  t.after(() => h.remove())
  return h
}

interface Machine {
  url: string
  clientId: string
  secret: string
  grants(): number
  isActive(token: string): Promise<boolean>
}

/** AuthGate with its default limits: 20 /oauth/token requests a minute per IP, all grants together (§5). */
async function authgate(t: TestContext): Promise<Machine & { tokenRequests(): number }> {
  const server = await startAuthGateServer({
    clients: [
      { clientId: 'ci-bot', clientSecret: SECRET, type: 'confidential', redirectUris: [], scopes: 'read write' },
    ],
  })
  t.after(() => server.close())
  return {
    url: server.url,
    clientId: 'ci-bot',
    secret: SECRET,
    grants: () => server.stats.grantsByType.client_credentials ?? 0,
    tokenRequests: () => server.stats.tokenRequests,
    isActive: async (token) => server.isTokenActive(token),
  }
}

async function oidcProvider(t: TestContext): Promise<Machine> {
  const server = await startOidcServer({ quiet: true })
  t.after(() => server.close())
  return {
    url: server.url,
    clientId: 'cli-confidential',
    secret: 'cli-confidential-secret',
    grants: () => server.stats.clientCredentialsGrants,
    isActive: async (token) => (await server.introspect(token)).active,
  }
}

/** The secret travels in the environment, as a CI system passes it; never on argv. */
function machineEnv(m: Machine, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AUTHGATE_SERVER_URL: m.url,
    AUTHGATE_CLIENT_ID: m.clientId,
    AUTHGATE_CLIENT_SECRET: m.secret,
    AUTHGATE_GRANT: 'client-credentials',
    ...extra,
  }
}

/** N `authgate token` started behind the session lock; all exit 0, quietly, printing one and the same token. */
async function storm(m: Machine, h: CliHome, count: number): Promise<string> {
  const lock = sessionLockPath(h.lockDir, sessionKey(m.url, m.clientId))
  const args = ['token', ...h.flags, '--lock-timeout', '120']
  const results = await stormBehindLock(count, WAVE, lock, () => spawnCli(args, { home: h, env: machineEnv(m) }))
  return assertOneTokenForAll(results)
}

/** Puts the stored token an hour in the past, as if the CI machine had slept through its lifetime. */
function expireStoredToken(h: CliHome, key: string): void {
  const entry = readTokenEntry(h.tokenFile, key)!
  writeTokenFile(h.tokenFile, key, { access_token: entry.access_token!, token_type: 'Bearer' }, { expired: true })
}

describe('machine sessions: --grant client-credentials across processes', { timeout: 600_000 }, () => {
  test(`AuthGate, rate limit on: ${N} token → 1 client-credentials grant and no 429; expiry → 1 new grant`, async (t) => {
    const m = await authgate(t)
    const h = home(t)
    const key = sessionAccount(m.url, m.clientId)

    const token = await storm(m, h, N)
    assert.deepEqual([m.grants(), m.tokenRequests()], [1, 1], 'client-credentials grants, /oauth/token requests')
    assert.ok(await m.isActive(token), 'the printed token is not active at the server')
    const entry = readTokenEntry(h.tokenFile, key)!
    assert.equal(entry.access_token, token, 'the printed token is the stored one')
    assert.equal(entry.refresh_token, undefined, 'a machine session has no refresh token')

    expireStoredToken(h, key)
    const renewed = await storm(m, h, 20)
    assert.notEqual(renewed, token, 'the expired token was printed')
    assert.deepEqual([m.grants(), m.tokenRequests()], [2, 2], 'one new grant for the expired token')
    assert.ok(await m.isActive(renewed))
  })

  test(`oidc-provider: ${N} token → 1 client-credentials grant; expiry → 1 new grant`, async (t) => {
    const m = await oidcProvider(t)
    const h = home(t)
    const token = await storm(m, h, N)
    assert.equal(m.grants(), 1)
    assert.ok(await m.isActive(token), 'the printed token is not active at the server')
    expireStoredToken(h, sessionAccount(m.url, m.clientId))
    const renewed = await storm(m, h, 20)
    assert.notEqual(renewed, token)
    assert.equal(m.grants(), 2)
  })

  test('status says grant: client_credentials; logout revokes and deletes; login is not needed', async (t) => {
    const m = await authgate(t)
    const h = home(t)
    const env = machineEnv(m)
    const login = await runCli(['login', ...h.flags], { home: h, env })
    assert.equal(login.code, 0, login.stderr)
    assert.match(login.stderr, /^No sign-in is needed with --grant client-credentials/m)
    assert.equal(m.grants(), 1, 'login checked the credentials with one grant')
    const token = (await runCli(['token', ...h.flags], { home: h, env })).stdout.trim()
    assert.equal(m.grants(), 1, 'token used the cached one')

    const status = await runCli(['status', '--json', ...h.flags], { home: h, env })
    assert.equal(status.code, 0, status.stderr)
    const report = JSON.parse(status.stdout) as Record<string, unknown>
    assert.deepEqual(
      [report.grant, report.signed_in, report.has_refresh_token, report.verified, report.subject],
      ['client_credentials', true, false, true, 'client:ci-bot'],
    )
    const text = await runCli(['status', '--offline', ...h.flags], { home: h, env })
    assert.match(text.stdout, /^ {2}grant: {4}client_credentials/m)

    const logout = await runCli(['logout', ...h.flags], { home: h, env })
    assert.equal(logout.code, 0, logout.stderr)
    assert.match(logout.stderr, /revoked the access token at the server/)
    assert.equal(await m.isActive(token), false, 'the access token is still active after logout')
    assert.equal(readTokenEntry(h.tokenFile, sessionAccount(m.url, m.clientId)), undefined)
  })

  test('without a client secret: exit 2 before any request; a .env cannot turn a session into a machine one', async (t) => {
    const m = await authgate(t)
    const h = home(t)
    const noSecret = await runCli(['token', ...h.flags], {
      home: h,
      env: machineEnv(m, { AUTHGATE_CLIENT_SECRET: '' }),
    })
    assert.equal(noSecret.code, 2, noSecret.stderr)
    assert.match(noSecret.stderr, /--grant client-credentials needs a client secret/)
    assert.equal(noSecret.stdout, '')

    writeFileSync(join(h.dir, '.env'), 'AUTHGATE_GRANT=client-credentials\n')
    const env = { ...machineEnv(m), AUTHGATE_GRANT: undefined }
    const fromDotenv = await runCli(['token', ...h.flags], { home: h, env })
    assert.equal(fromDotenv.code, 4, `a .env made this a machine session: ${fromDotenv.stderr}`)
    assert.equal(m.grants(), 0)
    assert.equal(m.tokenRequests(), 0)
  })
})
