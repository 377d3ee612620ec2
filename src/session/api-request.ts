import { isLoopbackHost } from '../session-key.ts'
import { isAllowedOrigin, type Settings } from '../config/settings.ts'
import { InterruptedError, TemporaryError, UsageError } from '../errors.ts'
import type { TokenSet } from '../stores/types.ts'
import type { TokenRequest } from './refresh-engine.ts'

/** How an authenticated request gets its tokens: the engine (CLI) or the library's single flight. */
export type TokenSource = (request?: TokenRequest) => Promise<TokenSet>

/** Longest wait for a resource server's status line and headers; a slow body after that is the caller's business. */
export const API_HEADERS_TIMEOUT_MS = 30_000

export type ApiTargetSettings = Pick<Settings, 'serverUrl' | 'apiUrl' | 'allowedHosts' | 'allowInsecureHttp'>

/**
 * Where `authgate api <path-or-url>` (and the library's `fetch`) sends the token.
 * A path is always joined to the API URL, leading slashes included (`/users` and `users` under
 * `https://api.example/v1` both give `/v1/users`, as gh does under GHES's `/api/v3`), and the result must stay on the
 * API URL's origin: `//evil.example` or `/\evil.example` can never carry the token elsewhere. A full http(s) URL
 * may name only the server's or the API URL's origin, or a host the user allowed: callers pass URLs they did not
 * build (a pagination `next` link), and the bearer must not follow one to another host.
 */
export function resolveApiTarget(target: string, settings: ApiTargetSettings): URL {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return absoluteTarget(target, settings)
  const base = new URL(settings.apiUrl)
  const path = target.replace(/^[\\/]+/, '')
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}/${path}`, base.origin)
  if (url.origin !== base.origin) throw new UsageError(`the path ${JSON.stringify(target)} leaves ${base.origin}`)
  return url
}

function absoluteTarget(target: string, settings: ApiTargetSettings): URL {
  const url = URL.canParse(target) ? new URL(target) : undefined
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`invalid URL ${JSON.stringify(target)}: expected a path, or an absolute http(s) URL`)
  }
  if (url.username || url.password)
    throw new UsageError('the URL must not contain credentials: authgate sends the token')
  if (url.protocol === 'http:' && !settings.allowInsecureHttp && !isLoopbackHost(url.hostname)) {
    throw new UsageError(`refusing to send a token over plain http to ${url.hostname}`, {
      hint: 'use https, or pass --allow-insecure-http',
    })
  }
  if (!isAllowedOrigin(url, settings)) {
    throw new UsageError(
      `refusing to send the token to ${url.origin}: it is neither the server nor the API URL; allow it with --allow-host ${url.host}`,
      { hint: 'or set AUTHGATE_ALLOW_HOSTS (library: allowedHosts), if that host may receive your access token' },
    )
  }
  return url
}

/**
 * Sends with a valid token; on 401 asks for a new one and sends once more (contract: "refreshes once, retries once").
 * The engine refreshes under the session lock, and `rejected` lets a peer that already replaced the token win
 * without a second refresh. Without a refresh token there is nothing to try, unless the token came from the
 * client-credentials grant, which can simply be asked again: otherwise the 401 goes back to the caller.
 * `send` is called at most twice and must build a fresh request each time (a body can be read only once).
 */
export async function sendAuthorized(
  tokens: TokenSource,
  send: (accessToken: string) => Promise<Response>,
): Promise<Response> {
  const first = await tokens()
  const response = await send(first.accessToken)
  // An agent keeps the refresh token (or the machine grant) on its side: it can renew what it handed out.
  const renewable = first.refreshToken !== undefined || first.flow === 'client_credentials' || first.fromAgent === true
  if (response.status !== 401 || !renewable) return response
  await response.body?.cancel().catch(() => {})
  const second = await tokens({ force: true, rejected: first.accessToken })
  return send(second.accessToken)
}

/**
 * One request with a bearer token through the injected fetch. Redirects are not followed unless `init.redirect` says
 * so: by default the token is never replayed to wherever a Location points (fetch drops it across origins anyway).
 * Failures to connect become TemporaryError (exit 5); an abort of `signal`, InterruptedError.
 */
export async function fetchWithBearer(
  send: typeof globalThis.fetch,
  url: URL,
  init: RequestInit,
  accessToken: string,
  signal?: AbortSignal,
): Promise<Response> {
  const headers = new Headers(init.headers)
  headers.set('authorization', `Bearer ${accessToken}`)
  const timeout = AbortSignal.timeout(API_HEADERS_TIMEOUT_MS)
  const stop = new AbortController()
  const onTimeout = () => stop.abort(timeout.reason)
  timeout.addEventListener('abort', onTimeout, { once: true })
  try {
    const signals = [stop.signal, signal].filter((s): s is AbortSignal => s !== undefined)
    return await send(url, { ...init, headers, redirect: init.redirect ?? 'manual', signal: AbortSignal.any(signals) })
  } catch (err) {
    if (signal?.aborted) throw new InterruptedError('interrupted', { cause: err })
    const why = stop.signal.aborted ? `no answer within ${API_HEADERS_TIMEOUT_MS / 1000} s` : causeOf(err)
    throw new TemporaryError(`cannot reach ${url.origin}: ${why}`, { cause: err, hint: 'try again later' })
  } finally {
    // Only the wait for the headers is bounded: a long download after that is not cut off.
    timeout.removeEventListener('abort', onTimeout)
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err))
}
