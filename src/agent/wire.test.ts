import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatAnswer, formatRequest, parseAnswer, parseRequest } from './wire.ts'

const ok = { v: 1, op: 'token', server_url: 'https://a.example', client_id: 'cli' }
const requestCases: Array<{ name: string; line: string; want: unknown }> = [
  { name: 'minimal', line: JSON.stringify(ok), want: { serverUrl: 'https://a.example', clientId: 'cli' } },
  {
    name: 'api retry',
    line: JSON.stringify({ ...ok, force: true, rejected: 'AT' }),
    want: { serverUrl: 'https://a.example', clientId: 'cli', force: true, rejected: 'AT' },
  },
  { name: 'not JSON', line: '{', want: { error: 'request is not JSON', exit: 2 } },
  { name: 'null', line: 'null', want: { error: 'request is not a JSON object', exit: 2 } },
  { name: 'v 2', line: JSON.stringify({ ...ok, v: 2 }), want: (r: { exit?: number }) => r.exit === 2 },
  { name: 'v "1"', line: JSON.stringify({ ...ok, v: '1' }), want: (r: { exit?: number }) => r.exit === 2 },
  { name: 'op', line: JSON.stringify({ ...ok, op: 'dump' }), want: (r: { exit?: number }) => r.exit === 2 },
  { name: 'no client', line: JSON.stringify({ ...ok, client_id: '' }), want: (r: { exit?: number }) => r.exit === 2 },
  { name: 'force "yes"', line: JSON.stringify({ ...ok, force: 'yes' }), want: (r: { exit?: number }) => r.exit === 2 },
]
for (const c of requestCases) {
  test(`parseRequest: ${c.name}`, () => {
    const got = parseRequest(c.line) as Record<string, unknown>
    const clean = Object.fromEntries(Object.entries(got).filter(([, v]) => v !== undefined))
    if (typeof c.want === 'function') assert.ok(c.want(got), JSON.stringify(got))
    else assert.deepEqual(clean, c.want)
  })
}

test('formatRequest round-trips through parseRequest, one line', () => {
  const line = formatRequest({ serverUrl: 'https://a.example', clientId: 'c\nid', force: true, rejected: 'AT' })
  assert.equal(line.indexOf('\n'), line.length - 1)
  assert.deepEqual(parseRequest(line.trim()), {
    serverUrl: 'https://a.example',
    clientId: 'c\nid',
    force: true,
    rejected: 'AT',
  })
})

const answerCases: Array<{ name: string; line: string; want: unknown }> = [
  {
    name: 'token',
    line: formatAnswer({ accessToken: 'AT1', expiresAtMs: 1_700_000_000_000 }).trim(),
    want: { accessToken: 'AT1', expiresAtMs: 1_700_000_000_000 },
  },
  {
    name: 'no expiry',
    line: '{"v":1,"access_token":"AT","expires_at":null}',
    want: { accessToken: 'AT', expiresAtMs: undefined },
  },
  {
    name: 'error 4',
    line: formatAnswer({ error: 'not exposed', exit: 4 }).trim(),
    want: { error: 'not exposed', exit: 4 },
  },
  { name: 'exit 1 is not in the protocol', line: '{"v":1,"error":"x","exit":1}', want: undefined },
  { name: 'token with a newline', line: '{"v":1,"access_token":"A\\nB","expires_at":null}', want: undefined },
  { name: 'bad date', line: '{"v":1,"access_token":"AT","expires_at":"soon"}', want: undefined },
  { name: 'v 2', line: '{"v":2,"access_token":"AT","expires_at":null}', want: undefined },
  { name: 'not JSON', line: 'AT', want: undefined },
  { name: 'null', line: 'null', want: undefined },
]
for (const c of answerCases) {
  test(`parseAnswer: ${c.name}`, () => assert.deepEqual(parseAnswer(c.line), c.want))
}

test('an answer carries only the access token and its expiry', () => {
  const line = formatAnswer({ accessToken: 'AT', expiresAtMs: 0, refreshToken: 'RT' } as never)
  assert.deepEqual(Object.keys(JSON.parse(line)), ['v', 'access_token', 'expires_at'])
})
