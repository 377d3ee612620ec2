import assert from 'node:assert/strict'
import { after, before, describe, test, type TestContext } from 'node:test'
// The package's own entry, as an application imports it (package.json "exports": dist/index.js, built by `npm test`).
import { AuthRequiredError, createClient, type ClientOptions } from 'authgate-cli'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli, type CliHome } from '../support/cli.ts'
import { startOidcServer, type OidcTestServer } from '../support/oidc-server.ts'
import { startAuthGateWithApi, type ResourceServer } from '../support/resource-server.ts'
import {
  obtainTokensFromAuthGate,
  obtainTokensFromOidc,
  sessionAccount,
  writeTokenFile,
  type IssuedTokens,
} from '../support/tokens.ts'

/** The library against real servers, with the real file store and kernel lock, sharing its sessions with the CLI. */

before(requireBuild)
after(killAllClis)

function home(t: TestContext): CliHome {
  const h = createCliHome()
  t.after(h.remove)
  return h
}

/** Client options that put every file in the test's home, and the same session the CLI flags select there. */
function optionsFor(
  h: CliHome,
  serverUrl: string,
  clientId: string,
  extra: Partial<ClientOptions> = {},
): ClientOptions {
  return {
    serverUrl,
    clientId,
    tokenStore: 'file',
    tokenFile: h.tokenFile,
    lockDir: h.lockDir,
    configDir: h.configDir,
    cacheDir: h.cacheDir,
    ...extra,
  }
}

function seed(h: CliHome, serverUrl: string, clientId: string, tokens: IssuedTokens, expired: boolean): void {
  writeTokenFile(h.tokenFile, sessionAccount(serverUrl, clientId), tokens, { expired })
}

describe('AuthGate (rotation mode)', () => {
  let server: AuthGateTestServer
  let rs: ResourceServer
  let close: () => Promise<void>
  before(async () => void ({ server, rs, close } = await startAuthGateWithApi()))
  after(() => close())

  test('50 concurrent getAccessToken() on an expired token: one refresh grant, one token, and the CLI sees it', async (t) => {
    const h = home(t)
    const issued = await obtainTokensFromAuthGate(server)
    seed(h, server.url, server.publicClientId, issued, true)
    const client = createClient(optionsFor(h, server.url, server.publicClientId))
    const before = { ...server.stats }
    const tokens = await Promise.all(Array.from({ length: 50 }, () => client.getAccessToken()))
    assert.equal(server.stats.refreshGrants - before.refreshGrants, 1)
    assert.equal(server.stats.invalidGrants - before.invalidGrants, 0)
    assert.equal(server.stats.familyRevocations - before.familyRevocations, 0)
    assert.equal(new Set(tokens).size, 1)
    assert.notEqual(tokens[0], issued.access_token)
    assert.ok(server.isTokenActive(tokens[0]!))
    const cli = await runCli(['token', ...h.flags], {
      home: h,
      env: { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: server.publicClientId },
    })
    assert.equal(cli.stdout, `${tokens[0]}\n`)
  })

  test('client.fetch: the bearer token; a 401 → one refresh and one retry', async (t) => {
    const h = home(t)
    seed(h, server.url, server.publicClientId, await obtainTokensFromAuthGate(server), false)
    const client = createClient(optionsFor(h, server.url, server.publicClientId, { apiUrl: `${rs.url}/v1` }))
    const first = await client.fetch('/me')
    assert.deepEqual(await first.json(), { ok: true, method: 'GET', path: '/v1/me', body: '' })
    server.expireAccessTokens()
    const grants = server.stats.refreshGrants
    const second = await client.fetch(`${rs.url}/orders`, { method: 'POST', body: '{"qty":2}' })
    assert.equal(second.status, 200)
    assert.deepEqual(await second.json(), { ok: true, method: 'POST', path: '/orders', body: '{"qty":2}' })
    assert.equal(server.stats.refreshGrants - grants, 1)
    assert.deepEqual(
      rs.requests.slice(-2).map((r) => r.status),
      [401, 200],
    )
  })

  test('logout revokes at the server; then getAccessToken throws AuthRequiredError (code, exit 4)', async (t) => {
    const h = home(t)
    const issued = await obtainTokensFromAuthGate(server)
    seed(h, server.url, server.publicClientId, issued, false)
    const client = createClient(optionsFor(h, server.url, server.publicClientId))
    const report = await client.logout()
    assert.deepEqual(report, {
      signedIn: true,
      revocations: [
        { hint: 'refresh_token', revoked: true },
        { hint: 'access_token', revoked: true },
      ],
    })
    assert.equal(server.isTokenActive(issued.refresh_token!), false)
    assert.equal(server.isTokenActive(issued.access_token), false)
    await assert.rejects(
      client.getAccessToken(),
      (e: unknown) => e instanceof AuthRequiredError && e.code === 'AUTHGATE_AUTH_REQUIRED' && e.exitCode === 4,
    )
  })

  test('login (device flow): the prompt goes to onPrompt; status() then says who is signed in', async (t) => {
    const h = home(t)
    const client = createClient(optionsFor(h, server.url, server.publicClientId))
    const prompts: string[] = []
    const status = await client.login({
      flow: 'device',
      onPrompt: (p) => {
        assert.equal(p.kind, 'device')
        if (p.kind !== 'device') return
        prompts.push(p.userCode)
        server.approveDevice(p.userCode)
      },
    })
    assert.equal(prompts.length, 1)
    assert.deepEqual(
      { signedIn: status.signedIn, username: status.username, verified: status.verified, store: status.store },
      { signedIn: true, username: 'admin', verified: true, store: 'file' },
    )
    assert.ok(server.isTokenActive(await client.getAccessToken()))
    const offline = await client.status({ offline: true })
    assert.equal(offline.verified, undefined)
    assert.ok(offline.expiresAt instanceof Date && offline.expiresAt.getTime() > Date.now())
  })
})

