import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InterruptedError, RequestFailedError, TemporaryError } from '../errors.ts'
import { RetryBudget } from '../oauth/http.ts'
import { runDeviceFlow, type DeviceUi } from './login-device.ts'
import { createProtocol } from './protocol.ts'
import type { DeviceAuthorization, DevicePoll, Grant } from './protocol-types.ts'

const GRANT: Grant = { accessToken: 'access-1', tokenType: 'Bearer', refreshToken: 'refresh-1', expiresInSeconds: 3600 }
const granted: DevicePoll = { status: 'granted', grant: GRANT }
const pending: DevicePoll = { status: 'pending' }

function authorization(over: Partial<DeviceAuthorization> = {}): DeviceAuthorization {
  return {
    deviceCode: 'dc',
    userCode: 'ABCD-EFGH',
    verificationUri: 'http://as.test/device',
    verificationUriComplete: 'http://as.test/device?user_code=ABCD-EFGH',
    expiresInSeconds: 1800,
    intervalSeconds: 5,
    ...over,
  }
}

/** A clock that moves only when the code under test sleeps: a 30-minute flow runs in microseconds. */
function fakeTime(startMs = 1_000_000) {
  let nowMs = startMs
  const slept: number[] = []
  const controller = new AbortController()
  return {
    clock: { now: () => nowMs },
    slept,
    controller,
    async sleep(ms: number, signal?: AbortSignal) {
      if (signal?.aborted) throw signal.reason
      slept.push(ms)
      nowMs += ms
    },
  }
}

interface Case {
  name: string
  polls: DevicePoll[]
  auth?: Partial<DeviceAuthorization>
  tickMs?: number
  want: { error?: string; sleeps: number[]; slower?: Array<[number, string]>; polls?: number }
}

const cases: Case[] = [
  { name: 'approved at once: one interval before the first poll', polls: [granted], want: { sleeps: [5000] } },
  {
    name: 'authorization_pending keeps the interval',
    polls: [pending, pending, granted],
    want: { sleeps: [5000, 5000, 5000] },
  },
  {
    name: 'slow_down adds 5 s for every later poll',
    polls: [{ status: 'slow_down' }, pending, granted],
    want: { sleeps: [5000, 10000, 10000], slower: [[10, 'slow_down']] },
  },
  {
    name: 'slow_down twice adds 10 s',
    polls: [{ status: 'slow_down' }, { status: 'slow_down' }, granted],
    want: {
      sleeps: [5000, 10000, 15000],
      slower: [
        [10, 'slow_down'],
        [15, 'slow_down'],
      ],
    },
  },
  {
    name: '429 without Retry-After backs off like slow_down',
    polls: [{ status: 'rate_limited' }, granted],
    want: { sleeps: [5000, 10000], slower: [[10, 'rate_limited']] },
  },
  {
    name: '429 with a reset time waits for it once, then the slower interval',
    polls: [{ status: 'rate_limited', retryAfterMs: 42_000 }, pending, granted],
    want: { sleeps: [5000, 42000, 10000], slower: [[10, 'rate_limited']] },
  },
  {
    name: 'expired_token ends the flow',
    polls: [pending, { status: 'expired' }],
    want: { error: 'expired_token', sleeps: [5000, 5000] },
  },
  {
    name: 'access_denied ends the flow (AuthGate: also an unknown or used code)',
    polls: [{ status: 'denied' }],
    want: { error: 'access_denied', sleeps: [5000] },
  },
  {
    name: 'a server still pending after expires_in is given up on',
    auth: { expiresInSeconds: 12 },
    polls: [pending, pending, pending, granted],
    want: { error: 'expired_token', sleeps: [5000, 5000, 5000], polls: 3 },
  },
  {
    name: 'a terminal gets a tick every second, and the same polls',
    auth: { intervalSeconds: 2 },
    tickMs: 1000,
    polls: [pending, granted],
    want: { sleeps: [1000, 1000, 1000, 1000] },
  },
  {
    name: 'a tick longer than the interval never oversleeps',
    auth: { intervalSeconds: 3 },
    tickMs: 2000,
    polls: [granted],
    want: { sleeps: [2000, 1000] },
  },
]

