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

test('buildAuthorizationUrl: a fresh nonce with openid in the scope, none without (issue 14)', async () => {
  const { ctx } = contextFor(json({}))
  const build = (scope: string) => buildAuthorizationUrl(ctx, AS, { redirectUri: 'http://localhost:1/callback', scope })
  const [a, b, plain] = [await build('openid email'), await build('email  openid'), await build('email profile')]
  assert.equal(new URL(a.url).searchParams.get('nonce'), a.nonce)
  assert.ok(a.nonce && a.nonce.length >= 32, 'the nonce is long enough to be unguessable')
  assert.ok(b.nonce && b.nonce !== a.nonce, 'each request gets a nonce of its own')
  assert.equal(new URL(plain.url).searchParams.has('nonce'), false)
  assert.equal(plain.nonce, undefined)
})

/** An ID token as a server would issue it; oauth4webapi checks its claims (not its signature) in the token answer. */
function idToken(claims: Record<string, unknown>): string {
  const nowSeconds = Math.floor(Date.now() / 1000)
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const body = { iss: AS.issuer, aud: 'cli', sub: 'alice', iat: nowSeconds, exp: nowSeconds + 600, ...claims }
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(body)}.${Buffer.from('sig').toString('base64url')}`
}

const nonceCases: Array<{ name: string; nonceInToken: string | undefined; want: 'ok' | RegExp }> = [
  { name: 'the ID token carries the nonce back: accepted', nonceInToken: 'N-sent', want: 'ok' },
  { name: 'another nonce: refused', nonceInToken: 'N-other', want: /nonce/ },
  { name: 'no nonce in the ID token: refused', nonceInToken: undefined, want: /nonce/ },
]

for (const c of nonceCases) {
  test(`exchangeAuthorizationCode with a nonce: ${c.name}`, async () => {
    const id = idToken(c.nonceInToken === undefined ? {} : { nonce: c.nonceInToken })
    const { ctx } = contextFor(json({ access_token: 'at', token_type: 'Bearer', expires_in: 60, id_token: id }))
    const request = { url: 'x', state: 'ST', codeVerifier: 'V', redirectUri: 'http://l/cb', nonce: 'N-sent' }
    const run = exchangeAuthorizationCode(ctx, AS, new URLSearchParams('code=c&state=ST'), request)
    if (c.want === 'ok') assert.equal((await run).idToken, id)
    else await assert.rejects(run, c.want)
  })
}

test('exchangeAuthorizationCode with a nonce: an answer without an ID token is refused', async () => {
  const { ctx } = contextFor(json({ access_token: 'at', token_type: 'Bearer', expires_in: 60 }))
  const request = { url: 'x', state: 'ST', codeVerifier: 'V', redirectUri: 'http://l/cb', nonce: 'N-sent' }
  await assert.rejects(exchangeAuthorizationCode(ctx, AS, new URLSearchParams('code=c&state=ST'), request), /id_token/)
})
