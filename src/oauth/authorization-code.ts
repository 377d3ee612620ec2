import * as oauth from 'oauth4webapi'
import type { OAuthContext } from './context.ts'
import { clientAuthOf, clientOf, requestOptions } from './context.ts'
import type { ServerMetadata } from './discovery.ts'
import { toGrantResult, type GrantResult } from './token-response.ts'

/** A browser sign-in in progress. Only `url` is ever shown; the verifier never leaves this process but in the exchange. */
export interface AuthorizationRequestResult {
  url: string
  state: string
  codeVerifier: string
  /** Sent at /authorize and again at the token endpoint, byte for byte: AuthGate compares them as strings (§1.2b). */
  redirectUri: string
  /** Sent with `openid` in the scope only; the ID token must carry it back. */
  nonce?: string | undefined
}

/**
 * Authorization Request with PKCE S256 (the only method AuthGate accepts, and mandatory for its public clients) and a
 * random `state`. The challenge is sent for confidential clients too: AuthGate ignores it, other servers check it.
 * With `openid` in the scope, a fresh `nonce` too: OpenID Connect makes it optional for the code flow, but several
 * providers refuse an authorization request without one (issue 14), and it binds the ID token to this request.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest
 * @throws nothing but a TypeError for a missing authorization endpoint (discovery always provides one).
 */
export async function buildAuthorizationUrl(
  ctx: OAuthContext,
  as: ServerMetadata,
  input: { redirectUri: string; scope: string },
): Promise<AuthorizationRequestResult> {
  if (!as.authorization_endpoint) throw new TypeError('the server metadata has no authorization_endpoint')
  const codeVerifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = input.scope.split(/\s+/).includes('openid') ? oauth.generateRandomNonce() : undefined
  const url = new URL(as.authorization_endpoint)
  const params: Array<[string, string]> = [
    ['response_type', 'code'],
    ['client_id', ctx.clientId],
    ['redirect_uri', input.redirectUri],
    ...(input.scope ? [['scope', input.scope] as [string, string]] : []),
    ['state', state],
    ['code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier)],
    ['code_challenge_method', 'S256'],
    ...(nonce ? [['nonce', nonce] as [string, string]] : []),
  ]
  for (const [name, value] of params) url.searchParams.set(name, value)
  return { url: url.href, state, codeVerifier, redirectUri: input.redirectUri, nonce }
}

/**
 * Access Token Request for an authorization code. oauth4webapi checks the callback first (`state`, and `iss` where
 * the server supports RFC 9207). Never replayed: a code is single use, and a replay after a lost answer would only
 * earn `invalid_grant`. AuthGate reads client credentials from the form only on this grant (§1.2b), hence
 * client_secret_post by default; with client_secret_basic the form still carries `client_id`, which it requires.
 * When the request carried a nonce, the answer must hold an ID token whose `nonce` is that one (OpenID Connect Core
 * §3.1.3.7 step 11), which oauth4webapi checks when given `expectedNonce`.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
 * @throws oauth4webapi's AuthorizationResponseError, ResponseBodyError (e.g. `invalid_grant`), OperationProcessingError;
 *   TemporaryError, ProtocolError.
 */
export async function exchangeAuthorizationCode(
  ctx: OAuthContext,
  as: ServerMetadata,
  callback: URLSearchParams,
  request: AuthorizationRequestResult,
): Promise<GrantResult> {
  const params = oauth.validateAuthResponse(as, clientOf(ctx), callback, request.state)
  const additionalParameters: Record<string, string> =
    ctx.clientSecret && ctx.clientAuth === 'basic' ? { client_id: ctx.clientId } : {}
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    clientOf(ctx),
    clientAuthOf(ctx),
    params,
    request.redirectUri,
    request.codeVerifier,
    requestOptions(ctx, { replayable: false, endpoint: 'token endpoint' }, { additionalParameters }),
  )
  const expected = request.nonce === undefined ? undefined : { expectedNonce: request.nonce }
  return toGrantResult(await oauth.processAuthorizationCodeResponse(as, clientOf(ctx), response, expected))
}
