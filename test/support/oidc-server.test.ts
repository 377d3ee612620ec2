import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import * as oidc from 'openid-client'
import { startOidcServer, type OidcServerOptions, type OidcTestServer } from './oidc-server.ts'

const SCOPE = 'openid email profile'
// http is fine on loopback; openid-client refuses it unless told.
const insecure = { execute: [oidc.allowInsecureRequests] }

async function start(t: TestContext, opts: OidcServerOptions = {}): Promise<OidcTestServer> {
  const server = await startOidcServer({ quiet: true, ...opts })
  t.after(() => server.close())
  return server
}

function publicClient(server: OidcTestServer, clientId = 'cli'): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(server.url), clientId, undefined, oidc.None(), insecure)
}

/** Runs a device flow; `approve` stands in for the user. Polls fast: the provider sends no interval (5 s). */
async function deviceLogin(
  config: oidc.Configuration,
  approve: (userCode: string) => Promise<void>,
): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  const da = await oidc.initiateDeviceAuthorization(config, { scope: SCOPE })
  const abort = new AbortController()
  const tokens = oidc.pollDeviceAuthorizationGrant(config, { ...da, interval: 0.05 }, undefined, {
    signal: abort.signal,
  })
  try {
    await approve(da.user_code)
  } catch (err) {
    abort.abort()
    await tokens.catch(() => {})
    throw err
  }
  return tokens
}

function refreshTokenOf(tokens: oidc.TokenEndpointResponse): string {
  assert.ok(tokens.refresh_token, 'a refresh token is issued without offline_access')
  return tokens.refresh_token
}

const invalidGrant = { error: 'invalid_grant' }

test('device flow approved through the real pages issues tokens, id_token claims and userinfo', async (t) => {
  const server = await start(t)
  const cli = await publicClient(server)
  const tokens = await deviceLogin(cli, (code) => server.driveDeviceApproval(code, 'alice'))
  refreshTokenOf(tokens)
  assert.equal(tokens.claims()?.sub, 'alice')
  assert.equal(tokens.expires_in, 3600)
  const userinfo = await oidc.fetchUserInfo(cli, tokens.access_token, 'alice')
  assert.deepEqual(
    { email: userinfo.email, preferred_username: userinfo.preferred_username, name: userinfo.name },
    { email: 'alice@example.test', preferred_username: 'alice', name: 'Alice' },
  )
  assert.equal(server.stats.deviceGrants, 1)
})

test('driveDeviceApproval rejects an unknown user code', async (t) => {
  const server = await start(t)
  await assert.rejects(server.driveDeviceApproval('BCDF-GHJK'), /incorrect/)
})

test('device flow approved through the model backdoor; refresh rotates; TTL applies to every grant', async (t) => {
  const server = await start(t, { accessTokenTtlSeconds: 2 })
  const cli = await publicClient(server)
  const tokens = await deviceLogin(cli, (code) => server.approveDevice(code, 'bob'))
  assert.equal(tokens.claims()?.sub, 'bob')
  const first = await oidc.refreshTokenGrant(cli, refreshTokenOf(tokens))
  const second = await oidc.refreshTokenGrant(cli, refreshTokenOf(first))
  const refreshTokens = new Set([tokens, first, second].map(refreshTokenOf))
  assert.equal(refreshTokens.size, 3, 'every refresh returns a new refresh token')
  assert.deepEqual(
    [tokens, first, second].map((r) => r.expires_in),
    [2, 2, 2],
  )
  assert.deepEqual(
    { ...server.stats },
    {
      refreshGrants: 2,
      successfulRefreshes: 2,
      invalidGrants: 0,
      grantsRevoked: 0,
      deviceGrants: 1,
      authCodeGrants: 0,
      clientCredentialsGrants: 0,
      deviceAuthorizations: 1,
    },
  )
})

test('replaying a used refresh token revokes the whole grant', async (t) => {
  const server = await start(t)
  const cli = await publicClient(server)
  const tokens = await deviceLogin(cli, (code) => server.approveDevice(code))
  const rotated = await oidc.refreshTokenGrant(cli, refreshTokenOf(tokens))
  assert.equal((await server.introspect(rotated.access_token)).active, true)

  await assert.rejects(oidc.refreshTokenGrant(cli, refreshTokenOf(tokens)), invalidGrant)
  await assert.rejects(oidc.refreshTokenGrant(cli, refreshTokenOf(rotated)), invalidGrant)
  assert.equal((await server.introspect(rotated.access_token)).active, false)
  assert.equal(server.stats.grantsRevoked, 1)
  assert.equal(server.stats.invalidGrants, 2)
})

