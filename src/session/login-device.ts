import { InterruptedError, RequestFailedError } from '../errors.ts'
import type { DeviceAuthorization, DevicePoll, Grant, LoginProtocol } from './protocol-types.ts'

/** What the device flow tells the person. The command renders it on stderr; the demo approves the code in `deviceCode`. */
export interface DeviceUi {
  /** Awaited before the first poll, so a caller can approve the code before the loop asks for the first time. */
  deviceCode(auth: DeviceAuthorization): void | Promise<void>
  /** Called every `tickMs` while waiting (a live countdown on a terminal); without it, once before each poll. */
  readonly tickMs?: number | undefined
  waiting?(secondsLeft: number): void
  /** The server asked for slower polling (`slow_down`, or a 429): the new interval. */
  slower?(intervalSeconds: number, why: 'slow_down' | 'rate_limited'): void
  /** The wait is over, whatever its outcome (a countdown line is cleared here). */
  settled?(): void
}

export interface DeviceFlowInput {
  readonly protocol: Pick<LoginProtocol, 'deviceAuthorization' | 'pollDevice'>
  readonly scope: string
  readonly clock: { now(): number }
  /** The only way this loop waits, so a fake clock runs a 30-minute flow in milliseconds. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  readonly signal?: AbortSignal | undefined
  readonly ui: DeviceUi
}

/** RFC 8628 §3.5: "the client MUST increase the interval by 5 seconds for all subsequent requests". */
export const SLOW_DOWN_STEP_MS = 5_000

/**
 * The Device Authorization Grant from request to tokens. We own the loop (openid-client's poller uses real timers):
 * it waits one interval before every poll, including the first, as RFC 8628 §3.5 asks.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.4
 * @throws InterruptedError on Ctrl+C; RequestFailedError for `expired_token` and `access_denied`; whatever the
 *   protocol throws (TemporaryError, ProtocolError, RequestFailedError).
 */
export async function runDeviceFlow(input: DeviceFlowInput): Promise<Grant> {
  const auth = await input.protocol.deviceAuthorization(input.scope)
  await input.ui.deviceCode(auth)
  try {
    return await pollUntilDecided(input, auth)
  } finally {
    input.ui.settled?.()
  }
}

async function pollUntilDecided(input: DeviceFlowInput, auth: DeviceAuthorization): Promise<Grant> {
  const deadlineMs = input.clock.now() + auth.expiresInSeconds * 1000
  let intervalMs = auth.intervalSeconds * 1000
  let waitMs = intervalMs
  for (;;) {
    await waitWithCountdown(input, waitMs, deadlineMs)
    const poll = await input.protocol.pollDevice(auth.deviceCode)
    // Ctrl+C while a poll was in flight: drop whatever came back, so nothing is saved.
    if (input.signal?.aborted) throw new InterruptedError()
    if (poll.status === 'granted') return poll.grant
    if (poll.status === 'expired') throw expired()
    if (poll.status === 'denied') throw denied(poll)
    if (poll.status === 'slow_down' || poll.status === 'rate_limited') {
      intervalMs += SLOW_DOWN_STEP_MS
      input.ui.slower?.(intervalMs / 1000, poll.status)
    }
    waitMs = Math.max(intervalMs, poll.status === 'rate_limited' ? (poll.retryAfterMs ?? 0) : 0)
    // A server that keeps answering `authorization_pending` after the code's lifetime must not keep us here.
    if (input.clock.now() >= deadlineMs) throw expired()
  }
}

async function waitWithCountdown(input: DeviceFlowInput, waitMs: number, deadlineMs: number): Promise<void> {
  const tickMs = input.ui.tickMs
  for (let left = waitMs; left > 0;) {
    input.ui.waiting?.(Math.max(0, Math.ceil((deadlineMs - input.clock.now()) / 1000)))
    const step = tickMs ? Math.min(tickMs, left) : left
    await sleepOrInterrupt(input, step)
    left -= step
  }
}

async function sleepOrInterrupt(input: DeviceFlowInput, ms: number): Promise<void> {
  if (input.signal?.aborted) throw new InterruptedError()
  try {
    await input.sleep(ms, input.signal)
  } catch (err) {
    if (input.signal?.aborted) throw new InterruptedError('interrupted', { cause: err })
    throw err
  }
}

function expired(): RequestFailedError {
  return new RequestFailedError('the device code expired before the sign-in was approved', {
    error: 'expired_token',
    hint: 'run `authgate login` again and approve the new code sooner',
  })
}

function denied(poll: Extract<DevicePoll, { status: 'denied' }>): RequestFailedError {
  // AuthGate also answers access_denied for a code it does not know or has already redeemed (authgate-server.md §3).
  const detail = poll.description ? `: ${poll.description}` : ''
  return new RequestFailedError(
    `the server refused the device sign-in (access_denied${detail}): it was denied, or the code is unknown or already used`,
    {
      error: 'access_denied',
      hint: 'run `authgate login` to start again',
    },
  )
}
