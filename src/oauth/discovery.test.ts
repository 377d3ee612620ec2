import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProtocolError } from '../errors.ts'
import { contextFor, json } from '../../test/support/fake-oauth-context.ts'
import { discoverServer } from './discovery.ts'

/** A discovery document for `issuer`, with `endpoints` over AuthGate's token endpoint. */
const doc = (issuer: string, endpoints: Record<string, string> = {}) =>
  json({ issuer, token_endpoint: `${issuer.replace(/\/+$/, '')}/oauth/token`, ...endpoints })

test('an https server whose document lists a plain http endpoint on its own host is refused: no downgrade', async () => {
  const { ctx } = contextFor(doc('https://as.test', { revocation_endpoint: 'http://as.test/oauth/revoke' }))
  await assert.rejects(discoverServer(ctx), (err: Error) => {
    assert.ok(err instanceof ProtocolError)
    assert.match(err.message, /plain http revocation_endpoint for an https server: http:\/\/as\.test\/oauth\/revoke/)
    return true
  })
})

test('a plain http server (allowed by the settings) may list plain http endpoints on its own host', async () => {
  const { ctx } = contextFor(doc('http://as.test', { revocation_endpoint: 'http://as.test/oauth/revoke' }), {
    serverUrl: 'http://as.test',
  })
  const as = await discoverServer(ctx)
  assert.equal(as.revocation_endpoint, 'http://as.test/oauth/revoke')
})

test('the issuer equals the server URL after the session-key normalisation (contract): case, slash, default port', async () => {
  for (const issuer of ['https://AS.test/', 'https://as.test:443', 'HTTPS://as.test']) {
    const { ctx } = contextFor(doc(issuer))
    const as = await discoverServer(ctx)
    assert.equal(as.discovered, true, issuer)
  }
  const { ctx } = contextFor(doc('https://as.test/other'))
  await assert.rejects(discoverServer(ctx), /names the issuer "https:\/\/as\.test\/other"/)
})
