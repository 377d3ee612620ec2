import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from './index.ts'
import { basic, decodeJwt, deviceLogin, fakeClock, postForm, request, str, type Json } from './test-http.ts'

/** Checklist §8 items 6 (revoke), 7 (tokeninfo/userinfo), 8 (introspect), plus the client_credentials grant. */

const clock = fakeClock()
const m2m = { clientId: randomUUID(), secret: 'm2m-secret' }
const m2mNoFlow = { clientId: randomUUID(), secret: 'other-secret' }
const publicWithFlow = { clientId: randomUUID(), secret: 'public-secret' }
let server: AuthGateTestServer

before(async () => {
  server = await startAuthGateServer({
    now: clock.now,
    tokenRateLimitPerMinute: 0,
    deviceCodeRateLimitPerMinute: 0,
    introspectRateLimitPerMinute: 0,
    clients: [
      {
        clientId: m2m.clientId,
        clientSecret: m2m.secret,
        type: 'confidential',
        redirectUris: [],
        scopes: 'read write',
      },
      {
        clientId: m2mNoFlow.clientId,
        clientSecret: m2mNoFlow.secret,
        type: 'confidential',
        redirectUris: [],
        scopes: 'read',
        clientCredentialsFlow: false,
      },
      {
        clientId: publicWithFlow.clientId,
        clientSecret: publicWithFlow.secret,
        type: 'public',
        redirectUris: [],
        scopes: 'read',
        clientCredentialsFlow: true,
      },
    ],
  })
})
after(() => server.close())

const bearer = (token: unknown) => ({ headers: { Authorization: `Bearer ${String(token)}` } })
const tokenInfo = (token: unknown) => request(`${server.url}/oauth/tokeninfo`, bearer(token))
const userInfo = (token: unknown, method = 'GET') =>
  request(`${server.url}/oauth/userinfo`, { method, ...bearer(token) })
const introspect = (fields: Record<string, string>, headers = basic(m2m.clientId, m2m.secret)) =>
  postForm(`${server.url}/oauth/introspect`, fields, headers)
const INVALID_TOKEN = { error: 'invalid_token', error_description: 'Token is invalid or expired' }

describe('§8.6 POST /oauth/revoke', () => {
  test('no auth, 200 with an empty body, deletes only that row', async () => {
    const tokens = await deviceLogin(server)
    const res = await postForm(`${server.url}/oauth/revoke`, { token: str(tokens, 'access_token') })
    assert.equal(res.status, 200)
    assert.equal(res.text, '')
    assert.equal(server.isTokenActive(str(tokens, 'access_token')), false)
    assert.equal(server.isTokenActive(str(tokens, 'refresh_token')), true)
    assert.deepEqual((await tokenInfo(tokens.access_token)).json, INVALID_TOKEN)
  })

  test('unknown token → still 200 with an empty body', async () => {
    const res = await postForm(`${server.url}/oauth/revoke`, {
      token: 'never-issued',
      token_type_hint: 'refresh_token',
    })
    assert.equal(res.status, 200)
    assert.equal(res.text, '')
  })

  test('missing token → 400 invalid_request', async () => {
    const res = await postForm(`${server.url}/oauth/revoke`, { client_id: server.publicClientId })
    assert.equal(res.status, 400)
    assert.deepEqual(res.json, { error: 'invalid_request', error_description: 'token parameter is required' })
  })
})