// This is the failure AuthGate's cross-process lock exists to prevent: two processes refreshing with
// the same stored refresh token end up with no session at all, the winner included.
test('two concurrent refreshes with the same refresh token: one wins, one gets invalid_grant, both are dead', async (t) => {
  const server = await start(t)
  const cli = await publicClient(server)
  const refreshToken = refreshTokenOf(await deviceLogin(cli, (code) => server.approveDevice(code)))

  const results = await Promise.allSettled([
    oidc.refreshTokenGrant(cli, refreshToken),
    oidc.refreshTokenGrant(cli, refreshToken),
  ])
  const winners = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
  const losers = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
  assert.equal(winners.length, 1)
  assert.equal(losers.length, 1)
  assert.equal((losers[0] as oidc.ResponseBodyError).error, 'invalid_grant')
  assert.ok(losers[0] instanceof oidc.ResponseBodyError)

  const [winner] = winners
  assert.ok(winner)
  await assert.rejects(oidc.refreshTokenGrant(cli, refreshTokenOf(winner)), invalidGrant)
  assert.equal((await server.introspect(winner.access_token)).active, false)
  assert.deepEqual(
    { refreshGrants: server.stats.refreshGrants, successful: server.stats.successfulRefreshes },
    { refreshGrants: 3, successful: 1 },
  )
  assert.equal(server.stats.grantsRevoked, 1)
})

test('introspection reports tokens active until the refresh token is revoked', async (t) => {
  const server = await start(t)
  const cli = await publicClient(server)
  const tokens = await deviceLogin(cli, (code) => server.approveDevice(code, 'carol'))
  const refreshToken = refreshTokenOf(tokens)
  const before = await server.introspect(tokens.access_token)
  assert.deepEqual(
    { active: before.active, client_id: before.client_id, sub: before.sub },
    { active: true, client_id: 'cli', sub: 'carol' },
  )
  assert.equal((await server.introspect(refreshToken)).active, true)

  await oidc.tokenRevocation(cli, refreshToken, { token_type_hint: 'refresh_token' })
  assert.equal((await server.introspect(refreshToken)).active, false)
  assert.equal((await server.introspect(tokens.access_token)).active, false)
  await assert.rejects(oidc.refreshTokenGrant(cli, refreshToken), invalidGrant)
  assert.equal(server.stats.grantsRevoked, 1)
})

test('introspection of garbage is inactive', async (t) => {
  const server = await start(t)
  assert.deepEqual(await server.introspect('not-a-token'), { active: false })
})

async function authorizationCodeLogin(
  server: OidcTestServer,
  config: oidc.Configuration,
  redirectUri: string,
): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  const pkceCodeVerifier = oidc.randomPKCECodeVerifier()
  const expectedState = oidc.randomState()
  const authorizationUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: SCOPE,
    state: expectedState,
    code_challenge: await oidc.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
  })
  const callback = await server.completeBrowserLogin(authorizationUrl.href, 'dave')
  assert.ok(callback.startsWith(`${redirectUri}?`), `redirected to ${callback}`)
  return oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier, expectedState })
}

test('authorization code + PKCE S256 with a loopback redirect on any port', async (t) => {
  const server = await start(t, { accessTokenTtlSeconds: 2 })
  const cli = await publicClient(server)
  for (const redirectUri of ['http://127.0.0.1:53682/callback', 'http://localhost:41999/callback']) {
    const tokens = await authorizationCodeLogin(server, cli, redirectUri)
    assert.equal(tokens.claims()?.sub, 'dave')
    assert.equal(tokens.expires_in, 2)
    const refreshed = await oidc.refreshTokenGrant(cli, refreshTokenOf(tokens))
    assert.notEqual(refreshTokenOf(refreshed), tokens.refresh_token)
  }
  assert.equal(server.stats.authCodeGrants, 2)
})

test('authorization code with a wrong PKCE verifier is invalid_grant', async (t) => {
  const server = await start(t)
  const cli = await publicClient(server)
  const redirectUri = 'http://127.0.0.1:50000/callback'
  const authorizationUrl = oidc.buildAuthorizationUrl(cli, {
    redirect_uri: redirectUri,
    scope: SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  })
  const callback = await server.completeBrowserLogin(authorizationUrl.href)
  const grant = oidc.authorizationCodeGrant(cli, new URL(callback), {
    pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
    expectedState: oidc.skipStateCheck,
  })
  await assert.rejects(grant, invalidGrant)
})

