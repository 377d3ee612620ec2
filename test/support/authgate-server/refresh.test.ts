import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, test } from 'node:test'
import { startAuthGateServer, type AuthGateServerOptions, type AuthGateTestServer } from './index.ts'
import { basic, decodeJwt, deviceLogin, fakeClock, postForm, refresh, request, str } from './test-http.ts'

/** Checklist §8 items 3, 4 and 5: refresh responses, fixed vs rotation mode, reuse detection, client mismatch. */

const otherClientId = randomUUID()
const servers: AuthGateTestServer[] = []
after(() => Promise.all(servers.map((s) => s.close())))

async function start(opts: AuthGateServerOptions = {}): Promise<AuthGateTestServer> {
  const server = await startAuthGateServer({
    tokenRateLimitPerMinute: 0,
    deviceCodeRateLimitPerMinute: 0,
    clients: [{ clientId: otherClientId, type: 'public', redirectUris: [], scopes: 'email profile' }],
    ...opts,
  })
  servers.push(server)
  return server
}

const INVALID_GRANT = { error: 'invalid_grant', error_description: 'Refresh token is invalid or expired' }

describe('§8.3 fixed mode (default)', () => {
  test('refresh returns the same refresh token, a new access token and the scope', async () => {
    const server = await start()
    const first = await deviceLogin(server)
    const rt = str(first, 'refresh_token')
    for (let i = 0; i < 3; i += 1) {
      const res = await refresh(server, rt)
      assert.equal(res.status, 200, res.text)
      assert.equal(res.json.refresh_token, rt)
      assert.equal(res.json.scope, 'email profile')
      assert.equal(res.json.token_type, 'Bearer')
      assert.notEqual(res.json.access_token, first.access_token)
      assert.equal(server.isTokenActive(str(res.json, 'access_token')), true)
    }
    assert.equal(server.isTokenActive(str(first, 'access_token')), true, 'earlier access tokens stay valid')
    assert.equal(server.isTokenActive(rt), true)
    assert.deepEqual(server.stats, {
      tokenRequests: 4,
      deviceAuthorizations: 1,
      refreshGrants: 3,
      successfulRefreshes: 3,
      invalidGrants: 0,
      familyRevocations: 0,
      grantsByType: { 'urn:ietf:params:oauth:grant-type:device_code': 1, refresh_token: 3 },
    })
  })

  test('a revoked (deleted) refresh token → plain invalid_grant, siblings untouched', async () => {
    const server = await start()
    const tokens = await deviceLogin(server)
    await postForm(`${server.url}/oauth/revoke`, { token: str(tokens, 'refresh_token') })
    const res = await refresh(server, str(tokens, 'refresh_token'))
    assert.equal(res.status, 400)
    assert.deepEqual(res.json, INVALID_GRANT)
    assert.equal(server.isTokenActive(str(tokens, 'access_token')), true)
    assert.equal(server.stats.familyRevocations, 0)
  })

  test('fixed-mode refresh token expiry is absolute from issuance', async () => {
    const clock = fakeClock()
    const server = await start({ now: clock.now, refreshTokenTtlSeconds: 100 })
    const rt = str(await deviceLogin(server), 'refresh_token')
    clock.advance(60_000)
    assert.equal((await refresh(server, rt)).status, 200)
    clock.advance(40_000)
    assert.deepEqual((await refresh(server, rt)).json, INVALID_GRANT)
  })
})

