import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from './index.ts'
import {
  decodeJwt,
  deviceLogin,
  pollDeviceToken,
  postForm,
  postJson,
  request,
  requestDeviceCode,
  str,
} from './test-http.ts'

/** Checklist §8 items 1 (form-only parsing) and 9 (discovery), plus plumbing: 404s, health, error shape. */

let server: AuthGateTestServer
before(async () => {
  server = await startAuthGateServer({ tokenRateLimitPerMinute: 0, deviceCodeRateLimitPerMinute: 0 })
})
after(() => server.close())

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('server basics', () => {
  test('listens on 127.0.0.1 with a UUID v4 public client', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.match(server.publicClientId, UUID_V4)
  })

  test('GET /health', async () => {
    const res = await request(`${server.url}/health`)
    assert.equal(res.status, 200)
    assert.deepEqual(res.json, { status: 'healthy', database: 'connected' })
  })

  const notFound = [
    { name: 'GET on a POST-only route', method: 'GET', path: '/oauth/token' },
    { name: 'PUT on a GET route', method: 'PUT', path: '/oauth/tokeninfo' },
    { name: 'POST on discovery', method: 'POST', path: '/.well-known/openid-configuration' },
    { name: 'unknown path', method: 'GET', path: '/oauth/device' },
    { name: 'trailing slash', method: 'POST', path: '/oauth/token/' },
  ]
  for (const c of notFound) {
    test(`404 plain text (no 405): ${c.name}`, async () => {
      const res = await request(`${server.url}${c.path}`, { method: c.method })
      assert.equal(res.status, 404)
      assert.equal(res.text, '404 page not found')
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
    })
  }

  test('dynamic client registration is disabled', async () => {
    const res = await postJson(`${server.url}/oauth/register`, { client_name: 'x' })
    assert.equal(res.status, 403)
    assert.deepEqual(res.json, { error: 'registration_not_supported' })
  })

  test('JSON errors: application/json; charset=utf-8, description present only when set', async () => {
    const withDescription = await postForm(`${server.url}/oauth/token`, { grant_type: 'password' })
    assert.equal(withDescription.headers.get('content-type'), 'application/json; charset=utf-8')
    assert.deepEqual(withDescription.json, {
      error: 'unsupported_grant_type',
      error_description: 'Supported grant types: device_code, refresh_token, authorization_code, client_credentials',
    })
    const noDescription = await request(`${server.url}/oauth/tokeninfo`)
    assert.deepEqual(noDescription.json, { error: 'missing_token' })
    assert.equal(noDescription.text, '{"error":"missing_token"}')
  })
})

describe('§8.9 discovery and JWKS', () => {
  test('discovery omits device, introspection, registration endpoints and jwks_uri', async () => {
    const res = await request(`${server.url}/.well-known/openid-configuration`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('cache-control'), 'public, max-age=3600')
    for (const absent of [
      'device_authorization_endpoint',
      'introspection_endpoint',
      'registration_endpoint',
      'end_session_endpoint',
      'jwks_uri',
    ]) {
      assert.equal(absent in res.json, false, `${absent} must not be advertised`)
    }
    assert.equal(res.json.issuer, server.url)
    assert.equal(res.json.token_endpoint, `${server.url}/oauth/token`)
    assert.equal(res.json.authorization_endpoint, `${server.url}/oauth/authorize`)
    assert.equal(res.json.userinfo_endpoint, `${server.url}/oauth/userinfo`)
    assert.equal(res.json.revocation_endpoint, `${server.url}/oauth/revoke`)
    assert.deepEqual(res.json.id_token_signing_alg_values_supported, ['HS256'])
    assert.deepEqual(res.json.code_challenge_methods_supported, ['S256'])
    assert.deepEqual(res.json.response_types_supported, ['code'])
    assert.deepEqual(res.json.grant_types_supported, [
      'authorization_code',
      'urn:ietf:params:oauth:grant-type:device_code',
      'refresh_token',
      'client_credentials',
    ])
  })

  test('JWKS is empty on HS256', async () => {
    const res = await request(`${server.url}/.well-known/jwks.json`)
    assert.equal(res.status, 200)
    assert.equal(res.text, '{"keys":[]}')
    assert.equal(res.headers.get('cache-control'), 'public, max-age=3600')
  })
})

