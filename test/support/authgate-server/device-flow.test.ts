import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from './index.ts'
import { decodeJwt, fakeClock, pollDeviceToken, postForm, requestDeviceCode, str } from './test-http.ts'

/** Checklist §8 item 2 (device state machine, §1.2a) and the approval a person gives on /device (§1.4). */

const clock = fakeClock()
const inactiveClientId = randomUUID()
const noDeviceClientId = randomUUID()
let server: AuthGateTestServer

before(async () => {
  server = await startAuthGateServer({
    now: clock.now,
    tokenRateLimitPerMinute: 0,
    deviceCodeRateLimitPerMinute: 0,
    users: [{ username: 'admin' }, { username: 'bob' }],
    clients: [
      { clientId: inactiveClientId, type: 'public', redirectUris: [], scopes: 'email', active: false },
      { clientId: noDeviceClientId, type: 'public', redirectUris: [], scopes: 'email', deviceFlow: false },
    ],
  })
})
after(() => server.close())

describe('POST /oauth/device/code', () => {
  test('response shape (§1.1)', async () => {
    const { json, userCode } = await requestDeviceCode(server)
    assert.deepEqual(Object.keys(json).sort(), [
      'device_code',
      'expires_in',
      'interval',
      'user_code',
      'verification_uri',
      'verification_uri_complete',
    ])
    assert.match(str(json, 'device_code'), /^[0-9a-f]{40}$/)
    assert.match(userCode, /^[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{4}-[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{4}$/)
    assert.equal(json.verification_uri, `${server.url}/device`)
    assert.equal(json.verification_uri_complete, `${server.url}/device?user_code=${userCode}`)
    assert.equal(json.expires_in, 1800)
    assert.equal(json.interval, 5)
  })

  const errors = [
    { name: 'unknown client', clientId: () => randomUUID(), error: 'invalid_client', description: 'Unknown client_id' },
    {
      name: 'inactive client',
      clientId: () => inactiveClientId,
      error: 'invalid_client',
      description: 'Client is inactive',
    },
    {
      name: 'device flow disabled',
      clientId: () => noDeviceClientId,
      error: 'unauthorized_client',
      description: 'Device authorization flow is not enabled for this client',
    },
  ]
  for (const c of errors) {
    test(`400 ${c.error}: ${c.name}`, async () => {
      const res = await postForm(`${server.url}/oauth/device/code`, { client_id: c.clientId() })
      assert.equal(res.status, 400)
      assert.deepEqual(res.json, { error: c.error, error_description: c.description })
    })
  }
})

describe('§8.2 device-code grant state machine', () => {
  test('pending (never slow_down) → approved → tokens → code deleted', async () => {
    const { deviceCode, userCode } = await requestDeviceCode(server)
    for (let i = 0; i < 5; i += 1) {
      const pending = await pollDeviceToken(server, deviceCode)
      assert.equal(pending.status, 400)
      assert.equal(pending.text, '{"error":"authorization_pending"}')
    }
    server.approveDevice(userCode)
    const ok = await pollDeviceToken(server, deviceCode)
    assert.equal(ok.status, 200, ok.text)
    assert.deepEqual(Object.keys(ok.json).sort(), [
      'access_token',
      'expires_in',
      'refresh_token',
      'scope',
      'token_type',
    ])
    assert.equal(ok.json.token_type, 'Bearer')
    assert.equal(ok.json.scope, 'email profile')
    assert.equal(ok.json.expires_in, 36000)
    const again = await pollDeviceToken(server, deviceCode)
    assert.equal(again.status, 400)
    assert.equal(again.text, '{"error":"access_denied"}')
  })

  test('expired_token once, then access_denied (record deleted)', async () => {
    const { deviceCode } = await requestDeviceCode(server)
    clock.advance(1799_000)
    assert.equal((await pollDeviceToken(server, deviceCode)).json.error, 'authorization_pending')
    clock.advance(1_000)
    const expired = await pollDeviceToken(server, deviceCode)
    assert.equal(expired.status, 400)
    assert.equal(expired.text, '{"error":"expired_token"}')
    const after = await pollDeviceToken(server, deviceCode)
    assert.equal(after.text, '{"error":"access_denied"}')
  })

  const denied = [
    { name: 'unknown 40-hex code', code: () => 'a'.repeat(40) },
    { name: 'upper-case hex', code: () => 'A'.repeat(40) },
    { name: '39 chars', code: () => 'a'.repeat(39) },
  ]
  for (const c of denied) {
    test(`access_denied: ${c.name}`, async () => {
      const res = await pollDeviceToken(server, c.code())
      assert.equal(res.status, 400)
      assert.deepEqual(res.json, { error: 'access_denied' })
    })
  }

  test('another client_id → access_denied, the record survives for its own client', async () => {
    const { deviceCode } = await requestDeviceCode(server)
    assert.deepEqual((await pollDeviceToken(server, deviceCode, noDeviceClientId)).json, { error: 'access_denied' })
    assert.deepEqual((await pollDeviceToken(server, deviceCode)).json, { error: 'authorization_pending' })
  })

  test('missing device_code or client_id → invalid_request', async () => {
    const res = await postForm(`${server.url}/oauth/token`, {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: 'a'.repeat(40),
    })
    assert.equal(res.status, 400)
    assert.deepEqual(res.json, {
      error: 'invalid_request',
      error_description: 'device_code and client_id are required',
    })
  })

  test('scope is not validated and is copied into the tokens', async () => {
    const { deviceCode, userCode } = await requestDeviceCode(server, server.publicClientId, 'read write anything')
    server.approveDevice(userCode)
    const res = await pollDeviceToken(server, deviceCode)
    assert.equal(res.json.scope, 'read write anything')
    assert.equal(decodeJwt(str(res.json, 'access_token')).payload.scope, 'read write anything')
  })

  test('access and refresh tokens are HS256 JWTs with the §2.1 claims', async () => {
    const { deviceCode, userCode } = await requestDeviceCode(server)
    server.approveDevice(userCode, 'bob')
    const res = await pollDeviceToken(server, deviceCode)
    const access = decodeJwt(str(res.json, 'access_token'))
    const refresh = decodeJwt(str(res.json, 'refresh_token'))
    assert.deepEqual(access.header, { alg: 'HS256', typ: 'JWT' })
    const iat = Math.floor(clock.now() / 1000)
    assert.equal(access.payload.type, 'access')
    assert.equal(refresh.payload.type, 'refresh')
    for (const p of [access.payload, refresh.payload]) {
      assert.equal(p.client_id, server.publicClientId)
      assert.equal(p.iss, server.url)
      assert.equal(p.extra_uid, 'bob')
      assert.equal(p.sub, p.user_id)
      assert.equal(p.scope, 'email profile')
      assert.equal(p.iat, iat)
      assert.match(String(p.jti), /^[0-9a-f-]{36}$/)
    }
    assert.notEqual(access.payload.jti, refresh.payload.jti)
    assert.equal(access.payload.exp, iat + 36000)
    assert.equal(refresh.payload.exp, iat + 30 * 24 * 3600)
  })
})

describe('device approval (§1.4)', () => {
  test('approveDevice approves as the named user', async () => {
    const { deviceCode, userCode } = await requestDeviceCode(server)
    server.approveDevice(userCode, 'bob')
    const res = await pollDeviceToken(server, deviceCode)
    assert.equal(res.status, 200, res.text)
    assert.equal(decodeJwt(str(res.json, 'access_token')).payload.extra_uid, 'bob')
  })

  test('user code matching ignores case and dashes; a second approval is refused', async () => {
    const { deviceCode, userCode } = await requestDeviceCode(server)
    server.approveDevice(userCode.replace('-', '').toLowerCase())
    assert.throws(() => server.approveDevice(userCode), /already been authorized/)
    assert.equal((await pollDeviceToken(server, deviceCode)).status, 200)
  })

  test('an unknown user leaves the code pending', async () => {
    const { deviceCode, userCode } = await requestDeviceCode(server)
    assert.throws(() => server.approveDevice(userCode, 'mallory'), /no user mallory/)
    assert.equal((await pollDeviceToken(server, deviceCode)).json.error, 'authorization_pending')
  })

  test('approveDevice refuses unknown and expired codes', async () => {
    assert.throws(() => server.approveDevice('ZZZZ-ZZZZ'), /unknown code/)
    const { userCode } = await requestDeviceCode(server)
    clock.advance(1800_000)
    assert.throws(() => server.approveDevice(userCode), /expired/)
  })
})
