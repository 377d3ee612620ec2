import assert from 'node:assert/strict'
import { createHash, randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from './index.ts'
import { basic, decodeJwt, fakeClock, pkcePair, postForm, request, str, type HttpResult } from './test-http.ts'

/** Authorization code + PKCE (§1.2b, §1.3, §4) for a browser signed in as admin whose consent is remembered. */

const CALLBACK = 'http://localhost:8888/callback'
const clock = fakeClock()
const conf = { clientId: randomUUID(), secret: 'conf-secret', redirect: 'http://localhost:9000/cb' }
const queryClient = { clientId: randomUUID(), redirect: 'http://localhost:9999/cb?z=1&a=b+c' }
let server: AuthGateTestServer

before(async () => {
  server = await startAuthGateServer({
    now: clock.now,
    tokenRateLimitPerMinute: 0,
    clients: [
      {
        clientId: conf.clientId,
        clientSecret: conf.secret,
        type: 'confidential',
        redirectUris: [conf.redirect],
        scopes: 'openid email profile',
      },
      { clientId: queryClient.clientId, type: 'public', redirectUris: [queryClient.redirect], scopes: 'email' },
    ],
  })
})
after(() => server.close())

function authorizeUrl(params: Record<string, string>): string {
  return `${server.url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', ...params })}`
}

function publicParams(challenge: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    client_id: server.publicClientId,
    redirect_uri: CALLBACK,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st-1',
    ...extra,
  }
}

/** Nobody listens at the callbacks: the test reads the Location instead of following it. */
async function authorize(params: Record<string, string>): Promise<URL> {
  return callbackOf(await request(authorizeUrl(params)))
}

function callbackOf(res: HttpResult): URL {
  assert.equal(res.status, 302, res.text)
  const location = res.headers.get('location')
  assert.ok(location, 'expected a redirect to the callback')
  return new URL(location)
}

function exchange(fields: Record<string, string>, headers: Record<string, string> = {}) {
  return postForm(`${server.url}/oauth/token`, { grant_type: 'authorization_code', ...fields }, headers)
}

const invalidGrant = (description: string) => ({ error: 'invalid_grant', error_description: description })

describe('public client with PKCE S256', () => {
  test('not logged in (signedInAs: null) → 302 /login before any validation', async () => {
    const loggedOut = await startAuthGateServer({ signedInAs: null })
    try {
      const res = await request(`${loggedOut.url}/oauth/authorize?response_type=token`)
      assert.equal(res.status, 302)
      assert.equal(res.headers.get('location'), '/login?redirect=%2Foauth%2Fauthorize%3Fresponse_type%3Dtoken')
    } finally {
      await loggedOut.close()
    }
  })

  test('signed in with remembered consent → code (64 hex) + state → tokens; the code is single-use', async () => {
    const { verifier, challenge } = pkcePair()
    const callback = await authorize(publicParams(challenge))
    assert.equal(`${callback.origin}${callback.pathname}`, CALLBACK)
    const code = callback.searchParams.get('code') ?? ''
    assert.match(code, /^[0-9a-f]{64}$/)
    assert.equal(callback.searchParams.get('state'), 'st-1')
    const fields = { code, redirect_uri: CALLBACK, client_id: server.publicClientId, code_verifier: verifier }
    const res = await exchange(fields)
    assert.equal(res.status, 200, res.text)
    assert.deepEqual(Object.keys(res.json).sort(), [
      'access_token',
      'expires_in',
      'refresh_token',
      'scope',
      'token_type',
    ])
    assert.equal(res.json.scope, 'email profile')
    const reuse = await exchange(fields)
    assert.deepEqual(reuse.json, invalidGrant('Authorization code has already been used'))
    assert.equal(server.isTokenActive(str(res.json, 'access_token')), true, 'reuse revokes nothing')
  })

  test('the grant checks run in order', async () => {
    const { verifier, challenge } = pkcePair()
    const code = (await authorize(publicParams(challenge))).searchParams.get('code') ?? ''
    const base = { code, redirect_uri: CALLBACK, client_id: server.publicClientId, code_verifier: verifier }
    const cases = [
      { fields: { ...base, code: 'f'.repeat(64) }, want: invalidGrant('Authorization code is invalid or expired') },
      {
        fields: { ...base, client_id: queryClient.clientId },
        want: invalidGrant('Authorization code is invalid or expired'),
      },
      { fields: { ...base, redirect_uri: `${CALLBACK}/` }, want: invalidGrant('Redirect URI does not match') },
      { fields: { ...base, code_verifier: '' }, want: invalidGrant('PKCE code_verifier validation failed') },
      {
        fields: { ...base, code_verifier: pkcePair().verifier },
        want: invalidGrant('PKCE code_verifier validation failed'),
      },
    ]
    for (const c of cases) {
      const res = await exchange(c.fields)
      assert.equal(res.status, 400)
      assert.deepEqual(res.json, c.want, JSON.stringify(c.fields))
    }
    assert.equal((await exchange(base)).status, 200, 'failed attempts do not burn the code')
  })

  test('the code expires after 10 minutes', async () => {
    const { verifier, challenge } = pkcePair()
    const code = (await authorize(publicParams(challenge))).searchParams.get('code') ?? ''
    clock.advance(600_000)
    const res = await exchange({
      code,
      redirect_uri: CALLBACK,
      client_id: server.publicClientId,
      code_verifier: verifier,
    })
    assert.deepEqual(res.json, invalidGrant('Authorization code has expired'))
  })

  test('missing fields → invalid_request', async () => {
    const res = await exchange({ code: 'x', client_id: server.publicClientId })
    assert.deepEqual(res.json, {
      error: 'invalid_request',
      error_description: 'code, redirect_uri, and client_id are required',
    })
  })

  test('error → error with state; existing redirect query kept, keys sorted', async () => {
    const { challenge } = pkcePair()
    const params = {
      client_id: queryClient.clientId,
      redirect_uri: queryClient.redirect,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'a b',
    }
    const refused = await authorize({ ...params, scope: 'profile' })
    assert.equal(refused.searchParams.get('error'), 'invalid_scope')
    assert.equal(refused.searchParams.get('state'), 'a b')
    assert.match(refused.search, /^\?a=b\+c&error=invalid_scope&error_description=[^&]+&state=a\+b&z=1$/)
    const approved = await authorize(params)
    assert.match(approved.search, /^\?a=b\+c&code=[0-9a-f]{64}&state=a\+b&z=1$/)
  })
})