test('confidential client with client_secret_post: auth code, device flow, rotating refresh', async (t) => {
  const server = await start(t)
  const confidential = await oidc.discovery(
    new URL(server.url),
    'cli-confidential',
    undefined,
    oidc.ClientSecretPost('cli-confidential-secret'),
    insecure,
  )
  const viaCode = await authorizationCodeLogin(server, confidential, 'http://127.0.0.1:60001/callback')
  const viaDevice = await deviceLogin(confidential, (code) => server.driveDeviceApproval(code, 'erin'))
  assert.equal(viaDevice.claims()?.sub, 'erin')
  for (const tokens of [viaCode, viaDevice]) {
    const refreshed = await oidc.refreshTokenGrant(confidential, refreshTokenOf(tokens))
    assert.notEqual(refreshTokenOf(refreshed), tokens.refresh_token, 'confidential clients rotate too')
    assert.equal((await server.introspect(refreshed.access_token)).client_id, 'cli-confidential')
  }
  const wrongSecret = await oidc.discovery(
    new URL(server.url),
    'cli-confidential',
    undefined,
    oidc.ClientSecretPost('wrong'),
    insecure,
  )
  await assert.rejects(oidc.refreshTokenGrant(wrongSecret, refreshTokenOf(viaDevice)), { error: 'invalid_client' })
})

test('autoApproveUser approves device codes before the first poll', async (t) => {
  const server = await start(t, { autoApproveUser: 'demo' })
  const cli = await publicClient(server)
  const tokens = await deviceLogin(cli, async () => {})
  assert.equal(tokens.claims()?.sub, 'demo')
  await assert.rejects(server.approveDevice('BCDF-GHJK'), /no device authorization/)
})

test('custom clients replace the defaults; rs still introspects', async (t) => {
  const server = await start(t, { clients: [{ client_id: 'other', redirect_uris: ['http://127.0.0.1/cb'] }] })
  await assert.rejects(
    publicClient(server).then((cli) => oidc.initiateDeviceAuthorization(cli, { scope: SCOPE })),
    {
      error: 'invalid_client',
    },
  )
  const other = await publicClient(server, 'other')
  const tokens = await deviceLogin(other, (code) => server.approveDevice(code))
  assert.equal((await server.introspect(tokens.access_token)).client_id, 'other')
})

test('quirks (issue 14): nonce required for openid; invalid_grant and revocation answered without JSON', async (t) => {
  const server = await start(t, { quirks: { requireNonce: true } })
  const cli = await publicClient(server)
  const authorize = (params: Record<string, string>) =>
    fetch(
      oidc.buildAuthorizationUrl(cli, {
        redirect_uri: 'http://127.0.0.1:9/callback',
        state: 's',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        ...params,
      }),
      {
        redirect: 'manual',
      },
    )
  const refused = new URL((await authorize({ scope: SCOPE })).headers.get('location') ?? '')
  assert.deepEqual(
    [refused.origin, refused.searchParams.get('error'), refused.searchParams.get('error_description')],
    ['http://127.0.0.1:9', 'invalid_request', 'nonce required'],
  )
  assert.equal(refused.searchParams.get('iss'), server.url)
  const accepted = new URL((await authorize({ scope: SCOPE, nonce: 'n' })).headers.get('location') ?? '', server.url)
  assert.equal(accepted.origin, server.url, 'with a nonce the provider goes on to its login page')

  const tokens = await deviceLogin(cli, (code) => server.approveDevice(code))
  await oidc.refreshTokenGrant(cli, refreshTokenOf(tokens))
  server.quirks.refreshRejection = { status: 400, contentType: 'text/html', body: '<p>no</p>' }
  server.quirks.revocation = { status: 401, contentType: 'text/plain', body: 'who are you' }
  const { token_endpoint: tokenUrl, revocation_endpoint: revokeUrl } = cli.serverMetadata()
  const post = async (url: string | undefined, form: Record<string, string>) => {
    const res = await fetch(url!, { method: 'POST', body: new URLSearchParams({ client_id: 'cli', ...form }) })
    return [res.status, res.headers.get('content-type'), await res.text()]
  }
  const spent = { grant_type: 'refresh_token', refresh_token: refreshTokenOf(tokens) }
  assert.deepEqual(await post(tokenUrl, spent), [400, 'text/html', '<p>no</p>'])
  assert.deepEqual(await post(revokeUrl, { token: tokens.access_token }), [401, 'text/plain', 'who are you'])
  assert.equal(server.stats.invalidGrants, 1)
})

test('a confidential client gets a client-credentials token (no refresh token); a public client is refused', async (t) => {
  const server = await start(t)
  const confidential = await oidc.discovery(
    new URL(server.url),
    'cli-confidential',
    'cli-confidential-secret',
    oidc.ClientSecretPost('cli-confidential-secret'),
    insecure,
  )
  const tokens = await oidc.clientCredentialsGrant(confidential)
  assert.equal(tokens.refresh_token, undefined)
  assert.equal(tokens.expires_in, 3600)
  assert.equal((await server.introspect(tokens.access_token)).active, true)
  assert.equal(server.stats.clientCredentialsGrants, 1)
  await assert.rejects(oidc.clientCredentialsGrant(await publicClient(server)), oidc.ResponseBodyError)
  assert.equal(server.stats.clientCredentialsGrants, 1)
})
