import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProtocolError, TemporaryError } from '../errors.ts'
import { boundedFetch, RetryBudget, retryAfterMs, MAX_RESPONSE_BYTES, type HttpDeps } from './http.ts'

/** A fake clock that advances when the code sleeps, so backoff schedules run in microseconds. */
function harness(responses: Array<Response | Error>) {
  let now = 1_000_000
  const sleeps: number[] = []
  const calls: string[] = []
  const deps: HttpDeps = {
    clock: { now: () => now },
    sleep: async (ms) => {
      sleeps.push(ms)
      now += ms
    },
    fetch: async (url) => {
      calls.push(String(url))
      const next = responses.shift()
      if (!next) throw new Error('no more responses')
      if (next instanceof Error) throw next
      return next
    },
  }
  return { deps, sleeps, calls, budget: new RetryBudget(now), advance: (ms: number) => (now += ms) }
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
const connRefused = () => Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })
const connReset = () => Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } })

test('retries 5xx then succeeds', async () => {
  const h = harness([json(503, {}), json(502, {}), json(200, { ok: 1 })])
  const res = await boundedFetch(h.deps, h.budget, { replayable: true })('http://s/x')
  assert.equal(res.status, 200)
  assert.equal(h.calls.length, 3)
  assert.equal(h.sleeps.length, 2)
})

test('gives up after 3 retries with a TemporaryError', async () => {
  const h = harness([json(500, {}), json(500, {}), json(500, {}), json(500, {}), json(200, {})])
  await assert.rejects(
    boundedFetch(h.deps, h.budget, { replayable: true })('http://s/x'),
    (e: unknown) => e instanceof TemporaryError && /after 3 retries/.test(e.message),
  )
  assert.equal(h.calls.length, 4)
})

test('honours Retry-After and AuthGate X-RateLimit-Reset', async () => {
  const h = harness([json(429, {}, { 'retry-after': '2' }), json(200, {})])
  await boundedFetch(h.deps, h.budget, { replayable: true })('http://s/x')
  assert.deepEqual(h.sleeps, [2000])
  const nowS = Math.floor(h.deps.clock.now() / 1000)
  assert.equal(retryAfterMs(json(429, {}, { 'x-ratelimit-reset': String(nowS + 7) }), nowS * 1000), 7000)
  assert.equal(retryAfterMs(json(500, {}, { 'x-ratelimit-reset': String(nowS + 7) }), nowS * 1000), undefined)
})

test('a Retry-After longer than the budget ends the command at once', async () => {
  const h = harness([json(429, {}, { 'retry-after': '120' }), json(200, {})])
  await assert.rejects(
    boundedFetch(h.deps, h.budget, { replayable: true })('http://s/x'),
    (e: unknown) => e instanceof TemporaryError && /longer than the time left/.test(e.message),
  )
  assert.deepEqual(h.sleeps, [])
})

test('non-replayable requests retry only when the request never left', async () => {
  const refused = harness([connRefused(), json(200, {})])
  assert.equal((await boundedFetch(refused.deps, refused.budget, { replayable: false })('http://s/t')).status, 200)
  const reset = harness([connReset(), json(200, {})])
  await assert.rejects(
    boundedFetch(reset.deps, reset.budget, { replayable: false })('http://s/t'),
    (e: unknown) => e instanceof TemporaryError && /not replayed/.test(e.message),
  )
  assert.equal(reset.calls.length, 1)
  const replayable = harness([connReset(), json(200, {})])
  assert.equal((await boundedFetch(replayable.deps, replayable.budget, { replayable: true })('http://s/t')).status, 200)
})

test('bodies over 1 MiB and redirects are refused as protocol errors', async () => {
  const big = harness([new Response(new Uint8Array(MAX_RESPONSE_BYTES + 1), { status: 200 })])
  await assert.rejects(boundedFetch(big.deps, big.budget, { replayable: true })('http://s/x'), ProtocolError)
  const redirect = harness([new Response(null, { status: 302, headers: { location: 'http://evil.example/' } })])
  await assert.rejects(
    boundedFetch(redirect.deps, redirect.budget, { replayable: true })('http://s/x'),
    (e: unknown) => e instanceof ProtocolError && /evil\.example/.test(e.message),
  )
})