for (const c of cases) {
  test(`device poller: ${c.name}`, async () => {
    const time = fakeTime()
    const script = [...c.polls]
    let polls = 0
    const slower: Array<[number, string]> = []
    const ui: DeviceUi = { deviceCode() {}, tickMs: c.tickMs, slower: (s, why) => void slower.push([s, why]) }
    const protocol = {
      deviceAuthorization: async () => authorization(c.auth),
      pollDevice: async (code: string) => {
        assert.equal(code, 'dc')
        polls++
        return script.shift() ?? pending
      },
    }
    const run = runDeviceFlow({ protocol, scope: 'email profile', clock: time.clock, sleep: time.sleep, ui })
    if (c.want.error) {
      await assert.rejects(
        run,
        (err: unknown) => err instanceof RequestFailedError && err.error === c.want.error && err.exitCode === 1,
      )
    } else {
      assert.deepEqual(await run, GRANT)
    }
    assert.deepEqual(time.slept, c.want.sleeps)
    assert.deepEqual(slower, c.want.slower ?? [])
    if (c.want.polls !== undefined) assert.equal(polls, c.want.polls)
  })
}

test('device poller: the countdown counts down to the code expiry, and settles once', async () => {
  const time = fakeTime()
  const seen: number[] = []
  let settled = 0
  const ui: DeviceUi = {
    deviceCode() {},
    tickMs: 1000,
    waiting: (s) => void seen.push(s),
    settled: () => void settled++,
  }
  const protocol = {
    deviceAuthorization: async () => authorization({ intervalSeconds: 2, expiresInSeconds: 600 }),
    pollDevice: async () => granted,
  }
  await runDeviceFlow({ protocol, scope: '', clock: time.clock, sleep: time.sleep, ui })
  assert.deepEqual(seen, [600, 599])
  assert.equal(settled, 1)
})

test('device poller: deviceCode is awaited before the first poll (the demo approves there)', async () => {
  const time = fakeTime()
  const order: string[] = []
  const ui: DeviceUi = { deviceCode: async (auth) => void order.push(`shown ${auth.userCode}`) }
  const protocol = {
    deviceAuthorization: async () => authorization(),
    pollDevice: async () => (order.push('poll'), granted),
  }
  await runDeviceFlow({ protocol, scope: '', clock: time.clock, sleep: time.sleep, ui })
  assert.deepEqual(order, ['shown ABCD-EFGH', 'poll'])
})

test('device poller: Ctrl+C while waiting ends at once with InterruptedError (exit 130), no further poll', async () => {
  const time = fakeTime()
  let polls = 0
  const sleep = async (ms: number, signal?: AbortSignal) => {
    if (time.slept.length === 1) time.controller.abort(new Error('SIGINT'))
    return time.sleep(ms, signal)
  }
  const protocol = { deviceAuthorization: async () => authorization(), pollDevice: async () => (polls++, pending) }
  const run = runDeviceFlow({
    protocol,
    scope: '',
    clock: time.clock,
    sleep,
    signal: time.controller.signal,
    ui: { deviceCode() {} },
  })
  await assert.rejects(run, (err: unknown) => err instanceof InterruptedError && err.exitCode === 130)
  assert.equal(polls, 1)
})

test('device poller: Ctrl+C while a poll is in flight drops even a granted answer', async () => {
  const time = fakeTime()
  const protocol = {
    deviceAuthorization: async () => authorization(),
    pollDevice: async () => (time.controller.abort(new Error('SIGINT')), granted),
  }
  const run = runDeviceFlow({
    protocol,
    scope: '',
    clock: time.clock,
    sleep: time.sleep,
    signal: time.controller.signal,
    ui: { deviceCode() {} },
  })
  await assert.rejects(run, InterruptedError)
})

test('device poller: a failing device authorization request is passed through untouched', async () => {
  const time = fakeTime()
  const failure = new RequestFailedError('device authorization failed: unauthorized_client', {
    error: 'unauthorized_client',
  })
  const protocol = { deviceAuthorization: async () => Promise.reject(failure), pollDevice: async () => granted }
  await assert.rejects(
    runDeviceFlow({ protocol, scope: '', clock: time.clock, sleep: time.sleep, ui: { deviceCode() {} } }),
    (err) => err === failure,
  )
  assert.deepEqual(time.slept, [])
})

