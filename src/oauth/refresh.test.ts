import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as oauth from 'oauth4webapi'
import { ProtocolError } from '../errors.ts'
import { AS, contextFor, json } from '../../test/support/fake-oauth-context.ts'
import { refreshTokens } from './refresh.ts'

const ANSWER = { access_token: 'AT2', token_type: 'Bearer', expires_in: 600, refresh_token: 'RT2', scope: 'email' }
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`

test('refresh grant: client authentication as --client-auth says, client_id always in the form (AuthGate reads it there)', async () => {
  const cases = [
    { name: 'public client', over: {}, form: { client_id: 'cli' }, noSecretInForm: true, authorization: null },
    {
      name: 'post',
      over: { clientSecret: 's3cret', clientAuth: 'post' as const },
      form: { client_id: 'cli', client_secret: 's3cret' },
      authorization: null,
    },
    {
      name: 'basic',
      over: { clientSecret: 's3cret', clientAuth: 'basic' as const },
      form: { client_id: 'cli' },
      noSecretInForm: true,
      authorization: basic('cli', 's3cret'),
    },
  ]
  for (const c of cases) {
    const { ctx, sent } = contextFor(json(ANSWER), c.over)
    const got = await refreshTokens(ctx, AS, 'RT1')
    assert.equal(got.refreshToken, 'RT2', c.name)
    const [req] = sent
    assert.equal(req!.url, AS.token_endpoint, c.name)
    assert.equal(req!.form.get('grant_type'), 'refresh_token', c.name)
    assert.equal(req!.form.get('refresh_token'), 'RT1', c.name)
    for (const [k, v] of Object.entries(c.form)) assert.equal(req!.form.get(k), v, `${c.name}: ${k}`)
    if (c.noSecretInForm) assert.equal(req!.form.get('client_secret'), null, c.name)
    assert.equal(req!.headers.get('authorization'), c.authorization, c.name)
  }
})

test('refresh grant: an OAuth error body surfaces as oauth4webapi ResponseBodyError, a MAC token refused (the session funnel maps both)', async () => {
  const refused = contextFor(
    json({ error: 'invalid_grant', error_description: 'Refresh token is invalid or expired' }, 400),
  )
  await assert.rejects(
    refreshTokens(refused.ctx, AS, 'RT1'),
    (e: unknown) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_grant',
  )
  const mac = contextFor(json({ ...ANSWER, token_type: 'mac' }))
  await assert.rejects(
    refreshTokens(mac.ctx, AS, 'RT1'),
    (e: unknown) => e instanceof oauth.UnsupportedOperationError || e instanceof ProtocolError,
  )
})
