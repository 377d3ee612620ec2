import * as oauth from 'oauth4webapi'
import type { OAuthContext } from './context.ts'
import { clientAuthOf, clientOf, requestOptions } from './context.ts'
import type { ServerMetadata } from './discovery.ts'
import { toGrantResult, type GrantResult } from './token-response.ts'

/**
 * Client Credentials Grant: the client authenticates as itself (client_secret_post or client_secret_basic, both of
 * which AuthGate reads, §1.2d) and gets an access token with no refresh token. `scope` is sent only when given:
 * AuthGate then grants every scope registered for the client, and refuses `openid` and `offline_access` here.
 * Replayable: it spends no one-time credential, so a request lost in transit may be sent again.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 * @throws oauth4webapi's ResponseBodyError (`invalid_client`, `unauthorized_client`, `invalid_scope`),
 *   WWWAuthenticateChallengeError (401 with a challenge), TemporaryError, ProtocolError.
 */
export async function requestClientCredentials(
  ctx: OAuthContext,
  as: ServerMetadata,
  scope: string | undefined,
): Promise<GrantResult> {
  const parameters = new URLSearchParams()
  if (scope) parameters.set('scope', scope)
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    clientOf(ctx),
    clientAuthOf(ctx),
    parameters,
    requestOptions(ctx, true),
  )
  return toGrantResult(await oauth.processClientCredentialsResponse(as, clientOf(ctx), response))
}
