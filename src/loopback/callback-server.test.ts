import assert from 'node:assert/strict'
import { request, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { networkInterfaces } from 'node:os'
import { test, type TestContext } from 'node:test'
import { InterruptedError, RequestFailedError } from '../errors.ts'
import { isSameSecret, listenForCallback, type CallbackListener } from './callback-server.ts'

const STATE = 'state-0123456789abcdef0123456789abcdef012'

/** A browser's GET, over node:http (src/ stays free of the global fetch). */
function get(
  port: number,
  path: string,
  method = 'GET',
  host = '127.0.0.1',
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** A sleep that never ends by itself: the timeout never fires unless a test wants it to. */
const never = (_ms: number, signal?: AbortSignal) =>
  new Promise<void>((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason)))
const instant = async () => {}

async function start(
  t: TestContext,
  handle: (p: URLSearchParams) => Promise<string> = async (p) => `tokens for ${p.get('code')}`,
) {
  const bound = await listenForCallback<string>(0)
  assert.ok(bound.ok)
  const listener: CallbackListener<string> = bound.listener
  t.after(() => listener.close())
  const calls: string[] = []
  listener.expect({ path: '/callback', state: STATE, handle: (p) => (calls.push(p.get('code') ?? ''), handle(p)) })
  return { listener, calls, port: listener.port }
}

test('callback: the right state gets the code exchanged once and a page saying the tab can be closed', async (t) => {
  const { listener, calls, port } = await start(t)
  const page = await get(port, `/callback?code=abc&state=${STATE}`)
  assert.equal(page.status, 200)
  assert.match(page.body, /You can close this tab/)
  assert.equal(page.headers['referrer-policy'], 'no-referrer')
  assert.equal(page.headers['cache-control'], 'no-store')
  assert.deepEqual(await listener.wait({ sleep: never }), { kind: 'done', value: 'tokens for abc' })
  assert.deepEqual(calls, ['abc'])
})

const refused: Array<{ name: string; path: string; status: number; body: RegExp }> = [
  { name: 'wrong state', path: '/callback?code=forged&state=attacker', status: 400, body: /does not match/ },
  { name: 'no state', path: '/callback?code=forged', status: 400, body: /does not match/ },
  {
    name: 'state twice',
    path: `/callback?code=forged&state=${STATE}&state=${STATE}`,
    status: 400,
    body: /does not match/,
  },
  {
    name: 'state with one character more',
    path: `/callback?code=forged&state=${STATE}x`,
    status: 400,
    body: /does not match/,
  },
  { name: 'another path', path: `/favicon.ico?state=${STATE}`, status: 404, body: /Nothing here/ },
  {
    name: 'the path with a trailing slash',
    path: `/callback/?code=x&state=${STATE}`,
    status: 404,
    body: /Nothing here/,
  },
]

for (const c of refused) {
  test(`callback: ${c.name} is refused with an HTML page, never exchanged, and the wait goes on`, async (t) => {
    const { listener, calls, port } = await start(t)
    const page = await get(port, c.path)
    assert.equal(page.status, c.status)
    assert.match(String(page.headers['content-type']), /^text\/html/)
    assert.match(page.body, c.body)
    assert.deepEqual(calls, [])
    assert.equal((await get(port, `/callback?code=real&state=${STATE}`)).status, 200)
    assert.deepEqual(await listener.wait({ sleep: never }), { kind: 'done', value: 'tokens for real' })
    assert.deepEqual(calls, ['real'])
  })
}

test('callback: POST is refused (405)', async (t) => {
  const { calls, port } = await start(t)
  assert.equal((await get(port, `/callback?code=x&state=${STATE}`, 'POST')).status, 405)
  assert.deepEqual(calls, [])
})

test('callback: a repeated callback gets an error page and is never exchanged again', async (t) => {
  const { listener, calls, port } = await start(t)
  assert.equal((await get(port, `/callback?code=one&state=${STATE}`)).status, 200)
  const again = await get(port, `/callback?code=one&state=${STATE}`)
  assert.equal(again.status, 400)
  assert.match(again.body, /already been handled/)
  assert.deepEqual(await listener.wait({ sleep: never }), { kind: 'done', value: 'tokens for one' })
  assert.deepEqual(calls, ['one'])
})

test('callback: two simultaneous genuine callbacks: exactly one exchange', async (t) => {
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const { listener, calls, port } = await start(t, async (p) => (await gate, `tokens for ${p.get('code')}`))
  const pages = Promise.all([
    get(port, `/callback?code=a&state=${STATE}`),
    get(port, `/callback?code=b&state=${STATE}`),
  ])
  const waited = listener.wait({ sleep: never })
  await new Promise<void>((resolve) => {
    const poll = () => (calls.length ? resolve() : setImmediate(poll))
    poll()
  })
  release()
  const statuses = (await pages).map((p) => p.status).sort()
  assert.deepEqual(statuses, [200, 400])
  assert.equal(calls.length, 1)
  assert.equal((await waited).kind, 'done')
})

test('callback: an error callback with the right state gets an error page and fails the wait; nothing is exchanged', async (t) => {
  const { listener, calls, port } = await start(t)
  const page = await get(port, `/callback?error=access_denied&error_description=User+denied&state=${STATE}`)
  assert.equal(page.status, 400)
  assert.match(page.body, /refused the sign-in: access_denied \(User denied\)/)
  await assert.rejects(
    listener.wait({ sleep: never }),
    (err) => err instanceof RequestFailedError && err.error === 'access_denied',
  )
  assert.deepEqual(calls, [])
})

test('callback: an error callback with a wrong state is ignored like any forgery', async (t) => {
  const { listener, port } = await start(t)
  assert.match((await get(port, '/callback?error=access_denied&state=nope')).body, /does not match/)
  assert.equal((await get(port, `/callback?code=ok&state=${STATE}`)).status, 200)
  assert.equal((await listener.wait({ sleep: never })).kind, 'done')
})

test('callback: a failed exchange shows a failure page, never "signed in", and fails the wait with its error', async (t) => {
  const failure = new RequestFailedError('sign-in failed: invalid_grant', { error: 'invalid_grant' })
  const { listener, port } = await start(t, async () => Promise.reject(failure))
  const page = await get(port, `/callback?code=x&state=${STATE}`)
  assert.equal(page.status, 502)
  assert.match(page.body, /could not complete the sign-in: sign-in failed: invalid_grant/)
  assert.doesNotMatch(page.body, /close this tab/)
  await assert.rejects(listener.wait({ sleep: never }), (err) => err === failure)
})

test('callback: no callback within the timeout → timeout; a late callback is refused', async (t) => {
  const { listener, calls, port } = await start(t)
  assert.deepEqual(await listener.wait({ timeoutMs: 120_000, sleep: instant }), { kind: 'timeout' })
  assert.equal((await get(port, `/callback?code=late&state=${STATE}`)).status, 400)
  assert.deepEqual(calls, [])
})

test('callback: the timeout is given to the injected sleep', async (t) => {
  const { listener } = await start(t)
  const asked: number[] = []
  await listener.wait({ timeoutMs: 1234, sleep: async (ms) => void asked.push(ms) })
  assert.deepEqual(asked, [1234])
})

test('callback: Ctrl+C while waiting → InterruptedError at once', async (t) => {
  const { listener } = await start(t)
  const controller = new AbortController()
  const waited = listener.wait({ timeoutMs: 120_000, sleep: never, signal: controller.signal })
  controller.abort(new Error('SIGINT'))
  await assert.rejects(waited, (err) => err instanceof InterruptedError && err.exitCode === 130)
})

test('callback: a busy port is reported, not thrown', async (t) => {
  const other = createServer()
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => other.close(() => resolve())))
  const { port } = other.address() as AddressInfo
  const bound = await listenForCallback(port)
  assert.deepEqual(bound, { ok: false, reason: `port ${port} on 127.0.0.1 is in use` })
})

test('callback: the listener is on 127.0.0.1 only, not on other interfaces', async (t) => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)
  if (!external) return t.skip('no non-loopback IPv4 interface on this machine')
  const { port } = await start(t)
  await assert.rejects(get(port, '/callback', 'GET', external.address), { code: 'ECONNREFUSED' })
})

test('callback: close() frees the port', async (t) => {
  const { listener, port } = await start(t)
  await listener.close()
  const again = await listenForCallback(port)
  assert.ok(again.ok)
  await again.listener.close()
})

const secrets: Array<[string, string, boolean]> = [
  ['abc', 'abc', true],
  ['abc', 'abd', false],
  ['abc', 'abcd', false],
  ['', 'abc', false],
  ['', '', true],
]
for (const [given, expected, want] of secrets) {
  test(`isSameSecret(${JSON.stringify(given)}, ${JSON.stringify(expected)}) = ${want}`, () =>
    assert.equal(isSameSecret(given, expected), want))
}
