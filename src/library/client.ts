import { requireSession, type Settings } from '../config/settings.ts'
import type { Deps } from '../session/deps.ts'
import { fetchWithBearer, resolveApiTarget, sendAuthorized, type TokenSource } from '../session/api-request.ts'
import { SingleFlight } from '../session/refresh-engine.ts'
import { logOut, type RevocationOutcome } from '../session/logout.ts'
import { openSession } from '../session/open.ts'
import { openStore } from '../session/stores.ts'
import type { TokenStore } from '../stores/types.ts'
import { checkLoginOptions, logIn, type LoginOptions } from './login.ts'
import { checkOptions, resolveClientSettings, type ClientOptions } from './options.ts'
import { readStatus, type SessionStatus } from './status.ts'
import { libraryDeps } from './system.ts'

export interface LogoutReport {
  /** There were tokens to delete. */
  signedIn: boolean
  /** Each revocation, in the order sent (refresh token first); empty with `revoke: false`. */
  revocations: readonly RevocationOutcome[]
}

/** One session (server URL + client id), the same one the CLI uses with the same settings. */
export interface AuthgateClient {
  /** A valid access token, refreshed first when expiring. Concurrent calls share one refresh. */
  getAccessToken(): Promise<string>
  /**
   * fetch with `Authorization: Bearer`; on 401 the token is refreshed (once, under the session lock) and the request
   * sent once more. A relative URL is joined to `apiUrl`. Redirects are returned, not followed, unless `init.redirect`
   * says otherwise. The body is buffered so that it can be sent twice.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>
  /** Signs in (device or browser flow) and saves the tokens, replacing the session's entry. */
  login(options?: LoginOptions): Promise<SessionStatus>
  /** Revokes the tokens (unless `revoke: false`) and deletes them; a failed revocation is reported, not thrown. */
  logout(options?: { revoke?: boolean }): Promise<LogoutReport>
  /** Who is signed in, where the tokens live and until when; asks the server unless `offline`. */
  status(options?: { offline?: boolean }): Promise<SessionStatus>
}

/**
 * Checks the options (TypeError), resolves the settings (UsageError for an invalid value or no client id) and returns
 * the client. Nothing is read from the token store or the network until a method is called.
 */
export function createClient(options: ClientOptions): AuthgateClient {
  checkOptions(options)
  const deps = libraryDeps(options)
  const settings = resolveClientSettings(options, deps)
  requireSession(settings)
  // A session per call: each gets its own retry budget (3 retries, 30 s), as each CLI command does.
  // The postgres store is one connection (it holds the lock and saves), kept for the client's life rather than opened
  // per call: a service calling getAccessToken in a loop must not use up the server's max_connections.
  let shared: Promise<TokenStore> | undefined
  const store = () => (settings.tokenStore === 'postgres' ? (shared ??= openStore(settings, deps)) : undefined)
  const open = async () => openSession(settings, deps, { trace: options.trace, store: await store() })
  const flight = new SingleFlight()
  const tokens: TokenSource = async (request) => flight.run((await open()).context, request)
  return {
    getAccessToken: async () => (await tokens()).accessToken,
    fetch: (input, init) => authorizedFetch(settings, deps, tokens, input, init),
    login: async (o) => {
      checkLoginOptions(o)
      return logIn(await open(), deps, o)
    },
    logout: async (o) => logOut(await open(), { revoke: o?.revoke !== false }),
    status: async (o) => readStatus(settings, await open(), o?.offline === true),
  }
}

async function authorizedFetch(
  settings: Settings,
  deps: Deps,
  tokens: TokenSource,
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<Response> {
  const request = new Request(input instanceof Request ? input : targetOf(input, settings), init)
  const url = resolveApiTarget(request.url, settings)
  const body = request.body ? await request.arrayBuffer() : undefined
  const signals = [request.signal, deps.signal].filter((s): s is AbortSignal => s !== undefined)
  const base: RequestInit = { method: request.method, headers: request.headers, body, redirect: init?.redirect }
  return sendAuthorized(tokens, (accessToken) =>
    fetchWithBearer(deps.fetch, url, base, accessToken, AbortSignal.any(signals)),
  )
}

function targetOf(input: string | URL, settings: Settings): URL {
  return resolveApiTarget(String(input), settings)
}
