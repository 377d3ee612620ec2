import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { startAuthGateServer, type AuthGateServerOptions, type AuthGateTestServer } from './index.ts'
import { deviceLogin, fakeClock, pollDeviceToken, postForm, refresh, request, str } from './test-http.ts'

/** Checklist §8 item 10: 429 shape and headers, fixed per-IP window, one /oauth/token bucket for all grants. */

const servers: AuthGateTestServer[] = []
after(() => Promise.all(servers.map((s) => s.close())))

async function start(opts: AuthGateServerOptions = {}): Promise<AuthGateTestServer> {
  const server = await startAuthGateServer(opts)
  servers.push(server)
  return server
}

const TOO_MANY = '{"error":"rate_limit_exceeded","error_description":"Too many requests. Please try again later."}'

describe('§8.10 rate limits', () => {
  test('/oauth/token: 20 per minute per IP shared by all grants, then 429 without Retry-After', async () => {
    const clock = fakeClock()
    const server = await start({ now: clock.now })
    const tokens = await deviceLogin(server) // 1 token request
    const resetS = String(Math.floor(clock.now() / 1000) + 60)
    const grants = [
      () => refresh(server, str(tokens, 'refresh_token')),
      () => pollDeviceToken(server, 'a'.repeat(40)),
      () => postForm(`${server.url}/oauth/token`, { grant_type: 'authorization_code' }),
      () => postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }),
    ]
    for (let i = 2; i <= 20; i += 1) {
      const res = await grants[i % grants.length]!()
      assert.notEqual(res.status, 429, `request ${i}`)
      assert.equal(res.headers.get('x-ratelimit-limit'), '20')
      assert.equal(res.headers.get('x-ratelimit-remaining'), String(20 - i))
      assert.equal(res.headers.get('x-ratelimit-reset'), resetS)
    }
    const limited = await refresh(server, str(tokens, 'refresh_token'))
    assert.equal(limited.status, 429)
    assert.equal(limited.text, TOO_MANY)
    assert.equal(limited.headers.get('content-type'), 'application/json; charset=utf-8')
    assert.equal(limited.headers.get('retry-after'), null)
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0')
    assert.equal(server.stats.tokenRequests, 21)
    assert.equal(server.stats.refreshGrants, 5, 'the rejected refresh never reached the grant')
  })

  test('the key is the client IP (X-Forwarded-For trusted, as gin does by default)', async () => {
    const server = await start({ tokenRateLimitPerMinute: 2 })
    const call = (ip: string) => postForm(`${server.url}/oauth/token`, {}, { 'X-Forwarded-For': ip })
    assert.equal((await call('10.0.0.1')).status, 400)
    assert.equal((await call('10.0.0.1')).status, 400)
    assert.equal((await call('10.0.0.1')).status, 429)
    const other = await call('10.0.0.2')
    assert.equal(other.status, 400)
    assert.equal(other.headers.get('x-ratelimit-remaining'), '1')
  })

  test('fixed window: a new minute starts a new count', async () => {
    const clock = fakeClock()
    const server = await start({ now: clock.now, tokenRateLimitPerMinute: 1 })
    const call = () => postForm(`${server.url}/oauth/token`, {})
    assert.equal((await call()).status, 400)
    clock.advance(59_999)
    assert.equal((await call()).status, 429)
    clock.advance(1)
    const fresh = await call()
    assert.equal(fresh.status, 400)
    assert.equal(fresh.headers.get('x-ratelimit-reset'), String(Math.floor(clock.now() / 1000) + 60))
  })

  test('/oauth/device/code: 10 per minute, separate from the token bucket', async () => {
    const server = await start()
    for (let i = 1; i <= 10; i += 1) {
      const res = await postForm(`${server.url}/oauth/device/code`, { client_id: server.publicClientId })
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('x-ratelimit-limit'), '10')
    }
    const limited = await postForm(`${server.url}/oauth/device/code`, { client_id: server.publicClientId })
    assert.equal(limited.status, 429)
    assert.equal(limited.text, TOO_MANY)
    const token = await postForm(`${server.url}/oauth/token`, {})
    assert.equal(token.headers.get('x-ratelimit-remaining'), '19')
  })

  test('0 disables a limiter entirely: no headers, no 429', async () => {
    const server = await start({ tokenRateLimitPerMinute: 0 })
    for (let i = 0; i < 25; i += 1) {
      const res = await postForm(`${server.url}/oauth/token`, {})
      assert.equal(res.status, 400)
      assert.equal(res.headers.get('x-ratelimit-limit'), null)
    }
  })

  test('unlimited routes carry no X-RateLimit headers', async () => {
    const server = await start()
    for (const path of ['/oauth/tokeninfo', '/.well-known/openid-configuration', '/health']) {
      const res = await request(`${server.url}${path}`)
      assert.equal(res.headers.get('x-ratelimit-limit'), null, path)
    }
    const revoke = await postForm(`${server.url}/oauth/revoke`, { token: 'x' })
    assert.equal(revoke.headers.get('x-ratelimit-limit'), null)
  })
})
