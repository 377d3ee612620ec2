import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AuthgateError, AuthRequiredError, ProtocolError, RequestFailedError, TemporaryError } from '../errors.ts'
import { contextFor } from '../../test/support/fake-oauth-context.ts'
import { createProtocol } from './protocol.ts'

/**
 * The error funnel on hand-built answers (issue 14): every failure names the endpoint, the HTTP status and the OAuth
 * error or the start of the body; a refresh grant answered 400/401 without a usable JSON error is the server
 * rejecting the refresh token (exit 4), while 5xx and 429 stay temporary (exit 5).
 */

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
}

function answer(status: number, body: string, headers: Record<string, string> = {}): () => Response {
  return () => new Response(body === '' ? null : body, { status, statusText: STATUS_TEXT[status], headers })
}

const JSON_TYPE = { 'content-type': 'application/json' }
const TOKEN = 'token endpoint https://as\\.test/oauth/token'
const LONG = `<html><head><title>400</title></head><body>${'x'.repeat(300)}</body></html>`

const cases: Array<{
  name: string
  reply: () => Response
  want: { type: new (...a: never[]) => AuthgateError; exitCode: number; message: RegExp }
}> = [
  {
    name: '400, empty body',
    reply: answer(400, ''),
    want: {
      type: AuthRequiredError,
      exitCode: 4,
      message: RegExp(`^the server rejected the refresh token: ${TOKEN} answered 400 Bad Request with an empty body$`),
    },
  },
  {
    name: '400, empty body labelled JSON',
    reply: answer(400, '', JSON_TYPE),
    want: { type: AuthRequiredError, exitCode: 4, message: /answered 400 Bad Request with an empty body$/ },
  },
  {
    name: '400, HTML',
    reply: answer(400, '<html>\n<body>Bad Request</body></html>', { 'content-type': 'text/html' }),
    want: {
      type: AuthRequiredError,
      exitCode: 4,
      message: RegExp(`${TOKEN} answered 400 Bad Request: <html> <body>Bad Request</body></html>$`),
    },
  },
  {
    name: '401, text/plain',
    reply: answer(401, 'refresh token revoked', { 'content-type': 'text/plain' }),
    want: { type: AuthRequiredError, exitCode: 4, message: /answered 401 Unauthorized: refresh token revoked$/ },
  },
  {
    name: '401 with a Basic challenge and no body',
    reply: answer(401, '', { 'www-authenticate': 'Basic realm="token"' }),
    want: { type: AuthRequiredError, exitCode: 4, message: /answered 401 Unauthorized with an empty body$/ },
  },
  {
    name: '400 invalid_grant (RFC 6749 §5.2)',
    reply: answer(
      400,
      '{"error":"invalid_grant","error_description":"Refresh token is invalid or expired"}',
      JSON_TYPE,
    ),
    want: {
      type: AuthRequiredError,
      exitCode: 4,
      message: /answered 400 Bad Request: invalid_grant \(Refresh token is invalid or expired\)$/,
    },
  },
  {
    name: 'a long body is quoted to its first 200 bytes',
    reply: answer(400, LONG, { 'content-type': 'text/html' }),
    want: {
      type: AuthRequiredError,
      exitCode: 4,
      message: RegExp(`: ${LONG.slice(0, 200).replace(/[()]/g, '\\$&')}…$`),
    },
  },
  {
    name: '400 invalid_scope: another refusal, the token is kept',
    reply: answer(400, '{"error":"invalid_scope"}', JSON_TYPE),
    want: {
      type: RequestFailedError,
      exitCode: 1,
      message: RegExp(`^refresh failed: ${TOKEN} answered 400 Bad Request: invalid_scope$`),
    },
  },
  {
    name: '401 invalid_client with a challenge: the client, not the token',
    reply: answer(401, '{"error":"invalid_client"}', { ...JSON_TYPE, 'www-authenticate': 'Basic realm="token"' }),
    want: { type: RequestFailedError, exitCode: 1, message: /answered 401 Unauthorized: invalid_client$/ },
  },
  {
    name: '403 HTML: not a refresh-token answer',
    reply: answer(403, 'Forbidden by proxy', { 'content-type': 'text/html' }),
    want: { type: RequestFailedError, exitCode: 1, message: /answered 403 Forbidden: Forbidden by proxy$/ },
  },
  {
    name: '503 HTML after the retries: temporary',
    reply: answer(503, '<h1>maintenance</h1>', { 'content-type': 'text/html' }),
    want: {
      type: TemporaryError,
      exitCode: 5,
      message: RegExp(`^${TOKEN} answered 503 Service Unavailable: <h1>maintenance</h1> \\(after 3 retries\\)$`),
    },
  },
  {
    name: '429 without a body after the retries: temporary',
    reply: answer(429, ''),
    want: {
      type: TemporaryError,
      exitCode: 5,
      message: /answered 429 Too Many Requests with an empty body \(after 3 retries\)$/,
    },
  },
  {
    name: '200 that is not JSON: an answer authgate cannot accept',
    reply: answer(200, '<html>ok</html>', { 'content-type': 'text/html' }),
    want: {
      type: ProtocolError,
      exitCode: 1,
      message: RegExp(
        `^refresh failed: ${TOKEN} answered 200 OK, which authgate cannot accept \\(.*application/json.*\\)$`,
      ),
    },
  },
]

/** Discovery finds no document (AuthGate's fixed paths); every other request gets the case's answer. */
function protocolAnswering(reply: () => Response) {
  const { ctx, sent } = contextFor(() => (sent.at(-1)!.url.includes('/.well-known/') ? answer(404, 'no')() : reply()))
  return { protocol: createProtocol(ctx), sent }
}

for (const c of cases) {
  test(`refresh answered ${c.name}`, async () => {
    const { protocol } = protocolAnswering(c.reply)
    const err = await protocol.refresh('RT').then(
      () => assert.fail('the refresh succeeded'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof c.want.type, `${String(err)} is not a ${c.want.type.name}`)
    assert.equal(err.exitCode, c.want.exitCode)
    assert.match(err.message, c.want.message)
  })
}

test('a rejected refresh token tells the person to sign in again', async () => {
  const err: unknown = await protocolAnswering(answer(400, ''))
    .protocol.refresh('RT')
    .catch((e: unknown) => e)
  assert.ok(err instanceof AuthRequiredError)
  assert.equal(err.hint, 'run `authgate login`')
})

test('revocation answered 401 text/plain: a RequestFailedError naming the endpoint, the status and the body', async () => {
  const { protocol } = protocolAnswering(
    answer(401, 'client authentication required', { 'content-type': 'text/plain' }),
  )
  await assert.rejects(protocol.revoke('RT', 'refresh_token'), (err: unknown) => {
    assert.ok(err instanceof RequestFailedError)
    assert.equal(err.status, 401)
    assert.equal(
      err.message,
      'revocation failed: revocation endpoint https://as.test/oauth/revoke answered 401 Unauthorized: client authentication required',
    )
    return true
  })
})
