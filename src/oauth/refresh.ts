import * as oauth from 'oauth4webapi'
import type { OAuthContext } from './context.ts'
import { clientAuthOf, clientOf, requestOptions } from './context.ts'
import type { ServerMetadata } from './discovery.ts'
import { toGrantResult, type GrantResult } from './token-response.ts'

/**
 * Refresh Token Grant. Not replayed after an ambiguous network failure: with rotation, a second use of the same
 * refresh token is reuse, and the server revokes the whole grant (authgate-server.md §2.4).
 * AuthGate reads `client_id` from the form on this grant even for confidential clients and ignores HTTP Basic
 * (§1.2c), so with client_secret_basic the form carries client_id as well.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @throws oauth4webapi's ResponseBodyError (e.g. `invalid_grant`), TemporaryError, ProtocolError.
 */
export async function refreshTokens(ctx: OAuthContext, as: ServerMetadata, refreshToken: string): Promise<GrantResult> {
  const additionalParameters: Record<string, string> =
    ctx.clientSecret && ctx.clientAuth === 'basic' ? { client_id: ctx.clientId } : {}
  const response = await oauth.refreshTokenGrantRequest(
    as,
    clientOf(ctx),
    clientAuthOf(ctx),
    refreshToken,
    requestOptions(ctx, { replayable: false, endpoint: 'token endpoint' }, { additionalParameters }),
  )
  return toGrantResult(await oauth.processRefreshTokenResponse(as, clientOf(ctx), response))
}
