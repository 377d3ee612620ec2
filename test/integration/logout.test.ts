import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli, type CliHome } from '../support/cli.ts'
import { startOidcServer, type OidcTestServer } from '../support/oidc-server.ts'
import {
  obtainTokensFromAuthGate,
  obtainTokensFromOidc,
  readTokenEntry,
  sessionAccount,
  writeTokenFile,
  type IssuedTokens,
} from '../support/tokens.ts'

/**
 * `authgate logout` as a process against both servers: the server itself says the tokens are dead afterwards
 * (introspection, RFC 7662), the local entry is gone, and `authgate token` then asks for a login (exit 4).
 */

before(requireBuild)
after(killAllClis)

const RS = { clientId: 'rs', clientSecret: 'rs-secret' }

/** oidc-provider's device grant for a confidential client (tokens.ts sends no secret): client_secret_post. */
async function confidentialOidcTokens(
  server: OidcTestServer,
  clientId: string,
  clientSecret: string,
): Promise<IssuedTokens> {
  const doc = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<string, string>
  const post = async (url: string, form: Record<string, string>) =>
    (await (
      await fetch(url, {
        method: 'POST',
        body: new URLSearchParams({ client_id: clientId, client_secret: clientSecret, ...form }),
      })
    ).json()) as Record<string, string>
  const auth = await post(doc.device_authorization_endpoint!, { scope: 'openid email profile' })
  await server.approveDevice(auth.user_code!)
  return (await post(doc.token_endpoint!, {
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    device_code: auth.device_code!,
  })) as unknown as IssuedTokens
}

/** AuthGate's introspection, as a resource server would call it (any client's credentials, §1.6). */
async function authgateActive(server: AuthGateTestServer, token: string): Promise<boolean> {
  const res = await fetch(`${server.url}/oauth/introspect`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${RS.clientId}:${RS.clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ token }),
  })
  assert.equal(res.status, 200)
  return ((await res.json()) as { active: boolean }).active
}

function signedIn(home: CliHome, serverUrl: string, clientId: string, tokens: IssuedTokens): Record<string, string> {
  writeTokenFile(home.tokenFile, sessionAccount(serverUrl, clientId), tokens)
  return { AUTHGATE_SERVER_URL: serverUrl, AUTHGATE_CLIENT_ID: clientId }
}

describe('AuthGate (rotation mode)', () => {
  let server: AuthGateTestServer
  before(async () => {
    server = await startAuthGateServer({
      rotation: true,
      tokenRateLimitPerMinute: 0,
      clients: [
        {
          clientId: RS.clientId,
          clientSecret: RS.clientSecret,
          type: 'confidential',
          redirectUris: [],
          scopes: 'email profile',
        },
      ],
    })
  })
  after(() => server.close())

  test('logout revokes both tokens, deletes the entry; introspection says inactive; token exits 4', async (t) => {
    const home = createCliHome()
    t.after(home.remove)
    const issued = await obtainTokensFromAuthGate(server)
    const env = signedIn(home, server.url, server.publicClientId, issued)
    assert.deepEqual(
      [await authgateActive(server, issued.refresh_token!), await authgateActive(server, issued.access_token)],
      [true, true],
    )

    const out = await runCli(['logout', ...home.flags], { home, env })
    assert.equal(out.code, 0, out.stderr)
    assert.equal(out.stdout, '')
    assert.match(
      out.stderr,
      new RegExp(
        `^Signed out of ${server.url} \\(client ${server.publicClientId}\\): revoked the refresh and access tokens at the server; deleted the tokens from ${home.tokenFile}\\.$`,
        'm',
      ),
    )
    assert.deepEqual(
      [await authgateActive(server, issued.refresh_token!), await authgateActive(server, issued.access_token)],
      [false, false],
    )
    assert.equal(readTokenEntry(home.tokenFile, sessionAccount(server.url, server.publicClientId)), undefined)

    const token = await runCli(['token', ...home.flags], { home, env })
    assert.equal(token.code, 4)
    assert.equal(token.stdout, '')
    assert.match(token.stderr, /not signed in to .*\n {2}→ run `authgate login`/)
    const again = await runCli(['logout', ...home.flags], { home, env })
    assert.deepEqual(
      [again.code, again.stderr.trim()],
      [0, `Not signed in to ${server.url} (client ${server.publicClientId}); nothing to do.`],
    )
  })

  test('--no-revoke deletes locally and leaves the tokens alive at the server', async (t) => {
    const home = createCliHome()
    t.after(home.remove)
    const issued = await obtainTokensFromAuthGate(server)
    const env = signedIn(home, server.url, server.publicClientId, issued)
    const out = await runCli(['logout', '--no-revoke', ...home.flags], { home, env })
    assert.equal(out.code, 0, out.stderr)
    assert.match(out.stderr, /: not revoked at the server \(--no-revoke\); deleted the tokens from /)
    assert.equal(await authgateActive(server, issued.refresh_token!), true)
    assert.equal((await runCli(['token', ...home.flags], { home, env })).code, 4)
  })
})

test('AuthGate unreachable: logout warns for each token, still deletes, exit 0', async (t) => {
  const server = await startAuthGateServer({ tokenRateLimitPerMinute: 0 })
  const issued = await obtainTokensFromAuthGate(server)
  await server.close()
  const home = createCliHome()
  t.after(home.remove)
  const env = signedIn(home, server.url, server.publicClientId, issued)
  const out = await runCli(['logout', ...home.flags], { home, env })
  assert.equal(out.code, 0, out.stderr)
  assert.match(
    out.stderr,
    /^warning: could not revoke the refresh token \(.*ECONNREFUSED.*\); the local tokens are deleted anyway$/m,
  )
  assert.match(out.stderr, /^warning: could not revoke the access token /m)
  assert.match(out.stderr, /the server did not confirm any revocation; deleted the tokens from /)
  assert.doesNotMatch(out.stderr, /eyJ[\w-]{10,}\.[\w-]{10,}/, 'no token on stderr')
  assert.equal((await runCli(['token', ...home.flags], { home, env })).code, 4)
})

describe('oidc-provider', () => {
  let server: OidcTestServer
  before(async () => {
    server = await startOidcServer({ quiet: true })
  })
  after(() => server.close())

  const cases = [
    {
      name: 'a public client (client_id in the form)',
      clientId: 'cli',
      env: {},
      tokens: () => obtainTokensFromOidc(server, { clientId: 'cli' }),
    },
    {
      name: 'a confidential client (client_secret_post: standard servers authenticate revocation)',
      clientId: 'cli-confidential',
      env: { AUTHGATE_CLIENT_SECRET: 'cli-confidential-secret' },
      tokens: () => confidentialOidcTokens(server, 'cli-confidential', 'cli-confidential-secret'),
    },
  ]
  for (const c of cases) {
    test(`logout with ${c.name}: the grant is revoked at the server, token exits 4`, async (t) => {
      const home = createCliHome()
      t.after(home.remove)
      const issued = await c.tokens()
      assert.ok(issued.refresh_token, 'oidc-provider issued a refresh token')
      const env = { ...signedIn(home, server.url, c.clientId, issued), ...c.env }
      const out = await runCli(['logout', ...home.flags], { home, env })
      assert.equal(out.code, 0, out.stderr)
      assert.match(out.stderr, /revoked the refresh and access tokens at the server/)
      assert.equal((await server.introspect(issued.refresh_token)).active, false)
      assert.equal((await server.introspect(issued.access_token)).active, false)
      assert.equal((await runCli(['token', ...home.flags], { home, env })).code, 4)
    })
  }
})
