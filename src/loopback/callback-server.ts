import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { InterruptedError, RequestFailedError } from '../errors.ts'

/** What a genuine callback looks like, and what to do with it. */
export interface CallbackExpectation<T> {
  /** The redirect URI's path; any other path is a 404 (browsers ask for /favicon.ico). */
  path: string
  state: string
  /**
   * Called at most once, for the first callback whose `state` matches and that carries no `error`. Its outcome
   * decides the page the browser shows, so the person never reads "signed in" when the code exchange failed.
   */
  handle(params: URLSearchParams): Promise<T>
}

export interface CallbackWaitOptions {
  /** No genuine callback within this long → `{ kind: 'timeout' }`. Undefined: until closed. */
  timeoutMs?: number | undefined
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /** Aborted (Ctrl+C) → InterruptedError at once. */
  signal?: AbortSignal | undefined
}

export type CallbackOutcome<T> = { kind: 'done'; value: T } | { kind: 'timeout' }

export interface CallbackListener<T> {
  /** The port actually bound (the configured one, or the kernel's pick for 0). */
  readonly port: number
  /** From now on a callback is accepted; before, none can be (no URL carrying the state exists yet). */
  expect(expectation: CallbackExpectation<T>): void
  wait(options: CallbackWaitOptions): Promise<CallbackOutcome<T>>
  close(): Promise<void>
}

export type ListenResult<T> = { ok: true; listener: CallbackListener<T> } | { ok: false; reason: string }

/**
 * Binds the RFC 8252 loopback listener on 127.0.0.1 only (never all interfaces: the code must not be reachable from
 * the network), before any browser is opened. A busy port is an answer, not an error: the caller picks another flow.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-8.3
 */
export async function listenForCallback<T>(port: number): Promise<ListenResult<T>> {
  const server = createServer()
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve())
    })
  } catch (err) {
    const code = (err as { code?: string }).code
    const reason =
      code === 'EADDRINUSE'
        ? `port ${port} on 127.0.0.1 is in use`
        : code === 'EACCES'
          ? `port ${port} on 127.0.0.1 cannot be used without privileges`
          : `cannot listen on 127.0.0.1:${port} (${code ?? String(err)})`
    return { ok: false, reason }
  }
  return { ok: true, listener: new LoopbackListener<T>(server) }
}

type Phase = 'idle' | 'waiting' | 'handling' | 'ended'

class LoopbackListener<T> implements CallbackListener<T> {
  readonly port: number
  readonly #server: Server
  #phase: Phase = 'idle'
  #expectation: CallbackExpectation<T> | undefined
  #outcome: Promise<T> | undefined
  readonly #accepted: Promise<void>
  #markAccepted!: () => void

  constructor(server: Server) {
    this.#server = server
    this.port = (server.address() as AddressInfo).port
    this.#accepted = new Promise<void>((resolve) => (this.#markAccepted = resolve))
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.#onRequest(req, res))
  }

  expect(expectation: CallbackExpectation<T>): void {
    if (this.#phase !== 'idle') throw new TypeError('the callback listener already has an expectation')
    this.#expectation = expectation
    this.#phase = 'waiting'
  }

  async wait(options: CallbackWaitOptions): Promise<CallbackOutcome<T>> {
    const first = await this.#acceptedOrTimeout(options)
    if (first === 'timeout' && this.#phase === 'waiting') this.#phase = 'ended' // late callbacks are refused from now on
    if (!this.#outcome) return { kind: 'timeout' }
    return { kind: 'done', value: await this.#outcome }
  }

  async close(): Promise<void> {
    if (this.#phase !== 'handling') this.#phase = 'ended'
    this.#markAccepted()
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve())
      this.#server.closeAllConnections()
    })
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> | undefined {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const expectation = this.#expectation
    if (req.method !== 'GET') return sendPage(res, 405, 'Method not allowed', 'The callback only answers GET.')
    if (!expectation || url.pathname !== expectation.path) return sendPage(res, 404, 'Not found', 'Nothing here.')
    if (this.#phase !== 'waiting') return sendPage(res, 400, 'Sign-in already handled', REPEATED)
    const states = url.searchParams.getAll('state')
    if (states.length !== 1 || !isSameSecret(states[0]!, expectation.state))
      return sendPage(res, 400, 'Sign-in refused', FORGED)
    this.#phase = 'handling' // synchronously, before any await: a second callback can never reach handle()
    this.#outcome = this.#respond(res, expectation, url.searchParams)
    this.#outcome.catch(() => {}) // observed by wait(); this keeps an early failure from being "unhandled"
    this.#markAccepted()
    return undefined
  }

  async #respond(res: ServerResponse, expectation: CallbackExpectation<T>, params: URLSearchParams): Promise<T> {
    try {
      const error = params.get('error')
      if (error !== null) {
        const description = params.get('error_description')
        await sendPage(
          res,
          400,
          'Sign-in refused',
          `The server refused the sign-in: ${error}${description ? ` (${description})` : ''}. See the terminal.`,
        )
        throw new RequestFailedError(
          `the server refused the sign-in: ${error}${description ? `: ${description}` : ''}`,
          { error, hint: 'run `authgate login` to try again' },
        )
      }
      let value: T
      try {
        value = await expectation.handle(params)
      } catch (err) {
        await sendPage(
          res,
          502,
          'Sign-in failed',
          `authgate could not complete the sign-in: ${err instanceof Error ? err.message : String(err)}. See the terminal.`,
        )
        throw err
      }
      await sendPage(res, 200, 'Signed in', 'You are signed in. You can close this tab and return to the terminal.')
      return value
    } finally {
      this.#phase = 'ended'
    }
  }

  #acceptedOrTimeout(options: CallbackWaitOptions): Promise<'accepted' | 'timeout'> {
    const timer = new AbortController()
    return new Promise<'accepted' | 'timeout'>((resolve, reject) => {
      const onAbort = () => finish(() => reject(new InterruptedError()))
      const finish = (settle: () => void) => {
        timer.abort()
        options.signal?.removeEventListener('abort', onAbort)
        settle()
      }
      if (options.signal?.aborted) return onAbort()
      options.signal?.addEventListener('abort', onAbort, { once: true })
      void this.#accepted.then(() => finish(() => resolve('accepted')))
      if (options.timeoutMs !== undefined) {
        options.sleep(options.timeoutMs, timer.signal).then(
          () => finish(() => resolve('timeout')),
          () => {},
        )
      }
    })
  }
}

const FORGED =
  'This response does not belong to the sign-in authgate started (its state does not match), so it was ignored. ' +
  'If you did not start it, close this tab.'
const REPEATED =
  'This sign-in has already been handled or has ended; nothing was done with this response. Return to the terminal.'

/**
 * Compared in constant time. Hashing first gives timingSafeEqual the equal-length buffers it needs without
 * revealing the expected length.
 */
export function isSameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // The callback URL holds the code: never let it leave in a Referer, and let the page load nothing.
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  'x-content-type-options': 'nosniff',
  connection: 'close',
}

/** Resolves when the page is written or the browser went away: a vanished tab must never hang the sign-in. */
function sendPage(res: ServerResponse, status: number, title: string, message: string): Promise<void> {
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · authgate</title>` +
    '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em}</style></head>' +
    `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>\n`
  return new Promise<void>((resolve) => {
    res.once('close', resolve)
    res.writeHead(status, HEADERS)
    res.end(html, resolve)
  })
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}
