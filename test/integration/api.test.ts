import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { AuthGateTestServer } from '../support/authgate-server/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli, type CliHome } from '../support/cli.ts'
import { startOidcServer, type OidcTestServer } from '../support/oidc-server.ts'
import { startAuthGateWithApi, startResourceServer, type ResourceServer } from '../support/resource-server.ts'
import {
  obtainTokensFromAuthGate,
  obtainTokensFromOidc,
  readTokenEntry,
  sessionAccount,
  writeTokenFile,
  type IssuedTokens,
} from '../support/tokens.ts'

/**
 * `authgate api` as a process against a resource server that asks the authorization server about every token. The
 * 401 path is real: the authorization server stops accepting the stored access token while the CLI still thinks it
 * valid, so only the resource server's 401 can tell the CLI to refresh.
 */

before(requireBuild)
after(killAllClis)

interface Signed {
  home: CliHome
  env: Record<string, string>
  account: string
}

function signIn(
  serverUrl: string,
  clientId: string,
  tokens: IssuedTokens,
  apiUrl: string,
  extra: Record<string, string> = {},
): Signed {
  const home = createCliHome()
  const account = sessionAccount(serverUrl, clientId)
  writeTokenFile(home.tokenFile, account, tokens)
  return {
    home,
    account,
    env: { AUTHGATE_SERVER_URL: serverUrl, AUTHGATE_CLIENT_ID: clientId, AUTHGATE_API_URL: apiUrl, ...extra },
  }
}

const api = (s: Signed, args: string[], input?: string) =>
  runCli(['api', ...args, ...s.home.flags], { home: s.home, env: s.env, input })

describe('AuthGate (rotation mode) behind a resource server that uses tokeninfo', () => {
  let server: AuthGateTestServer
  let rs: ResourceServer
  let close: () => Promise<void>
  before(async () => void ({ server, rs, close } = await startAuthGateWithApi()))
  after(() => close())

  test('a path under AUTHGATE_API_URL: the body on stdout; -i adds the status line and headers', async (t) => {
    const s = signIn(server.url, server.publicClientId, await obtainTokensFromAuthGate(server), `${rs.url}/v1`)
    t.after(s.home.remove)
    const plain = await api(s, ['/whoami'])
    assert.equal(plain.code, 0, plain.stderr)
    assert.deepEqual(JSON.parse(plain.stdout), { ok: true, method: 'GET', path: '/v1/whoami', body: '' })
    const headed = await api(s, ['whoami', '-i'])
    assert.match(headed.stdout, /^HTTP\/1\.1 200 OK\n(?:[\w-]+: .*\n)*\n\{"ok":true/)
    assert.match(headed.stdout, /^Content-Type: application\/json$/m)
  })

  test('401: refreshes once under the lock, retries once with the new token, saves it', async (t) => {
    const issued = await obtainTokensFromAuthGate(server)
    const s = signIn(server.url, server.publicClientId, issued, rs.url)
    t.after(s.home.remove)
    server.expireAccessTokens() // the server's DB says expired; the JWT and the token file still say valid
    const grantsBefore = server.stats.refreshGrants
    const seenBefore = rs.requests.length
    const out = await api(s, ['/items', '-X', 'POST', '-d', '@-'], '{"name":"widget"}')
    assert.equal(out.code, 0, out.stderr)
    assert.deepEqual(JSON.parse(out.stdout), { ok: true, method: 'POST', path: '/items', body: '{"name":"widget"}' })
    assert.equal(server.stats.refreshGrants - grantsBefore, 1)
    const seen = rs.requests.slice(seenBefore)
    assert.deepEqual(
      seen.map((r) => [r.status, r.body]),
      [
        [401, '{"name":"widget"}'],
        [200, '{"name":"widget"}'],
      ],
    )
    assert.equal(seen[0]!.token, issued.access_token)
    const saved = readTokenEntry(s.home.tokenFile, s.account)!
    assert.equal(saved.access_token, seen[1]!.token)
    assert.notEqual(saved.refresh_token, issued.refresh_token, 'rotation: the new refresh token is saved')
  })

  test('a non-2xx answer: its body on stdout, the status on stderr, exit 1', async (t) => {
    const s = signIn(server.url, server.publicClientId, await obtainTokensFromAuthGate(server), rs.url)
    t.after(s.home.remove)
    const out = await api(s, ['/status/404'])
    assert.equal(out.code, 1)
    assert.equal(out.stdout, '{"status":404}')
    assert.equal(out.stderr, `authgate: GET ${rs.url}/status/404 answered 404 Not Found\n`)
  })

  test('401 and the refresh token is dead too: exit 4, sign in again', async (t) => {
    const issued = await obtainTokensFromAuthGate(server)
    const s = signIn(server.url, server.publicClientId, issued, rs.url)
    t.after(s.home.remove)
    await fetch(`${server.url}/oauth/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token: issued.refresh_token! }),
    })
    await fetch(`${server.url}/oauth/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token: issued.access_token }),
    })
    const out = await api(s, ['/whoami'])
    assert.equal(out.code, 4, out.stderr)
    assert.match(out.stderr, /the server rejected the refresh token[\s\S]*run `authgate login`/)
  })
})

describe('oidc-provider behind a resource server that introspects', () => {
  let server: OidcTestServer
  let rs: ResourceServer
  before(async () => {
    server = await startOidcServer({ quiet: true })
    rs = await startResourceServer(async (token) => (await server.introspect(token)).active)
  })
  after(async () => {
    await rs.close()
    await server.close()
  })

  test('the resource server stops accepting the token: one refresh, one retry', async (t) => {
    const issued = await obtainTokensFromOidc(server)
    const s = signIn(server.url, 'cli', issued, rs.url)
    t.after(s.home.remove)
    assert.equal((await api(s, ['/me'])).code, 0)
    rs.reject(issued.access_token)
    const refreshes = server.stats.successfulRefreshes
    const out = await api(s, ['/me'])
    assert.equal(out.code, 0, out.stderr)
    assert.equal(JSON.parse(out.stdout).path, '/me')
    assert.equal(server.stats.successfulRefreshes - refreshes, 1)
    assert.deepEqual(
      rs.requests.slice(-2).map((r) => r.status),
      [401, 200],
    )
  })
})
