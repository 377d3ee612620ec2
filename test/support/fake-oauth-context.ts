import type { OAuthContext } from '../../src/oauth/context.ts'
import type { ServerMetadata } from '../../src/oauth/discovery.ts'
import { RetryBudget } from '../../src/oauth/http.ts'

/** Server metadata for protocol-step tests that never touch a network. */
export const AS: ServerMetadata = {
  issuer: 'https://as.test',
  authorization_endpoint: 'https://as.test/oauth/authorize',
  device_authorization_endpoint: 'https://as.test/oauth/device/code',
  token_endpoint: 'https://as.test/oauth/token',
  discovered: true,
}

export interface SentRequest {
  url: string
  headers: Headers
  form: URLSearchParams
}

/** An OAuthContext whose fetch answers `reply()` and records what was sent (oauth4webapi's test/_setup.ts style). */
export function contextFor(
  reply: () => Response,
  over: Partial<OAuthContext> = {},
): { ctx: OAuthContext; sent: SentRequest[] } {
  const sent: SentRequest[] = []
  const fetch = (async (url: string | URL, init?: RequestInit) => {
    sent.push({
      url: String(url),
      headers: new Headers(init?.headers),
      form: new URLSearchParams(String(init?.body ?? '')),
    })
    return reply()
  }) as typeof globalThis.fetch
  const clock = { now: () => 1_000_000 }
  const ctx: OAuthContext = {
    serverUrl: 'https://as.test',
    clientId: 'cli',
    clientAuth: 'post',
    http: { fetch, sleep: async () => {}, clock },
    budget: new RetryBudget(clock.now()),
    ...over,
  }
  return { ctx, sent }
}

/** A hand-built JSON answer. */
export const json =
  (body: unknown, status = 200) =>
  () =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
