import { ProtocolError, TemporaryError, InterruptedError } from '../errors.ts'
import { answerOf, describeAnswer, endpointOf, recordAnswer } from './answer.ts'

/** The contract caps every answer at 1 MiB: a hostile or broken server cannot make the CLI buffer more. */
export const MAX_RESPONSE_BYTES = 1024 * 1024
/** Per-request deadline, headers and body included ("headers that never finish" end here). */
export const REQUEST_TIMEOUT_MS = 10_000

export interface HttpDeps {
  fetch: typeof globalThis.fetch
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  clock: { now(): number }
  /** Trace lines for `--verbose`; already redacted by the caller's sink. */
  trace?: ((line: string) => void) | undefined
  /** Told every credential a request carries before it is sent (see `credentialsOf`). */
  secret?: ((value: string | undefined) => void) | undefined
  signal?: AbortSignal | undefined
  requestTimeoutMs?: number | undefined
}

/** At most 3 retries and 30 s in all per command (contract, "Retries"). Shared by every request of one command. */
export class RetryBudget {
  retriesLeft = 3
  readonly deadlineMs: number
  constructor(nowMs: number, totalMs = 30_000) {
    this.deadlineMs = nowMs + totalMs
  }
}

export interface RequestPolicy {
  /**
   * False for grants that spend a one-time credential (refresh with rotation, code exchange): if the connection broke
   * after the request was sent, the server may already have used it, and replaying it could trip reuse detection and
   * revoke the whole grant. Those are retried only when the request provably never arrived, or the server said so (429, 5xx).
   */
  replayable: boolean
  /** What the URL is, for messages: 'token endpoint', 'revocation endpoint' … (see oauth/answer.ts). */
  endpoint?: string | undefined
}

type FetchInit = RequestInit & { signal?: AbortSignal | null }

/**
 * A fetch for oauth4webapi's [customFetch]: bounded in time and size, retried with backoff for connection errors,
 * 429 and 5xx (honouring Retry-After and AuthGate's X-RateLimit-Reset), never following redirects.
 */
export function boundedFetch(deps: HttpDeps, budget: RetryBudget, policy: RequestPolicy) {
  return async (url: string | URL, init: FetchInit = {}): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      let response: Response
      try {
        response = await sendOnce(deps, String(url), init, policy.endpoint)
      } catch (err) {
        if (err instanceof InterruptedError || err instanceof ProtocolError) throw err
        if (untrustedCertificate(err)) throw certificateFailure(url, err)
        const safe = policy.replayable || neverArrived(err)
        const wait = safe ? backoffMs(attempt) : undefined
        await waitOrFail(deps, budget, wait, `cannot reach ${origin(url)}: ${describe(err)}`, err)
        continue
      }
      if (response.status === 429 || response.status >= 500) {
        const wait = retryAfterMs(response, deps.clock.now()) ?? backoffMs(attempt)
        await waitOrFail(deps, budget, wait, describeAnswer(answerOf(response)!), undefined, response)
        continue
      }
      return response
    }
  }
}

async function sendOnce(deps: HttpDeps, url: string, init: FetchInit, endpoint?: string): Promise<Response> {
  const timeout = AbortSignal.timeout(deps.requestTimeoutMs ?? REQUEST_TIMEOUT_MS)
  const signals = [timeout, deps.signal, init.signal].filter((s): s is AbortSignal => !!s)
  const signal = AbortSignal.any(signals)
  const started = deps.clock.now()
  const sent = credentialsOf(init)
  for (const credential of sent) deps.secret?.(credential)
  try {
    const res = await deps.fetch(url, { ...init, signal, redirect: 'manual' })
    const body = await readCapped(res, url, endpoint)
    deps.trace?.(
      `${init.method ?? 'GET'} ${url} → ${res.status} (${body.byteLength} bytes, ${deps.clock.now() - started} ms)`,
    )
    if (res.status >= 300 && res.status < 400) {
      throw new ProtocolError(
        `${endpointOf(endpoint, url)} answered a redirect (${res.status}) to ${res.headers.get('location') ?? 'nowhere'}; authgate does not follow redirects on OAuth requests`,
      )
    }
    const answer = new Response(res.status === 204 || res.status === 304 ? null : (body as unknown as BodyInit), {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    })
    recordAnswer(answer, { endpoint, url, sent }, body)
    return answer
  } catch (err) {
    if (deps.signal?.aborted || init.signal?.aborted) throw new InterruptedError('interrupted', { cause: err })
    if (timeout.aborted)
      throw new TimeoutFailure(`no complete answer within ${(deps.requestTimeoutMs ?? REQUEST_TIMEOUT_MS) / 1000} s`)
    throw err
  }
}

class TimeoutFailure extends Error {}

