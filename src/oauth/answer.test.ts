import assert from 'node:assert/strict'
import { test } from 'node:test'
import { answerOf, describeAnswer, endpointOf, recordAnswer } from './answer.ts'

const bytes = (text: string) => new TextEncoder().encode(text)

function recorded(status: number, body: string, statusText = ''): string {
  const response = new Response(null, { status, statusText })
  recordAnswer(response, { endpoint: 'token endpoint', url: 'https://as.test/oauth/token?x=1' }, bytes(body))
  return describeAnswer(answerOf(response)!)
}

test('endpointOf: the name and the URL without its query, which may carry a token', () => {
  assert.equal(
    endpointOf('tokeninfo endpoint', 'https://as.test/oauth/tokeninfo?access_token=AT'),
    'tokeninfo endpoint https://as.test/oauth/tokeninfo',
  )
  assert.equal(endpointOf(undefined, 'https://as.test/x?y'), 'https://as.test/x')
})

test('describeAnswer: OAuth error, else the body head, else "empty"; a 2xx body is never quoted', () => {
  const cases: Array<[number, string, string]> = [
    [400, '{"error":"invalid_grant","error_description":"gone"}', ': invalid_grant (gone)'],
    [400, '{"error":"invalid_grant"}', ': invalid_grant'],
    [400, '{"error":""}', ': {"error":""}'],
    [401, 'nope\r\nreally', ': nope really'],
    [400, '', ' with an empty body'],
    [400, 'é'.repeat(150), `: ${'é'.repeat(100)}…`],
    [200, '{"access_token":"secret"}', ''],
  ]
  for (const [status, body, tail] of cases) {
    assert.equal(recorded(status, body, 'S'), `token endpoint https://as.test/oauth/token answered ${status} S${tail}`)
  }
})

test('answerOf: only Responses boundedFetch recorded', () => {
  assert.equal(answerOf(new Response('x')), undefined)
  assert.equal(answerOf({ status: 400 }), undefined)
})
