import * as oauth from 'oauth4webapi'
import type { HttpDeps, RequestPolicy, RetryBudget } from './http.ts'
import { boundedFetch } from './http.ts'

/** What every protocol step needs: who we are, where the server is, and the bounded HTTP of this command. */
export interface OAuthContext {
  readonly serverUrl: string
  readonly clientId: string
  readonly clientSecret?: string | undefined
  readonly clientAuth: 'post' | 'basic'
  readonly http: HttpDeps
  readonly budget: RetryBudget
}

export function clientOf(ctx: OAuthContext): oauth.Client {
  return { client_id: ctx.clientId }
}

/**
 * A public client authenticates with its client_id alone; a confidential one with client_secret_post (the default:
 * AuthGate reads secrets from the form only) or client_secret_basic on request.
 */
export function clientAuthOf(ctx: OAuthContext): oauth.ClientAuth {
  if (!ctx.clientSecret) return oauth.None()
  return ctx.clientAuth === 'basic'
    ? oauth.ClientSecretBasic(ctx.clientSecret)
    : oauth.ClientSecretPost(ctx.clientSecret)
}

/**
 * Options for every oauth4webapi request. `policy` names the endpoint for messages; a bare boolean (`replayable`)
 * leaves it unnamed, and the URL alone names it. http:// reaches this point only for loopback hosts or with
 * --allow-insecure-http (checked in config/), so allowing insecure requests here is the user's stated choice.
 */
export function requestOptions(
  ctx: OAuthContext,
  policy: RequestPolicy | boolean,
  extra: { additionalParameters?: Record<string, string>; headers?: Record<string, string> } = {},
) {
  return {
    [oauth.customFetch]: boundedFetch(
      ctx.http,
      ctx.budget,
      typeof policy === 'boolean' ? { replayable: policy } : policy,
    ),
    [oauth.allowInsecureRequests]: ctx.serverUrl.startsWith('http:'),
    ...(ctx.http.signal ? { signal: ctx.http.signal } : {}),
    ...extra,
  }
}