describe('§8.7 GET /oauth/tokeninfo', () => {
  test('valid access token', async () => {
    const tokens = await deviceLogin(server)
    const res = await tokenInfo(tokens.access_token)
    assert.equal(res.status, 200)
    const claims = decodeJwt(str(tokens, 'access_token')).payload
    assert.deepEqual(res.json, {
      active: true,
      user_id: claims.user_id,
      client_id: server.publicClientId,
      scope: 'email profile',
      exp: claims.exp,
      iss: server.url,
      subject_type: 'user',
    })
  })

  const rejected: { name: string; headers: () => Promise<Record<string, string>>; want: Json }[] = [
    { name: 'no header', headers: async () => ({}), want: { error: 'missing_token' } },
    {
      name: 'lower-case bearer prefix',
      headers: async () => ({ Authorization: `bearer ${(await deviceLogin(server)).access_token}` }),
      want: { error: 'missing_token' },
    },
    {
      name: 'refresh token',
      headers: async () => bearer((await deviceLogin(server)).refresh_token).headers,
      want: INVALID_TOKEN,
    },
    { name: 'garbage', headers: async () => ({ Authorization: 'Bearer abc.def.ghi' }), want: INVALID_TOKEN },
  ]
  for (const c of rejected) {
    test(`401 ${String(c.want.error)}: ${c.name}`, async () => {
      const res = await request(`${server.url}/oauth/tokeninfo`, { headers: await c.headers() })
      assert.equal(res.status, 401)
      assert.deepEqual(res.json, c.want)
      assert.equal(res.headers.get('www-authenticate'), null)
    })
  }

  test('expired in the DB (expireAccessTokens) → invalid_token', async () => {
    const tokens = await deviceLogin(server)
    assert.equal((await tokenInfo(tokens.access_token)).status, 200)
    server.expireAccessTokens()
    assert.deepEqual((await tokenInfo(tokens.access_token)).json, INVALID_TOKEN)
    assert.equal(server.isTokenActive(str(tokens, 'refresh_token')), true)
  })

  test('expired by the clock → invalid_token', async () => {
    const tokens = await deviceLogin(server)
    clock.advance(36_000_000)
    assert.deepEqual((await tokenInfo(tokens.access_token)).json, INVALID_TOKEN)
  })
})

describe('§8.7 /oauth/userinfo', () => {
  for (const method of ['GET', 'POST']) {
    test(`${method}: profile and email claims without openid`, async () => {
      const tokens = await deviceLogin(server)
      const res = await userInfo(tokens.access_token, method)
      assert.equal(res.status, 200)
      assert.deepEqual(Object.keys(res.json).sort(), [
        'email',
        'email_verified',
        'iss',
        'name',
        'preferred_username',
        'sub',
        'updated_at',
      ])
      assert.equal(res.json.sub, decodeJwt(str(tokens, 'access_token')).payload.sub)
      assert.equal(res.json.preferred_username, 'admin')
      assert.equal(res.json.name, 'Administrator')
      assert.equal(res.json.email, 'admin@localhost')
      assert.equal(res.json.iss, server.url)
    })
  }

  test('email-only scope has no profile claims', async () => {
    const res = await userInfo((await deviceLogin(server, 'email')).access_token)
    assert.deepEqual(Object.keys(res.json).sort(), ['email', 'email_verified', 'iss', 'sub'])
  })

  const rejected = [
    { name: 'no header', token: async () => undefined, description: 'Bearer token required' },
    {
      name: 'revoked',
      token: async () => {
        const t = str(await deviceLogin(server), 'access_token')
        await postForm(`${server.url}/oauth/revoke`, { token: t })
        return t
      },
      description: 'token not found or revoked',
    },
    {
      name: 'client_credentials token',
      token: async () => {
        const res = await postForm(
          `${server.url}/oauth/token`,
          { grant_type: 'client_credentials' },
          basic(m2m.clientId, m2m.secret),
        )
        return str(res.json, 'access_token')
      },
      description: 'User not found',
    },
  ]
  for (const c of rejected) {
    test(`401 invalid_token + WWW-Authenticate: ${c.name}`, async () => {
      const token = await c.token()
      const res = await request(`${server.url}/oauth/userinfo`, token === undefined ? {} : bearer(token))
      assert.equal(res.status, 401)
      assert.deepEqual(res.json, { error: 'invalid_token', error_description: c.description })
      assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"')
    })
  }
})