/** Form fields that carry a credential: a server may echo any of them in an error description. */
const CREDENTIAL_FIELDS = ['refresh_token', 'client_secret', 'code', 'code_verifier', 'device_code', 'token']

/**
 * What a request carries that a server may echo in an error description ("unknown refresh token RT…"). The stored
 * refresh token is known to the CLI's redactor only once a grant succeeds, and the library has none: so each is
 * registered as it is sent, and cut from what the answer's messages quote (oauth/answer.ts).
 */
function credentialsOf(init: FetchInit): string[] {
  const body = init.body
  const form = body instanceof URLSearchParams ? body : typeof body === 'string' ? new URLSearchParams(body) : undefined
  const authorization = new Headers(init.headers).get('authorization')?.replace(/^\S+\s+/, '')
  const values = [...CREDENTIAL_FIELDS.map((field) => form?.get(field)), authorization]
  return values.filter((v): v is string => typeof v === 'string' && v.length >= 6)
}

async function readCapped(res: Response, url: string, endpoint: string | undefined): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'))
  if (declared > MAX_RESPONSE_BYTES) {
    await res.body?.cancel().catch(() => {})
    throw tooLarge(endpointOf(endpoint, url))
  }
  if (!res.body) return new Uint8Array(0)
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength
    if (size > MAX_RESPONSE_BYTES) {
      await res.body.cancel().catch(() => {})
      throw tooLarge(endpointOf(endpoint, url))
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

function tooLarge(endpoint: string): ProtocolError {
  return new ProtocolError(`${endpoint} sent an answer larger than 1 MiB; refusing to read it`)
}

async function waitOrFail(
  deps: HttpDeps,
  budget: RetryBudget,
  waitMs: number | undefined,
  what: string,
  cause?: unknown,
  res?: Response,
): Promise<void> {
  const left = budget.deadlineMs - deps.clock.now()
  if (waitMs === undefined || budget.retriesLeft <= 0 || waitMs > left) {
    const why =
      waitMs === undefined
        ? 'the request may have reached the server, so it is not replayed'
        : budget.retriesLeft <= 0
          ? 'after 3 retries'
          : `the server asks to wait ${Math.ceil(waitMs / 1000)} s, longer than the time left`
    const err = new TemporaryError(`${what} (${why})`, { cause, hint: 'try again later; nothing was lost' })
    if (res) Object.defineProperty(err, 'response', { value: res, enumerable: false })
    throw err
  }
  budget.retriesLeft--
  deps.trace?.(`retrying in ${waitMs} ms: ${what}`)
  try {
    await deps.sleep(waitMs, deps.signal)
  } catch (err) {
    throw new InterruptedError('interrupted', { cause: err })
  }
}

/** 0.5 s, 1 s, 2 s … with ±20 % jitter so a crowd of clients does not retry in step. */
export function backoffMs(attempt: number, random = Math.random): number {
  return Math.round(500 * 2 ** attempt * (0.8 + 0.4 * random()))
}

/** Retry-After (seconds or HTTP date), else AuthGate's X-RateLimit-Reset (unix seconds), else undefined. */
export function retryAfterMs(res: Response, nowMs: number): number | undefined {
  const header = res.headers.get('retry-after')
  if (header) {
    if (/^\d+$/.test(header.trim())) return Number(header) * 1000
    const at = Date.parse(header)
    if (!Number.isNaN(at)) return Math.max(0, at - nowMs)
  }
  const reset = res.headers.get('x-ratelimit-reset')
  if (res.status === 429 && reset && /^\d+$/.test(reset.trim())) return Math.max(0, Number(reset) * 1000 - nowMs)
  return undefined
}

/** TLS verification failures (OpenSSL's and Node's codes): the same certificate fails again, so they are not retried. */
const CERTIFICATE_FAILURES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

function untrustedCertificate(err: unknown): boolean {
  return CERTIFICATE_FAILURES.has(errorCode(err) ?? '')
}

/** Exit 5 at once, as an unreachable server (contract), saying why and what a private CA needs. */
function certificateFailure(url: string | URL, err: unknown): TemporaryError {
  return new TemporaryError(
    `cannot reach ${origin(url)}: ${describe(err)} (its TLS certificate is not trusted; not retried)`,
    {
      cause: err,
      hint: 'a server with a private CA: put the CA certificate in a file and set NODE_EXTRA_CA_CERTS to its path',
    },
  )
}

/** Failures that happen before a single byte of the request left: replaying is harmless. */
function neverArrived(err: unknown): boolean {
  const code = errorCode(err)
  return (
    code !== undefined &&
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)
  )
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}

function describe(err: unknown): string {
  return errorCode(err) ?? (err instanceof Error ? err.message : String(err))
}

function origin(url: string | URL): string {
  try {
    return new URL(String(url)).origin
  } catch {
    return String(url)
  }
}
