import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { CommanderError } from 'commander'
import { AuthgateError, UsageError } from '../../errors.ts'
import { fakeRun, freshTokens, grant, SERVER, type Seen } from '../../../test/support/command-env.ts'
import { registerApi, runApi, type ApiOptions } from './api.ts'
import { parsedOptions } from '../../../test/support/parse-table.ts'

// ---- parse table: argv → options, with the run function replaced ----

const parse = (argv: string[]) => parsedOptions<ApiOptions>(argv, (p, env, capture) => registerApi(p, env, capture))

const plain: ApiOptions = {
  target: '/user',
  method: undefined,
  headers: [],
  data: undefined,
  include: false,
  login: false,
}
const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message)
const parseCases: Array<{ argv: string[]; want: ApiOptions | ((err: unknown) => boolean) }> = [
  { argv: ['api', '/user'], want: plain },
  { argv: ['api', '/user', '-X', 'patch'], want: { ...plain, method: 'PATCH' } },
  {
    argv: ['api', '/user', '-H', 'Accept: text/plain', '--header', 'X-Trace:1'],
    want: {
      ...plain,
      headers: [
        ['Accept', 'text/plain'],
        ['X-Trace', '1'],
      ],
    },
  },
  { argv: ['api', '/user', '-d', '{"a":1}'], want: { ...plain, data: { from: 'text', text: '{"a":1}' } } },
  { argv: ['api', '/user', '-d', '@body.json'], want: { ...plain, data: { from: 'file', path: 'body.json' } } },
  { argv: ['api', '/user', '-d', '@-', '-X', 'PUT'], want: { ...plain, method: 'PUT', data: { from: 'stdin' } } },
  { argv: ['api', '-i', 'https://api.example/x'], want: { ...plain, target: 'https://api.example/x', include: true } },
  { argv: ['api', '--login', '/user'], want: { ...plain, login: true } },
  { argv: ['--api-url', 'https://api.example', 'api', 'x', '--json'], want: { ...plain, target: 'x' } },
  { argv: ['api', '/user', '-H', 'no colon'], want: usage(/invalid header "no colon"/) },
  { argv: ['api', '/user', '-H', 'Bad Name: x'], want: usage(/invalid header/) },
  { argv: ['api', '/user', '-H', 'authorization: Bearer x'], want: usage(/authgate sends the bearer token itself/) },
  { argv: ['api', '/user', '-X', 'GET', '-d', 'x'], want: usage(/-d cannot be used with -X GET/) },
  { argv: ['api', '/user', '-X', 'BAD METHOD'], want: usage(/invalid method/) },
  { argv: ['api', '/user', '-d', '@'], want: usage(/-d @ needs a file name/) },
  { argv: ['api'], want: (e) => e instanceof CommanderError },
  { argv: ['api', 'a', 'b'], want: (e) => e instanceof CommanderError },
]

for (const c of parseCases) {
  test(`parse: authgate ${c.argv.join(' ')}`, async () => {
    if (typeof c.want === 'function') return void (await assert.rejects(parse(c.argv), c.want))
    assert.deepEqual(await parse(c.argv), c.want)
  })
}

// ---- run table: options + a fake token server and resource server → stdout, error, requests, store ----

/** AuthGate without discovery, plus a resource server under /api that accepts only the access tokens in `valid`. */
function servers(
  valid: string[],
  answer: (req: Request, body: string) => Response = (req, body) =>
    Response.json({ method: req.method, path: new URL(req.url).pathname, body }),
) {
  return (req: Request, body: string): Response => {
    const { pathname } = new URL(req.url)
    if (pathname.startsWith('/.well-known/')) return new Response('404 page not found', { status: 404 })
    if (pathname === '/oauth/token') return grant('2')
    const token = req.headers.get('authorization')?.replace(/^Bearer /, '') ?? ''
    if (!valid.includes(token))
      return Response.json(
        { error: 'invalid_token' },
        { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } },
      )
    return answer(req, body)
  }
}

const apiCalls = (requests: Seen[]) =>
  requests
    .filter((r) => !new URL(r.url).pathname.startsWith('/oauth/') && !r.url.includes('/.well-known/'))
    .map((r) => `${r.method} ${r.url} ${r.headers.get('authorization')}`)
const refreshes = (requests: Seen[]) =>
  requests.filter((r) => r.url.endsWith('/oauth/token')).map((r) => new URLSearchParams(r.body).get('refresh_token'))