// ---- the same loop over the real protocol client and boundedFetch, answers built by hand ----

const DEVICE_ANSWER = {
  device_code: 'a'.repeat(40),
  user_code: 'WXYZ-2345',
  verification_uri: 'https://as.test/device',
  verification_uri_complete: 'https://as.test/device?user_code=WXYZ-2345',
  expires_in: 1800,
  interval: 5,
}
const TOKENS = {
  access_token: 'at',
  token_type: 'Bearer',
  refresh_token: 'rt',
  expires_in: 3600,
  scope: 'email profile',
}

type Answer = { status: number; body: Record<string, unknown>; headers?: Record<string, string> }
const oauthError = (error: string, status = 400): Answer => ({ status, body: { error } })

const httpCases: Array<{
  name: string
  answers: (nowMs: number) => Answer[]
  want: { sleeps?: number[]; error?: (err: unknown) => boolean }
}> = [
  {
    name: 'AuthGate: authorization_pending, then tokens',
    answers: () => [oauthError('authorization_pending'), { status: 200, body: TOKENS }],
    want: { sleeps: [5000, 5000] },
  },
  {
    name: 'slow_down (RFC 8628 servers; AuthGate never sends it)',
    answers: () => [oauthError('slow_down'), { status: 200, body: TOKENS }],
    want: { sleeps: [5000, 10000] },
  },
  {
    name: "AuthGate's 429 with X-RateLimit-Reset 50 s away: wait for the reset, then poll slower",
    answers: (now) => [
      {
        status: 429,
        body: { error: 'rate_limit_exceeded' },
        headers: { 'x-ratelimit-reset': String(Math.floor(now / 1000) + 5 + 50) },
      },
      oauthError('authorization_pending'),
      { status: 200, body: TOKENS },
    ],
    want: { sleeps: [5000, 50000, 10000] },
  },
  {
    name: 'expired_token',
    answers: () => [oauthError('expired_token')],
    want: { error: (e) => e instanceof RequestFailedError && e.error === 'expired_token' },
  },
  {
    name: 'access_denied (AuthGate: unknown or used code)',
    answers: () => [oauthError('access_denied')],
    want: { error: (e) => e instanceof RequestFailedError && e.error === 'access_denied' },
  },
  {
    name: 'invalid_client is a failure, not a reason to keep polling',
    answers: () => [oauthError('invalid_client')],
    want: { error: (e) => e instanceof RequestFailedError && e.error === 'invalid_client' },
  },
  {
    name: '5xx after the retries is temporary (exit 5)',
    answers: () => Array(5).fill(oauthError('server_error', 503)),
    want: { error: (e) => e instanceof TemporaryError && e.exitCode === 5 },
  },
]

for (const c of httpCases) {
  test(`device flow over HTTP: ${c.name}`, async () => {
    const time = fakeTime(1_700_000_000_000)
    const answers = c.answers(time.clock.now())
    const fetch = (async (url: string | URL) => {
      const path = new URL(String(url)).pathname
      if (path.startsWith('/.well-known/')) return new Response('not found', { status: 404 })
      if (path === '/oauth/device/code') return Response.json(DEVICE_ANSWER)
      const a = answers.shift() ?? oauthError('authorization_pending')
      return Response.json(a.body, { status: a.status, headers: a.headers ?? {} })
    }) as typeof globalThis.fetch
    const protocol = createProtocol({
      serverUrl: 'https://as.test',
      clientId: 'cli',
      clientAuth: 'post',
      http: { fetch, sleep: time.sleep, clock: time.clock },
      budget: new RetryBudget(time.clock.now()),
    })
    const run = runDeviceFlow({
      protocol,
      scope: 'email profile',
      clock: time.clock,
      sleep: time.sleep,
      ui: { deviceCode() {} },
    })
    if (c.want.error) return void (await assert.rejects(run, c.want.error))
    assert.equal((await run).accessToken, 'at')
    assert.deepEqual(time.slept, c.want.sleeps)
  })
}