describe('/oauth/authorize validation errors', () => {
  const { challenge } = pkcePair()
  const cases: { name: string; params: Record<string, string>; error: string }[] = [
    { name: 'response_type=token', params: { response_type: 'token' }, error: 'unsupported_response_type' },
    { name: 'unknown client', params: { client_id: randomUUID() }, error: 'unauthorized_client' },
    { name: 'scope not registered', params: { scope: 'openid' }, error: 'invalid_scope' },
    { name: 'public client without PKCE', params: { code_challenge_method: '' }, error: 'invalid_request' },
    { name: 'PKCE plain', params: { code_challenge_method: 'plain' }, error: 'invalid_request' },
    { name: 'state over 1024 chars', params: { state: 'x'.repeat(1025) }, error: 'invalid_request' },
    {
      name: 'other loopback port (exact match only)',
      params: { redirect_uri: 'http://localhost:8889/callback' },
      error: 'invalid_request',
    },
  ]
  for (const c of cases) {
    test(`${c.error}: ${c.name} → redirect to the supplied redirect_uri`, async () => {
      const params = { ...publicParams(challenge), ...c.params }
      const callback = await authorize(params)
      assert.equal(`${callback.origin}${callback.pathname}`, params.redirect_uri)
      assert.equal(callback.searchParams.get('error'), c.error)
      assert.ok(callback.searchParams.get('error_description'))
      assert.equal(callback.searchParams.get('state'), params.state)
    })
  }

  test('missing redirect_uri → 400 HTML', async () => {
    const page = await request(authorizeUrl({ ...publicParams(challenge), redirect_uri: '' }))
    assert.equal(page.status, 400)
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
  })
})

describe('confidential client', () => {
  const params = (nonce: string) => ({
    client_id: conf.clientId,
    redirect_uri: conf.redirect,
    scope: 'openid email',
    state: 's',
    nonce,
  })

  test('secret from the form only; PKCE never verified; id_token with openid', async () => {
    const code =
      (
        await authorize({ ...params('n-1'), code_challenge: 'ignored', code_challenge_method: 'S256' })
      ).searchParams.get('code') ?? ''
    const base = { code, redirect_uri: conf.redirect, client_id: conf.clientId }
    const failures = [
      { fields: base, headers: basic(conf.clientId, conf.secret) },
      { fields: { ...base, client_secret: 'wrong' }, headers: {} },
    ]
    for (const f of failures) {
      const res = await exchange(f.fields, f.headers)
      assert.equal(res.status, 400)
      assert.deepEqual(res.json, { error: 'unauthorized_client', error_description: 'Client authentication failed' })
    }
    const res = await exchange({ ...base, client_secret: conf.secret, code_verifier: 'wrong-verifier' })
    assert.equal(res.status, 200, res.text)
    const id = decodeJwt(str(res.json, 'id_token')).payload
    assert.equal(id.aud, conf.clientId)
    assert.equal(id.nonce, 'n-1')
    assert.equal(id.iss, server.url)
    assert.equal(id.email, 'admin@localhost')
    const digest = createHash('sha256').update(str(res.json, 'access_token')).digest()
    assert.equal(id.at_hash, digest.subarray(0, 16).toString('base64url'))
  })
})

describe('signedInAs', () => {
  test('the code and its tokens belong to the user the browser is signed in as', async () => {
    const asBob = await startAuthGateServer({ users: [{ username: 'admin' }, { username: 'bob' }], signedInAs: 'bob' })
    try {
      const { verifier, challenge } = pkcePair()
      const url = `${asBob.url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', ...publicParams(challenge), client_id: asBob.publicClientId })}`
      const code = callbackOf(await request(url)).searchParams.get('code') ?? ''
      const fields = { code, redirect_uri: CALLBACK, client_id: asBob.publicClientId, code_verifier: verifier }
      const res = await postForm(`${asBob.url}/oauth/token`, { grant_type: 'authorization_code', ...fields })
      assert.equal(res.status, 200, res.text)
      assert.equal(decodeJwt(str(res.json, 'access_token')).payload.extra_uid, 'bob')
    } finally {
      await asBob.close()
    }
  })
})
