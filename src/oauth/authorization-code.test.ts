import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { AS, contextFor, json } from '../../test/support/fake-oauth-context.ts'
import { buildAuthorizationUrl, exchangeAuthorizationCode } from './authorization-code.ts'
import type { OAuthContext } from './context.ts'

test('buildAuthorizationUrl: code flow with PKCE S256, a fresh state and the redirect URI verbatim', async () => {
  const { ctx } = contextFor(json({}))
  const a = await buildAuthorizationUrl(ctx, AS, {
    redirectUri: 'http://localhost:8888/callback',
    scope: 'email profile',
  })
  const b = await buildAuthorizationUrl(ctx, AS, {
    redirectUri: 'http://localhost:8888/callback',
    scope: 'email profile',
  })
  const q = new URL(a.url).searchParams
  assert.equal(a.url.split('?')[0], AS.authorization_endpoint)
  assert.deepEqual(Object.fromEntries([...q].filter(([k]) => !['state', 'code_challenge'].includes(k))), {
    response_type: 'code',
    client_id: 'cli',
    redirect_uri: 'http://localhost:8888/callback',
    scope: 'email profile',
    code_challenge_method: 'S256',
  })
  assert.equal(q.get('state'), a.state)
  assert.equal(q.get('code_challenge'), createHash('sha256').update(a.codeVerifier).digest('base64url'))
  assert.ok(a.state.length >= 32 && a.codeVerifier.length >= 43)
  assert.notEqual(a.state, b.state)
  assert.notEqual(a.codeVerifier, b.codeVerifier)
})

const exchangeCases: Array<{
  name: string
  over: Partial<OAuthContext>
  callback: string
  want: Record<string, string | null> | RegExp
}> = [
  {
    name: 'public client: code, redirect_uri, verifier, client_id',
    over: {},
    callback: 'code=c0de&state=ST',
    want: {
      grant_type: 'authorization_code',
      code: 'c0de',
      redirect_uri: 'http://localhost:8888/callback',
      code_verifier: 'V',
      client_id: 'cli',
      client_secret: null,
    },
  },
  {
    name: 'confidential, post: the secret in the form (AuthGate reads only the form)',
    over: { clientSecret: 's3cret' },
    callback: 'code=c0de&state=ST',
    want: { client_id: 'cli', client_secret: 's3cret', code_verifier: 'V' },
  },
  {
    name: 'confidential, basic: client_id still in the form',
    over: { clientSecret: 's3cret', clientAuth: 'basic' },
    callback: 'code=c0de&state=ST',
    want: { client_id: 'cli', client_secret: null },
  },
  {
    name: 'a different state is refused before any request',
    over: {},
    callback: 'code=c0de&state=OTHER',
    want: /state/,
  },
  {
    name: 'an iss from another server is refused (RFC 9207)',
    over: {},
    callback: 'code=c0de&state=ST&iss=https%3A%2F%2Fevil.test',
    want: /iss/,
  },
]

for (const c of exchangeCases) {
  test(`exchangeAuthorizationCode: ${c.name}`, async () => {
    const { ctx, sent } = contextFor(
      json({ access_token: 'at', token_type: 'Bearer', refresh_token: 'rt', expires_in: 60 }),
      c.over,
    )
    const request = {
      url: 'https://as.test/oauth/authorize?…',
      state: 'ST',
      codeVerifier: 'V',
      redirectUri: 'http://localhost:8888/callback',
    }
    const run = exchangeAuthorizationCode(ctx, AS, new URLSearchParams(c.callback), request)
    if (c.want instanceof RegExp) {
      await assert.rejects(run, c.want)
      return assert.equal(sent.length, 0)
    }
    assert.deepEqual(await run, {
      accessToken: 'at',
      tokenType: 'Bearer',
      refreshToken: 'rt',
      expiresInSeconds: 60,
      scope: undefined,
      idToken: undefined,
    })
    assert.equal(sent.length, 1)
    for (const [name, value] of Object.entries(c.want)) assert.equal(sent[0]!.form.get(name), value, name)
  })
}
