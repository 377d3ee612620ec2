import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from './index.ts'
import { deviceLogin, postForm, refresh, request, str } from './test-http.ts'

/** The switches that make the double behave like other servers and proxies (issue 14); all off by default. */

const CLIENT = { clientId: 'quirky', redirect: 'http://localhost:9100/cb' }
let server: AuthGateTestServer

before(async () => {
  server = await startAuthGateServer({
    tokenRateLimitPerMinute: 0,
    clients: [{ clientId: CLIENT.clientId, type: 'public', redirectUris: [CLIENT.redirect], scopes: 'openid email' }],
  })
})
after(() => server.close())

describe('ServerQuirks', () => {
  test('requireNonce: openid without a nonce is redirected back with invalid_request; with one, or without openid, a code', async () => {
    const authorize = async (extra: Record<string, string>) => {
      const res = await request(
        `${server.url}/oauth/authorize?${new URLSearchParams({
          response_type: 'code',
          client_id: CLIENT.clientId,
          redirect_uri: CLIENT.redirect,
          code_challenge: 'c'.repeat(43),
          code_challenge_method: 'S256',
          state: 'st',
          ...extra,
        })}`,
      )
      assert.equal(res.status, 302, res.text)
      return new URL(res.headers.get('location') ?? '')
    }
    const hasCode = async (extra: Record<string, string>) => (await authorize(extra)).searchParams.has('code')
    server.quirks.requireNonce = true
    const refused = await authorize({ scope: 'openid email' })
    assert.deepEqual(Object.fromEntries(refused.searchParams), {
      error: 'invalid_request',
      error_description: 'nonce required',
      state: 'st',
    })
    assert.equal(await hasCode({ scope: 'openid email', nonce: 'n' }), true)
    assert.equal(await hasCode({ scope: 'email' }), true)
    server.quirks.requireNonce = false
    assert.equal(await hasCode({ scope: 'openid email' }), true, 'off again: AuthGate takes no nonce')
  })

  test('refreshRejection: an invalid_grant comes back as the raw answer; a good refresh is untouched', async () => {
    const tokens = await deviceLogin(server)
    server.quirks.refreshRejection = { status: 400, contentType: 'text/html', body: '<html>bad</html>' }
    try {
      const dead = await refresh(server, 'not-a-refresh-token')
      assert.deepEqual(
        [dead.status, dead.headers.get('content-type'), dead.text],
        [400, 'text/html', '<html>bad</html>'],
      )
      server.quirks.refreshRejection = { status: 400, body: '' }
      const empty = await refresh(server, 'not-a-refresh-token')
      assert.deepEqual([empty.status, empty.headers.get('content-type'), empty.text], [400, null, ''])
      assert.equal((await refresh(server, str(tokens, 'refresh_token'))).status, 200)
    } finally {
      delete server.quirks.refreshRejection
    }
  })

  test('tokenEndpoint and revocation: every request gets the raw answer, and is still counted', async () => {
    const tokens = await deviceLogin(server)
    const before = server.stats.refreshGrants
    server.quirks.tokenEndpoint = { status: 503, contentType: 'text/plain', body: 'upstream down' }
    server.quirks.revocation = { status: 401, contentType: 'text/plain', body: 'client authentication required' }
    try {
      const down = await refresh(server, str(tokens, 'refresh_token'))
      assert.deepEqual([down.status, down.text], [503, 'upstream down'])
      assert.equal(server.stats.refreshGrants, before + 1)
      const revoked = await postForm(`${server.url}/oauth/revoke`, { token: str(tokens, 'access_token') })
      assert.deepEqual([revoked.status, revoked.text], [401, 'client authentication required'])
      assert.ok(server.isTokenActive(str(tokens, 'access_token')), 'a refused revocation revoked nothing')
    } finally {
      delete server.quirks.tokenEndpoint
      delete server.quirks.revocation
    }
  })
})