describe('§8.1 form-only parsing', () => {
  test('/oauth/token with a JSON body reads as an empty grant_type', async () => {
    const { deviceCode } = await requestDeviceCode(server)
    const res = await postJson(`${server.url}/oauth/token`, {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: deviceCode,
      client_id: server.publicClientId,
    })
    assert.equal(res.status, 400)
    assert.equal(res.json.error, 'unsupported_grant_type')
  })

  test('/oauth/token accepts multipart form bodies like Go ParseMultipartForm', async () => {
    const body = new FormData()
    body.set('grant_type', 'refresh_token')
    const res = await request(`${server.url}/oauth/token`, { method: 'POST', body })
    assert.equal(res.status, 400)
    assert.deepEqual(res.json, {
      error: 'invalid_request',
      error_description: 'refresh_token and client_id are required',
    })
  })

  test('the short grant type "device_code" is not accepted', async () => {
    const res = await postForm(`${server.url}/oauth/token`, { grant_type: 'device_code' })
    assert.equal(res.json.error, 'unsupported_grant_type')
  })

  test('/oauth/revoke with a JSON body → 400 invalid_request, token untouched', async () => {
    const tokens = await deviceLogin(server)
    const res = await postJson(`${server.url}/oauth/revoke`, { token: str(tokens, 'access_token') })
    assert.equal(res.status, 400)
    assert.deepEqual(res.json, { error: 'invalid_request', error_description: 'token parameter is required' })
    assert.equal(server.isTokenActive(str(tokens, 'access_token')), true)
  })

  test('/oauth/introspect with a JSON body → 401 invalid_client', async () => {
    const res = await postJson(`${server.url}/oauth/introspect`, { token: 'x', client_id: server.publicClientId })
    assert.equal(res.status, 401)
    assert.equal(res.json.error, 'invalid_client')
  })

  const deviceBodies = [
    { name: 'form', send: (url: string, id: string) => postForm(url, { client_id: id, scope: 'email' }) },
    { name: 'JSON', send: (url: string, id: string) => postJson(url, { client_id: id, scope: 'email' }) },
    {
      name: 'JSON (sent as text/plain)',
      send: (url: string, id: string) =>
        request(url, { method: 'POST', body: JSON.stringify({ client_id: id, scope: 'email' }) }),
    },
  ]
  for (const c of deviceBodies) {
    test(`/oauth/device/code accepts a ${c.name} body`, async () => {
      const res = await c.send(`${server.url}/oauth/device/code`, server.publicClientId)
      assert.equal(res.status, 200, res.text)
      assert.match(str(res.json, 'device_code'), /^[0-9a-f]{40}$/)
    })
  }

  test('/oauth/device/code with neither form nor JSON client_id → invalid_request', async () => {
    const res = await request(`${server.url}/oauth/device/code`, { method: 'POST', body: 'client_id' })
    assert.equal(res.status, 400)
    assert.deepEqual(res.json, { error: 'invalid_request', error_description: 'client_id is required' })
  })
})

describe('extra_claims (§1.2) and options', () => {
  test('extra_claims are merged into the issued JWTs', async () => {
    const { deviceCode, userCode } = await requestDeviceCode(server)
    server.approveDevice(userCode)
    const res = await postForm(`${server.url}/oauth/token`, {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: deviceCode,
      client_id: server.publicClientId,
      extra_claims: '{"team":"core"}',
    })
    assert.equal(res.status, 200, res.text)
    assert.equal(decodeJwt(str(res.json, 'access_token')).payload.team, 'core')
    assert.equal(decodeJwt(str(res.json, 'refresh_token')).payload.team, 'core')
  })

  const rejected = ['{"sub":"x"}', '{"extra_uid":"x"}', '[1]', 'not json', JSON.stringify({ big: 'x'.repeat(600) })]
  for (const extra of rejected) {
    test(`extra_claims ${extra.slice(0, 20)} → 400 invalid_request, code not consumed`, async () => {
      const { deviceCode, userCode } = await requestDeviceCode(server)
      server.approveDevice(userCode)
      const res = await postForm(`${server.url}/oauth/token`, {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: deviceCode,
        client_id: server.publicClientId,
        extra_claims: extra,
      })
      assert.equal(res.status, 400)
      assert.equal(res.json.error, 'invalid_request')
      assert.equal((await pollDeviceToken(server, deviceCode)).status, 200)
    })
  }

  test('a confidential client without a secret is a TypeError', async () => {
    const client = { clientId: randomUUID(), type: 'confidential' as const, redirectUris: [], scopes: 'read' }
    await assert.rejects(startAuthGateServer({ clients: [client] }), TypeError)
  })
})