describe('oidc-provider', () => {
  let server: OidcTestServer
  before(async () => {
    server = await startOidcServer({ quiet: true })
  })
  after(() => server.close())

  test('50 concurrent getAccessToken() on an expired token: one refresh grant; status() asks the server', async (t) => {
    const h = home(t)
    seed(h, server.url, 'cli', await obtainTokensFromOidc(server), true)
    const client = createClient(optionsFor(h, server.url, 'cli'))
    const before = server.stats.refreshGrants
    const tokens = await Promise.all(Array.from({ length: 50 }, () => client.getAccessToken()))
    assert.equal(server.stats.refreshGrants - before, 1)
    assert.equal(new Set(tokens).size, 1)
    assert.equal((await server.introspect(tokens[0]!)).active, true)
    const status = await client.status()
    assert.deepEqual(
      { signedIn: status.signedIn, username: status.username, verified: status.verified, issuer: status.issuer },
      { signedIn: true, username: 'alice', verified: true, issuer: server.url },
    )
  })
})

test('a machine session (grant client-credentials): concurrent getAccessToken and the CLI share one grant', async (t) => {
  const secret = 'ago_library-machine-secret'
  const server = await startAuthGateServer({
    clients: [{ clientId: 'ci-lib', clientSecret: secret, type: 'confidential', redirectUris: [], scopes: 'read' }],
  })
  t.after(() => server.close())
  const h = home(t)
  const client = createClient(
    optionsFor(h, server.url, 'ci-lib', { clientSecret: secret, grant: 'client-credentials' }),
  )
  const tokens = await Promise.all([client.getAccessToken(), client.getAccessToken(), client.getAccessToken()])
  assert.equal(new Set(tokens).size, 1)
  const env = { AUTHGATE_CLIENT_SECRET: secret, AUTHGATE_GRANT: 'client-credentials' }
  const cli = await runCli(['token', '--server-url', server.url, '--client-id', 'ci-lib', ...h.flags], { home: h, env })
  assert.equal(cli.stdout.trim(), tokens[0], cli.stderr)
  assert.equal(server.stats.grantsByType.client_credentials, 1)
  assert.equal((await client.status({ offline: true })).grant, 'client_credentials')
  assert.throws(
    () => createClient(optionsFor(h, server.url, 'ci-lib', { grant: 'client-credentials' })),
    /client secret/,
  )
})
