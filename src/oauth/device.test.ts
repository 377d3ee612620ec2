import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProtocolError } from '../errors.ts'
import { AS, contextFor, json } from '../../test/support/fake-oauth-context.ts'
import type { OAuthContext } from './context.ts'
import { pollDeviceToken, requestDeviceAuthorization } from './device.ts'

const AUTHGATE_DEVICE = {
  device_code: 'a'.repeat(40),
  user_code: 'WXYZ-2345',
  verification_uri: 'https://as.test/device',
  verification_uri_complete: 'https://as.test/device?user_code=WXYZ-2345',
  expires_in: 1800,
  interval: 5,
}

const deviceCases: Array<{ name: string; body: Record<string, unknown>; want: Record<string, unknown> | RegExp }> = [
  {
    name: 'AuthGate: everything, verbatim',
    body: AUTHGATE_DEVICE,
    want: {
      deviceCode: 'a'.repeat(40),
      userCode: 'WXYZ-2345',
      verificationUri: 'https://as.test/device',
      verificationUriComplete: 'https://as.test/device?user_code=WXYZ-2345',
      expiresInSeconds: 1800,
      intervalSeconds: 5,
    },
  },
  {
    name: 'oidc-provider: no interval → 5 s',
    body: { ...AUTHGATE_DEVICE, interval: undefined, verification_uri_complete: undefined },
    want: { verificationUriComplete: undefined, intervalSeconds: 5 },
  },
  {
    name: 'a sub-second interval is raised to 1 s',
    body: { ...AUTHGATE_DEVICE, interval: 0.2 },
    want: { intervalSeconds: 1 },
  },
  {
    name: 'user code is kept exactly (lower case, spaces)',
    body: { ...AUTHGATE_DEVICE, user_code: 'abc 123' },
    want: { userCode: 'abc 123' },
  },
  {
    name: 'an escape sequence in the user code',
    body: { ...AUTHGATE_DEVICE, user_code: 'AB\u001b[2JCD' },
    want: /control characters/,
  },
  {
    name: 'a bidi override in the verification URI',
    body: { ...AUTHGATE_DEVICE, verification_uri: 'https://as.test/\u202edevice' },
    want: /control characters/,
  },
  {
    name: 'a javascript: verification URI',
    body: { ...AUTHGATE_DEVICE, verification_uri: 'javascript:alert(1)' },
    want: /not an http\(s\) URL/,
  },
  {
    name: 'a relative verification_uri_complete',
    body: { ...AUTHGATE_DEVICE, verification_uri_complete: '/device' },
    want: /not an http\(s\) URL/,
  },
  { name: 'an already expired code', body: { ...AUTHGATE_DEVICE, expires_in: 0 }, want: /already expired/ },
  {
    name: 'an absurdly long user code',
    body: { ...AUTHGATE_DEVICE, user_code: 'A'.repeat(65) },
    want: /unusable user_code/,
  },
]

for (const c of deviceCases) {
  test(`requestDeviceAuthorization: ${c.name}`, async () => {
    const { ctx } = contextFor(json(c.body))
    const run = requestDeviceAuthorization(ctx, AS, 'email profile')
    if (c.want instanceof RegExp)
      return void (await assert.rejects(
        run,
        (err) => err instanceof ProtocolError && (c.want as RegExp).test(err.message),
      ))
    const got = await run
    for (const [key, value] of Object.entries(c.want)) assert.deepEqual(got[key as keyof typeof got], value, key)
  })
}

const authCases: Array<{
  name: string
  over: Partial<OAuthContext>
  want: { form: Record<string, string | null>; basic: boolean }
}> = [
  {
    name: 'public client: client_id in the form',
    over: {},
    want: { form: { client_id: 'cli', client_secret: null }, basic: false },
  },
  {
    name: 'confidential, post (default): secret in the form',
    over: { clientSecret: 's3cret' },
    want: { form: { client_id: 'cli', client_secret: 's3cret' }, basic: false },
  },
  {
    name: 'confidential, basic: secret in the header, client_id still in the form',
    over: { clientSecret: 's3cret', clientAuth: 'basic' },
    want: { form: { client_id: 'cli', client_secret: null }, basic: true },
  },
]

for (const c of authCases) {
  test(`device authorization and polling authenticate the client: ${c.name}`, async () => {
    const { ctx, sent } = contextFor(json(AUTHGATE_DEVICE), c.over)
    await requestDeviceAuthorization(ctx, AS, 'email profile')
    const tokens = contextFor(json({ access_token: 'at', token_type: 'Bearer', expires_in: 60 }), c.over)
    await pollDeviceToken(tokens.ctx, AS, 'dc')
    for (const s of [sent[0]!, tokens.sent[0]!]) {
      for (const [name, value] of Object.entries(c.want.form)) assert.equal(s.form.get(name), value, name)
      assert.equal(s.headers.get('authorization')?.startsWith('Basic ') ?? false, c.want.basic)
    }
    assert.equal(sent[0]!.url, AS.device_authorization_endpoint)
    assert.equal(sent[0]!.form.get('scope'), 'email profile')
    assert.equal(tokens.sent[0]!.form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:device_code')
    assert.equal(tokens.sent[0]!.form.get('device_code'), 'dc')
  })
}