interface RunCase {
  name: string
  options: Partial<ApiOptions>
  server?: (req: Request, body: string) => Response
  env?: Record<string, string>
  stdin?: string
  seeded?: ReturnType<typeof freshTokens> | null
  want: {
    calls: string[]
    stdout?: string | RegExp
    error?: (e: unknown) => boolean
    refreshes?: string[]
    stored?: string
    check?: (requests: Seen[]) => void
  }
}

const status = (code: number, re: RegExp) => (e: unknown) =>
  e instanceof AuthgateError && e.exitCode === 1 && (e as { status?: number }).status === code && re.test(e.message)

const runCases: RunCase[] = [
  {
    name: 'a path under the API URL, with the bearer token; the body on stdout',
    options: { target: 'me' },
    server: servers(['AT1-0123456789']),
    env: { AUTHGATE_API_URL: `${SERVER}/api/v1` },
    want: {
      calls: ['GET https://as.test/api/v1/me Bearer AT1-0123456789'],
      stdout: '{"method":"GET","path":"/api/v1/me","body":""}',
      refreshes: [],
    },
  },
  {
    name: '-i: status line and headers first',
    options: { target: '/api/me', include: true },
    server: servers(['AT1-0123456789']),
    want: {
      calls: ['GET https://as.test/api/me Bearer AT1-0123456789'],
      stdout: /^HTTP\/1\.1 200 OK\nContent-Type: application\/json\n\n\{"method":"GET"/,
    },
  },
  {
    name: '401: refreshes once with the stored refresh token, retries once, saves the new tokens',
    options: { target: '/api/me' },
    server: servers(['AT2-0123456789']),
    want: {
      calls: ['GET https://as.test/api/me Bearer AT1-0123456789', 'GET https://as.test/api/me Bearer AT2-0123456789'],
      stdout: /"path":"\/api\/me"/,
      refreshes: ['RT1-0123456789'],
      stored: 'AT2-0123456789',
    },
  },
  {
    name: '401 again after the refresh: the body on stdout, exit 1 with the status, no second refresh',
    options: { target: '/api/me' },
    server: servers([]),
    want: {
      calls: ['GET https://as.test/api/me Bearer AT1-0123456789', 'GET https://as.test/api/me Bearer AT2-0123456789'],
      stdout: '{"error":"invalid_token"}',
      refreshes: ['RT1-0123456789'],
      error: status(401, /^GET https:\/\/as\.test\/api\/me answered 401 Unauthorized$/),
    },
  },
  {
    name: '404: the body on stdout, the status in the error (exit 1)',
    options: { target: '/api/nope' },
    server: servers(['AT1-0123456789'], () => Response.json({ message: 'Not Found' }, { status: 404 })),
    want: {
      calls: ['GET https://as.test/api/nope Bearer AT1-0123456789'],
      stdout: '{"message":"Not Found"}',
      error: status(404, /answered 404 Not Found$/),
      refreshes: [],
    },
  },
  {
    name: '-d @-: POST with the body from stdin, labelled JSON',
    options: { target: '/api/items', data: { from: 'stdin' } },
    stdin: '{"name":"x"}',
    server: servers(['AT1-0123456789']),
    want: {
      calls: ['POST https://as.test/api/items Bearer AT1-0123456789'],
      stdout: '{"method":"POST","path":"/api/items","body":"{\\"name\\":\\"x\\"}"}',
      check: (r) => assert.equal(apiRequest(r).headers.get('content-type'), 'application/json'),
    },
  },
  {
    name: '-X PUT -d text -H: the method, the body (not JSON: no content type added) and the headers as given',
    options: { target: '/api/x', method: 'PUT', data: { from: 'text', text: 'a=b' }, headers: [['X-Trace', '7']] },
    server: servers(['AT1-0123456789']),
    want: {
      calls: ['PUT https://as.test/api/x Bearer AT1-0123456789'],
      stdout: /"body":"a=b"/,
      check: (r) =>
        assert.deepEqual(
          [apiRequest(r).headers.get('x-trace'), apiRequest(r).headers.get('content-type')],
          ['7', null],
        ),
    },
  },
  {
    name: 'the body is sent again on the retry',
    options: { target: '/api/items', data: { from: 'text', text: '{"n":1}' } },
    server: servers(['AT2-0123456789']),
    want: {
      calls: [
        'POST https://as.test/api/items Bearer AT1-0123456789',
        'POST https://as.test/api/items Bearer AT2-0123456789',
      ],
      stdout: /"body":"\{\\"n\\":1\}"/,
    },
  },
  {
    name: 'a full URL on another host: refused before anything is sent, naming the origin and --allow-host',
    options: { target: 'https://other.example/v2/me' },
    server: servers(['AT1-0123456789']),
    want: {
      calls: [],
      error: (e) => e instanceof UsageError && /https:\/\/other\.example.*--allow-host other\.example/.test(e.message),
    },
  },
  {
    name: 'a full URL on a host the user allowed: the token goes where the user said',
    options: { target: 'https://other.example/v2/me' },
    env: { AUTHGATE_ALLOW_HOSTS: 'other.example' },
    server: servers(['AT1-0123456789']),
    want: { calls: ['GET https://other.example/v2/me Bearer AT1-0123456789'], stdout: /"path":"\/v2\/me"/ },
  },
  {
    name: '//host is a path, never another host',
    options: { target: '//evil.example/me' },
    server: servers(['AT1-0123456789']),
    want: { calls: ['GET https://as.test/evil.example/me Bearer AT1-0123456789'], stdout: /evil\.example\/me/ },
  },
  {
    name: 'plain http to a remote host: refused before anything is sent',
    options: { target: 'http://evil.example/me' },
    server: servers([]),
    want: { calls: [], error: (e) => e instanceof UsageError && /plain http to evil\.example/.test(e.message) },
  },
  {
    name: 'a redirect is not followed',
    options: { target: '/api/moved' },
    server: servers(
      ['AT1-0123456789'],
      () => new Response('', { status: 302, headers: { location: 'https://evil.example/' } }),
    ),
    want: {
      calls: ['GET https://as.test/api/moved Bearer AT1-0123456789'],
      stdout: '',
      error: status(302, /answered 302 Found/),
    },
  },
  {
    name: 'not signed in: exit 4, nothing sent',
    options: { target: '/api/me' },
    seeded: null,
    server: servers([]),
    want: { calls: [], error: (e) => e instanceof AuthgateError && e.exitCode === 4 },
  },
  {
    name: '-d @missing: a usage error naming the absolute path',
    options: { target: '/api/me', data: { from: 'file', path: 'missing.json' } },
    server: servers([]),
    want: {
      calls: [],
      error: (e) => e instanceof UsageError && /cannot read the request body from \/.*\/missing\.json/.test(e.message),
    },
  },
]

function apiRequest(requests: Seen[]): Seen {
  return requests.find((r) => new URL(r.url).pathname.startsWith('/api/'))!
}

for (const c of runCases) {
  test(`run: ${c.name}`, async (t) => {
    const run = fakeRun(t, { server: c.server, env: c.env, stdin: c.stdin })
    if (c.seeded !== null) await run.seed(c.seeded ?? freshTokens())
    const options: ApiOptions = { ...plain, ...c.options }
    const done = runApi(options, run.env)
    if (c.want.error) await assert.rejects(done, c.want.error)
    else await done
    assert.deepEqual(apiCalls(run.requests), c.want.calls)
    if (typeof c.want.stdout === 'string') assert.equal(run.out.stdout, c.want.stdout)
    else if (c.want.stdout) assert.match(run.out.stdout, c.want.stdout)
    if (c.want.refreshes) assert.deepEqual(refreshes(run.requests), c.want.refreshes)
    if (c.want.stored) assert.equal((await run.stored())?.accessToken, c.want.stored)
    c.want.check?.(run.requests)
    assert.doesNotMatch(run.out.stderr, /[AR]T\d-0123456789/)
  })
}

test('run: -d @file reads the file relative to the working directory', async (t) => {
  const run = fakeRun(t, { server: servers(['AT1-0123456789']) })
  await run.seed(freshTokens())
  writeFileSync(join(run.deps.cwd, 'body.json'), '[1,2]')
  await runApi({ ...plain, target: '/api/x', data: { from: 'file', path: 'body.json' } }, run.env)
  assert.match(run.out.stdout, /"method":"POST".*"body":"\[1,2\]"/)
})

test('run: on a terminal a body without a final newline gets one; a pipe gets the bytes as sent', async (t) => {
  for (const isStdoutTTY of [true, false]) {
    const run = fakeRun(t, { server: servers(['AT1-0123456789'], () => new Response('{"a":1}')) })
    await run.seed(freshTokens())
    run.deps.io.isStdoutTTY = isStdoutTTY
    await runApi({ ...plain, target: '/api/x' }, run.env)
    assert.equal(run.out.stdout, isStdoutTTY ? '{"a":1}\n' : '{"a":1}')
  }
})