describe('§8.8 POST /oauth/introspect', () => {
  test('401 invalid_client without, or with wrong, caller credentials', async () => {
    for (const headers of [{}, basic(m2m.clientId, 'wrong'), basic(server.publicClientId, '')]) {
      const res = await introspect({ token: 'x' }, headers)
      assert.equal(res.status, 401)
      assert.equal(res.json.error, 'invalid_client')
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="authgate"')
    }
  })

  test('form credentials work as well as Basic; missing token → 400 invalid_request', async () => {
    const res = await introspect({ client_id: m2m.clientId, client_secret: m2m.secret }, {})
    assert.equal(res.status, 400)
    assert.equal(res.json.error, 'invalid_request')
  })

  test('access and refresh tokens of another client introspect as active', async () => {
    const tokens = await deviceLogin(server)
    for (const kind of ['access_token', 'refresh_token']) {
      const res = await introspect({ token: str(tokens, kind), token_type_hint: 'nonsense' })
      assert.equal(res.status, 200)
      const claims = decodeJwt(str(tokens, kind)).payload
      assert.deepEqual(Object.keys(res.json).sort(), [
        'active',
        'client_id',
        'exp',
        'iat',
        'iss',
        'jti',
        'scope',
        'sub',
        'token_type',
        'username',
      ])
      assert.equal(res.json.active, true)
      assert.equal(res.json.token_type, 'Bearer')
      assert.equal(res.json.username, 'admin')
      assert.equal(res.json.sub, claims.sub)
      assert.equal(res.json.exp, claims.exp)
      assert.notEqual(res.json.jti, claims.jti, 'jti is the DB row id, not the JWT claim')
    }
  })

  test('{"active":false} for unknown, revoked and expired tokens', async () => {
    const tokens = await deviceLogin(server)
    await postForm(`${server.url}/oauth/revoke`, { token: str(tokens, 'refresh_token') })
    server.expireAccessTokens()
    for (const token of ['unknown', str(tokens, 'refresh_token'), str(tokens, 'access_token')]) {
      const res = await introspect({ token })
      assert.equal(res.status, 200)
      assert.equal(res.text, '{"active":false}')
    }
  })
})

describe('client_credentials grant (§1.2d)', () => {
  test('Basic credentials: 1h token, no refresh token, sub client:<id>', async () => {
    const res = await postForm(
      `${server.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      basic(m2m.clientId, m2m.secret),
    )
    assert.equal(res.status, 200, res.text)
    assert.equal(res.json.expires_in, 3600)
    assert.equal(res.json.scope, 'read write')
    assert.equal('refresh_token' in res.json, false)
    assert.equal(decodeJwt(str(res.json, 'access_token')).payload.sub, `client:${m2m.clientId}`)
    assert.equal((await tokenInfo(res.json.access_token)).json.subject_type, 'client')
  })

  const cases: { name: string; fields: () => Record<string, string>; status: number; error?: string }[] = [
    {
      name: 'form credentials + subset scope',
      fields: () => ({ client_id: m2m.clientId, client_secret: m2m.secret, scope: 'read' }),
      status: 200,
    },
    { name: 'no credentials', fields: () => ({}), status: 401, error: 'invalid_client' },
    {
      name: 'wrong secret',
      fields: () => ({ client_id: m2m.clientId, client_secret: 'x' }),
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'unknown client',
      fields: () => ({ client_id: randomUUID(), client_secret: 'x' }),
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'public client, right secret',
      fields: () => ({ client_id: publicWithFlow.clientId, client_secret: publicWithFlow.secret }),
      status: 401,
      error: 'invalid_client',
    },
    {
      name: 'seeded public client: flow off',
      fields: () => ({ client_id: server.publicClientId }),
      status: 400,
      error: 'unauthorized_client',
    },
    {
      name: 'flow off (checked before the secret)',
      fields: () => ({ client_id: m2mNoFlow.clientId, client_secret: 'x' }),
      status: 400,
      error: 'unauthorized_client',
    },
    {
      name: 'openid scope',
      fields: () => ({ client_id: m2m.clientId, client_secret: m2m.secret, scope: 'openid' }),
      status: 400,
      error: 'invalid_scope',
    },
    {
      name: 'scope outside the allow-list',
      fields: () => ({ client_id: m2m.clientId, client_secret: m2m.secret, scope: 'admin' }),
      status: 400,
      error: 'invalid_scope',
    },
  ]
  for (const c of cases) {
    test(`${c.status}: ${c.name}`, async () => {
      const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials', ...c.fields() })
      assert.equal(res.status, c.status, res.text)
      assert.equal(res.json.error, c.error)
      if (c.status === 401) assert.equal(res.headers.get('www-authenticate'), 'Basic realm="authgate"')
    })
  }
})
