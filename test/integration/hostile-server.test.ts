import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test, type TestContext } from 'node:test'
import { createCliHome, killAllClis, requireBuild, runCli, type CliHome, type CliResult } from '../support/cli.ts'
import {
  goodTokenAnswer,
  json,
  startHostileServer,
  type HostileServer,
  type TokenBehaviour,
} from '../support/hostile-server.ts'
import { readTokenEntry, sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * Issue 6 item 4: servers that answer the refresh grant with garbage, too much, too slowly or elsewhere. Each run of
 * `authgate token` must end with a clear one-line error and the right exit code, and leave the stored tokens exactly
 * as they were. Bounded time is checked by the CLI helper's hang guard (60 s here), never by a speed assertion: the
 * CLI's own bounds are 10 s per request and 30 s per command.
 */

before(requireBuild)
after(killAllClis)

const STALE = {
  access_token: 'stale-access-token-0123456789',
  token_type: 'Bearer',
  refresh_token: 'stored-refresh-token-0123456789',
  expires_in: 3600,
  scope: 'email profile',
}

interface Setup {
  server: HostileServer
  home: CliHome
  before: Buffer
  run(extra?: string[]): Promise<CliResult>
}

async function setup(t: TestContext, behaviour: TokenBehaviour): Promise<Setup> {
  const server = await startHostileServer(behaviour)
  t.after(() => server.close())
  const home = createCliHome('authgate-hostile-')
  t.after(() => home.remove())
  writeTokenFile(home.tokenFile, sessionAccount(server.url, 'cli'), STALE, { expired: true })
  const before = readFileSync(home.tokenFile)
  const run = (extra: string[] = []) =>
    runCli(['token', '--server-url', server.url, '--client-id', 'cli', ...home.flags, ...extra], {
      home,
      timeoutMs: 60_000,
    })
  return { server, home, before, run }
}

/** Failed cleanly: the code, one `authgate:` line that matches, nothing on stdout, the store untouched, no secret shown. */
function assertFailed(s: Setup, r: CliResult, code: number, message: RegExp): void {
  assert.equal(r.timedOut, false, 'the CLI hung')
  assert.equal(r.code, code, r.stderr)
  assert.equal(r.stdout, '')
  assert.match(r.stderr, /^authgate: /)
  assert.match(r.stderr, message)
  assert.deepEqual(readFileSync(s.home.tokenFile), s.before, 'the stored tokens changed')
  assert.ok(
    !r.stderr.includes(STALE.refresh_token) && !r.stderr.includes(STALE.access_token),
    'a token appears in the message',
  )
}

function raw(res: ServerResponse, status: number, body: string | Buffer, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) }).end(body)
}