describe('§8.4 rotation mode', () => {
  test('refresh returns a new refresh token and revokes the old one', async () => {
    const server = await start({ rotation: true })
    const first = await deviceLogin(server)
    const res = await refresh(server, str(first, 'refresh_token'))
    assert.equal(res.status, 200, res.text)
    assert.notEqual(res.json.refresh_token, first.refresh_token)
    assert.equal(decodeJwt(str(res.json, 'refresh_token')).payload.type, 'refresh')
    assert.equal(server.isTokenActive(str(first, 'refresh_token')), false)
    assert.equal(server.isTokenActive(str(res.json, 'refresh_token')), true)
    assert.equal(server.isTokenActive(str(first, 'access_token')), true, 'a normal refresh revokes no access token')
  })

  test('replaying the old token revokes the whole family, access tokens included', async () => {
    const server = await start({ rotation: true })
    const first = await deviceLogin(server)
    const second = (await refresh(server, str(first, 'refresh_token'))).json
    const replay = await refresh(server, str(first, 'refresh_token'))
    assert.equal(replay.status, 400)
    assert.deepEqual(replay.json, INVALID_GRANT)
    for (const token of [first.access_token, second.access_token, second.refresh_token]) {
      assert.equal(server.isTokenActive(String(token)), false)
    }
    const legit = await refresh(server, str(second, 'refresh_token'))
    assert.deepEqual(legit.json, INVALID_GRANT, "the legitimate holder's next refresh fails too")
    const info = await request(`${server.url}/oauth/tokeninfo`, {
      headers: { Authorization: `Bearer ${second.access_token}` },
    })
    assert.equal(info.status, 401)
    assert.equal(server.stats.familyRevocations, 2)
    assert.equal(server.stats.invalidGrants, 2)
  })

  test('a token from three rotations back still kills the newest one', async () => {
    const server = await start({ rotation: true })
    const chain = [await deviceLogin(server)]
    for (let i = 0; i < 3; i += 1) chain.push((await refresh(server, str(chain.at(-1)!, 'refresh_token'))).json)
    assert.equal(server.isTokenActive(str(chain[3]!, 'refresh_token')), true)
    assert.deepEqual((await refresh(server, str(chain[0]!, 'refresh_token'))).json, INVALID_GRANT)
    assert.equal(server.isTokenActive(str(chain[3]!, 'refresh_token')), false)
    assert.equal(server.isTokenActive(str(chain[3]!, 'access_token')), false)
    assert.equal(server.stats.familyRevocations, 1)
  })

  test('families are independent: another login survives a replay', async () => {
    const server = await start({ rotation: true })
    const a = await deviceLogin(server)
    const b = await deviceLogin(server)
    await refresh(server, str(a, 'refresh_token'))
    await refresh(server, str(a, 'refresh_token'))
    assert.equal(server.isTokenActive(str(b, 'refresh_token')), true)
    assert.equal(server.isTokenActive(str(b, 'access_token')), true)
  })

  test('reuse is detected before the client_id check', async () => {
    const server = await start({ rotation: true })
    const first = await deviceLogin(server)
    const second = (await refresh(server, str(first, 'refresh_token'))).json
    const replay = await refresh(server, str(first, 'refresh_token'), otherClientId)
    assert.equal(replay.status, 400, 'invalid_grant, not 401 invalid_client')
    assert.deepEqual(replay.json, INVALID_GRANT)
    assert.equal(server.isTokenActive(str(second, 'refresh_token')), false)
  })

  test('rotated refresh tokens get a full (sliding) lifetime', async () => {
    const clock = fakeClock()
    const server = await start({ rotation: true, now: clock.now, refreshTokenTtlSeconds: 100 })
    let rt = str(await deviceLogin(server), 'refresh_token')
    for (let i = 0; i < 3; i += 1) {
      clock.advance(60_000)
      const res = await refresh(server, rt)
      assert.equal(res.status, 200, res.text)
      rt = str(res.json, 'refresh_token')
    }
  })
})

describe('§8.5 refresh client and scope checks', () => {
  test('foreign client_id → 401 invalid_client with WWW-Authenticate: Basic realm="token"', async () => {
    const server = await start()
    const tokens = await deviceLogin(server)
    const res = await refresh(server, str(tokens, 'refresh_token'), otherClientId)
    assert.equal(res.status, 401)
    assert.deepEqual(res.json, { error: 'invalid_client', error_description: 'Client authentication failed' })
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="token"')
    assert.equal(server.isTokenActive(str(tokens, 'refresh_token')), true)
  })

  test('client_id must be in the body: HTTP Basic is ignored', async () => {
    const server = await start()
    const tokens = await deviceLogin(server)
    const res = await postForm(
      `${server.url}/oauth/token`,
      { grant_type: 'refresh_token', refresh_token: str(tokens, 'refresh_token') },
      basic(server.publicClientId, 'whatever'),
    )
    assert.equal(res.status, 400)
    assert.deepEqual(res.json, {
      error: 'invalid_request',
      error_description: 'refresh_token and client_id are required',
    })
  })

  test('a narrower scope is accepted but the new tokens keep the full original scope', async () => {
    const server = await start()
    const tokens = await deviceLogin(server)
    const res = await refresh(server, str(tokens, 'refresh_token'), server.publicClientId, { scope: 'email' })
    assert.equal(res.status, 200, res.text)
    assert.equal(res.json.scope, 'email profile')
    assert.equal(decodeJwt(str(res.json, 'access_token')).payload.scope, 'email profile')
  })

  test('a wider scope → 400 invalid_scope', async () => {
    const server = await start()
    const tokens = await deviceLogin(server)
    const res = await refresh(server, str(tokens, 'refresh_token'), server.publicClientId, { scope: 'email admin' })
    assert.equal(res.status, 400)
    assert.deepEqual(res.json, { error: 'invalid_scope', error_description: 'Requested scope exceeds original grant' })
  })

  const invalid = [
    { name: 'an access token', token: (t: Record<string, unknown>) => String(t.access_token) },
    { name: 'garbage', token: () => 'not-a-token' },
    { name: 'a forged JWT', token: (t: Record<string, unknown>) => `${String(t.refresh_token).slice(0, -4)}AAAA` },
  ]
  for (const c of invalid) {
    test(`${c.name} as refresh_token → invalid_grant`, async () => {
      const server = await start()
      const tokens = await deviceLogin(server)
      assert.deepEqual((await refresh(server, c.token(tokens))).json, INVALID_GRANT)
    })
  }
})
