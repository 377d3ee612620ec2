import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TemporaryError, UsageError } from '../errors.ts'
import type { TokenSet } from '../stores/types.ts'
import { fetchWithBearer, resolveApiTarget, sendAuthorized } from './api-request.ts'
import type { TokenRequest } from './refresh-engine.ts'

test('resolveApiTarget: paths stay under the API URL; full URLs only to the server, the API URL or allowed hosts', () => {
  const cases: Array<{ target: string; api: string; insecure?: boolean; allow?: string[]; want: string | RegExp }> = [
    { target: '/user', api: 'https://api.example', want: 'https://api.example/user' },
    { target: 'user', api: 'https://api.example', want: 'https://api.example/user' },
    { target: '/user', api: 'https://api.example/v1', want: 'https://api.example/v1/user' },
    {
      target: 'repos/a/b?per_page=5#x',
      api: 'https://api.example/v1',
      want: 'https://api.example/v1/repos/a/b?per_page=5#x',
    },
    { target: '//evil.example/steal', api: 'https://api.example', want: 'https://api.example/evil.example/steal' },
    { target: '/\\evil.example/steal', api: 'https://api.example', want: 'https://api.example/evil.example/steal' },
    { target: '\\\\evil.example', api: 'https://api.example', want: 'https://api.example/evil.example' },
    { target: '../../x', api: 'https://api.example/v1', want: 'https://api.example/x' },
    { target: '', api: 'https://api.example/v1', want: 'https://api.example/v1/' },
    { target: 'https://api.example/x', api: 'https://api.example/v1', want: 'https://api.example/x' },
    { target: 'https://auth.example/x', api: 'https://api.example', want: 'https://auth.example/x' },
    {
      target: 'https://other.example/x',
      api: 'https://api.example',
      want: /refusing to send the token to https:\/\/other\.example: .*--allow-host other\.example/,
    },
    {
      target: 'https://other.example/x',
      api: 'https://api.example',
      allow: ['other.example'],
      want: 'https://other.example/x',
    },
    {
      target: 'https://other.example:8443/x',
      api: 'https://api.example',
      allow: ['other.example:443'],
      want: /--allow-host other\.example:8443/,
    },
    {
      target: 'https://other.example/x',
      api: 'https://api.example',
      allow: ['other.example:443'],
      want: 'https://other.example/x',
    },
    { target: 'https://api.example:8443/x', api: 'https://api.example', want: /refusing to send the token/ },
    { target: 'HTTP://127.0.0.1:9/x', api: 'https://api.example', allow: ['127.0.0.1'], want: 'http://127.0.0.1:9/x' },
    {
      target: 'http://127.0.0.1:9/x',
      api: 'https://api.example',
      want: /refusing to send the token to http:\/\/127\.0\.0\.1:9/,
    },
    {
      target: 'http://other.example/x',
      api: 'https://api.example',
      insecure: true,
      allow: ['other.example'],
      want: 'http://other.example/x',
    },
    {
      target: 'http://other.example/x',
      api: 'https://api.example',
      want: /refusing to send a token over plain http to other\.example/,
    },
    {
      target: 'ftp://other.example/x',
      api: 'https://api.example',
      want: /expected a path, or an absolute http\(s\) URL/,
    },
    { target: 'https://u:p@other.example/', api: 'https://api.example', want: /must not contain credentials/ },
    { target: 'javascript:alert(1)', api: 'https://api.example', want: /expected a path/ },
  ]
  for (const c of cases) {
    const settings = {
      serverUrl: 'https://auth.example',
      apiUrl: c.api,
      allowedHosts: c.allow ?? [],
      allowInsecureHttp: c.insecure === true,
    }
    const run = () => resolveApiTarget(c.target, settings).href
    if (typeof c.want === 'string') assert.equal(run(), c.want, c.target)
    else assert.throws(run, (e: unknown) => e instanceof UsageError && (c.want as RegExp).test(e.message), c.target)
  }
})

/** `refresh: false` is a sign-in without a refresh token; 'machine' a client-credentials token (none either). */
const tokens = (n: number, refresh: boolean | 'machine' = true): TokenSet => ({
  accessToken: `AT${n}`,
  tokenType: 'Bearer',
  refreshToken: refresh === true ? `RT${n}` : undefined,
  flow: refresh === 'machine' ? 'client_credentials' : undefined,
})

test('sendAuthorized: one send when accepted; on 401 one new token (force, rejected) and one more send', async () => {
  const cases: Array<{
    name: string
    statuses: number[]
    refresh?: boolean | 'machine'
    wantSent: string[]
    wantAsked: Array<TokenRequest | undefined>
    wantStatus: number
  }> = [
    { name: 'accepted', statuses: [200], wantSent: ['AT1'], wantAsked: [undefined], wantStatus: 200 },
    { name: 'a 403 is not retried', statuses: [403], wantSent: ['AT1'], wantAsked: [undefined], wantStatus: 403 },
    {
      name: '401, then accepted',
      statuses: [401, 200],
      wantSent: ['AT1', 'AT2'],
      wantAsked: [undefined, { force: true, rejected: 'AT1' }],
      wantStatus: 200,
    },
    {
      name: "401 twice: the second answer is the caller's",
      statuses: [401, 401],
      wantSent: ['AT1', 'AT2'],
      wantAsked: [undefined, { force: true, rejected: 'AT1' }],
      wantStatus: 401,
    },
    {
      name: '401 without a refresh token: nothing to try',
      statuses: [401],
      refresh: false,
      wantSent: ['AT1'],
      wantAsked: [undefined],
      wantStatus: 401,
    },
    {
      name: '401 in a machine session: a new client-credentials token, sent once more',
      statuses: [401, 200],
      refresh: 'machine',
      wantSent: ['AT1', 'AT2'],
      wantAsked: [undefined, { force: true, rejected: 'AT1' }],
      wantStatus: 200,
    },
  ]
  for (const c of cases) {
    const asked: Array<TokenRequest | undefined> = []
    const sent: string[] = []
    const statuses = [...c.statuses]
    const response = await sendAuthorized(
      async (request) => {
        asked.push(request)
        return tokens(asked.length, c.refresh ?? true)
      },
      async (token) => {
        sent.push(token)
        return new Response('body', { status: statuses.shift() })
      },
    )
    assert.deepEqual(
      { sent, asked, status: response.status },
      { sent: c.wantSent, asked: c.wantAsked, status: c.wantStatus },
      c.name,
    )
  }
})

test('fetchWithBearer: the bearer header, no redirects followed, connection failures are temporary', async () => {
  let seen: Request | undefined
  const ok = (async (input: string | URL | Request, init?: RequestInit) => {
    seen = new Request(input, init)
    return new Response('ok')
  }) as typeof fetch
  await fetchWithBearer(
    ok,
    new URL('https://api.example/x'),
    { headers: { authorization: 'Basic nope', 'x-a': '1' } },
    'AT1',
  )
  assert.equal(seen?.headers.get('authorization'), 'Bearer AT1')
  assert.equal(seen?.headers.get('x-a'), '1')
  assert.equal(seen?.redirect, 'manual')
  const down = (async () => {
    throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })
  }) as typeof fetch
  await assert.rejects(
    fetchWithBearer(down, new URL('https://api.example/x'), {}, 'AT1'),
    (e: unknown) =>
      e instanceof TemporaryError && e.message === 'cannot reach https://api.example: ECONNREFUSED' && e.exitCode === 5,
  )
})