describe('hostile and broken servers', { timeout: 240_000 }, () => {
  test('a 200 that is not JSON → exit 1, one refresh request, nothing saved', async (t) => {
    const s = await setup(t, (_req, res) => raw(res, 200, '<html>Service temporarily unavailable</html>', 'text/html'))
    assertFailed(s, await s.run(), 1, /JSON|parse|content-type/i)
    assert.equal(s.server.tokenRequests().length, 1, 'an answer that is not JSON was retried')
    assert.equal(s.server.tokenRequests()[0]!.form.get('refresh_token'), STALE.refresh_token)
  })

  test('a 200 without access_token → exit 1', async (t) => {
    const s = await setup(t, (_req, res) =>
      json(res, 200, { token_type: 'Bearer', expires_in: 3600, refresh_token: 'new-refresh-token' }),
    )
    assertFailed(s, await s.run(), 1, /access_token/)
  })

  test('a 200 whose fields have the wrong types → exit 1', async (t) => {
    const s = await setup(t, (_req, res) =>
      json(res, 200, { access_token: 42, token_type: 'Bearer', expires_in: 'soon' }),
    )
    assertFailed(s, await s.run(), 1, /access_token|expires_in|invalid/i)
  })

  test('a token_type other than Bearer → exit 1 naming the field', async (t) => {
    const s = await setup(t, (_req, res) =>
      json(res, 200, {
        access_token: 'mac-token',
        token_type: 'mac',
        expires_in: 3600,
        refresh_token: 'new-refresh-token',
      }),
    )
    assertFailed(s, await s.run(), 1, /token_type/)
  })

  test('a 5 MB answer with Content-Length → exit 1 (over the 1 MiB cap)', async (t) => {
    const s = await setup(t, (_req, res) =>
      raw(res, 200, JSON.stringify({ access_token: 'x'.repeat(5 * 1024 * 1024), token_type: 'Bearer' })),
    )
    assertFailed(s, await s.run(), 1, /1 MiB/)
  })

  test('a 5 MB chunked answer without Content-Length → exit 1, the body is not read to the end', async (t) => {
    let sent = 0
    const s = await setup(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"token_type":"Bearer","access_token":"')
      const chunk = 'x'.repeat(64 * 1024)
      const pump = () => {
        while (sent < 5 * 1024 * 1024) {
          sent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
        res.end('"}')
      }
      res.on('error', () => {})
      pump()
    })
    assertFailed(s, await s.run(), 1, /1 MiB/)
  })

  test('headers that never finish → exit 5 after the request timeout, and the refresh token is not replayed', async (t) => {
    const s = await setup(t, (_req, res) => {
      // The status line and one header, then silence: the socket stays open until the server closes.
      res.socket?.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n')
    })
    assertFailed(s, await s.run(['--http-timeout', '1']), 5, /no complete answer within 1 s/)
    assert.equal(s.server.tokenRequests().length, 1, 'a refresh that may have reached the server was sent again')
  })

  test('discovery whose headers never finish → retried within the budget, then exit 5; no grant is sent', async (t) => {
    const seen: string[] = []
    const stalled = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      res.socket?.write('HTTP/1.1 200 OK\r\n') // a status line, then silence
    })
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve))
    t.after(() => {
      stalled.closeAllConnections()
      stalled.close()
    })
    const url = `http://127.0.0.1:${(stalled.address() as AddressInfo).port}`
    const home = createCliHome('authgate-hostile-')
    t.after(() => home.remove())
    writeTokenFile(home.tokenFile, sessionAccount(url, 'cli'), STALE, { expired: true })
    const r = await runCli(
      ['token', '--server-url', url, '--client-id', 'cli', '--http-timeout', '500ms', ...home.flags],
      { home, timeoutMs: 60_000 },
    )
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, /after 3 retries/)
    assert.equal(seen.length, 4, `one discovery request and 3 retries: ${seen.join(', ')}`)
    assert.ok(
      seen.every((line) => line.startsWith('GET /.well-known/')),
      'a grant was sent',
    )
  })

  test('a redirect to another host → exit 1, and the other host never sees the refresh token', async (t) => {
    const elsewhere = await startHostileServer((_req, res) => goodTokenAnswer(res))
    t.after(() => elsewhere.close())
    const s = await setup(t, (_req, res) => void res.writeHead(307, { location: `${elsewhere.url}/oauth/token` }).end())
    assertFailed(s, await s.run(), 1, /redirect/i)
    assert.equal(elsewhere.requests.length, 0, 'the CLI followed the redirect')
  })

  test('429 without Retry-After but with X-RateLimit-Reset: waits until the reset, then succeeds', async (t) => {
    let resetAtMs = 0
    const s = await setup(t, (_req, res, n) => {
      if (n > 0) return goodTokenAnswer(res, n)
      resetAtMs = (Math.floor(Date.now() / 1000) + 2) * 1000
      json(
        res,
        429,
        { error: 'rate_limit_exceeded', error_description: 'Too many requests. Please try again later.' },
        { 'x-ratelimit-limit': '20', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetAtMs / 1000) },
      )
    })
    const r = await s.run()
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'hostile-at-1\n')
    const [first, second] = s.server.tokenRequests()
    assert.ok(first && second, 'no retry after the 429')
    // X-RateLimit-Reset is in whole seconds; a retry before it would only meet another 429.
    assert.ok(second.atMs >= resetAtMs - 1000, `retried ${resetAtMs - second.atMs} ms before the reset`)
    assert.equal(second.form.get('refresh_token'), STALE.refresh_token)
  })

  test('429 whose X-RateLimit-Reset is beyond the command budget → exit 5 at once, nothing saved', async (t) => {
    const s = await setup(t, (_req, res) =>
      json(
        res,
        429,
        { error: 'rate_limit_exceeded' },
        { 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 600) },
      ),
    )
    assertFailed(s, await s.run(), 5, /429/)
    assert.equal(s.server.tokenRequests().length, 1)
  })

  test('5xx then success → retried with backoff and saved', async (t) => {
    const s = await setup(t, (_req, res, n) =>
      n < 2 ? json(res, n === 0 ? 503 : 502, { error: 'server_error' }) : goodTokenAnswer(res, n),
    )
    const r = await s.run()
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'hostile-at-2\n')
    assert.equal(s.server.tokenRequests().length, 3)
    const saved = JSON.parse(readFileSync(s.home.tokenFile, 'utf8')).sessions[sessionAccount(s.server.url, 'cli')]
    assert.equal(saved.refresh_token, 'hostile-rt-2')
  })

  test('5xx on every try → exit 5 after 3 retries, the stored token untouched', async (t) => {
    const s = await setup(t, (_req, res) => json(res, 500, { error: 'server_error' }))
    assertFailed(s, await s.run(), 5, /500/)
    assert.equal(s.server.tokenRequests().length, 4)
  })

  // Issue 14: RFC 6749 §5.2 wants JSON, but a 400 to a refresh grant without it is still the server refusing the
  // refresh token. Keeping the entry would re-send a dead token on every run.
  test('an error body that is not JSON on a 400 → exit 4 naming the status, the entry cleared, one request', async (t) => {
    const s = await setup(t, (_req, res) => raw(res, 400, 'Bad Request', 'text/plain'))
    const r = await s.run()
    assert.equal(r.code, 4, r.stderr)
    assert.equal(r.stdout, '')
    assert.match(
      r.stderr,
      /^authgate: the server rejected the refresh token: token endpoint \S+ answered 400 Bad Request: Bad Request\n/,
    )
    assert.equal(readTokenEntry(s.home.tokenFile, sessionAccount(s.server.url, 'cli')), undefined)
    assert.equal(s.server.tokenRequests().length, 1)
  })
})
