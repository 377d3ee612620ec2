import * as oauth from 'oauth4webapi'
import type { OAuthContext } from './context.ts'
import { clientAuthOf, clientOf, requestOptions } from './context.ts'
import type { ServerMetadata } from './discovery.ts'

export type TokenTypeHint = 'access_token' | 'refresh_token'

/**
 * Token Revocation Request, with `token_type_hint`. The client authenticates as configured: standard servers require
 * it (RFC 7009 §2.1), AuthGate ignores it (authgate-server.md §1.7), and a public client sends its `client_id`.
 * Replayable: revoking twice is harmless, and the server answers 200 for a token it does not know (RFC 7009 §2.2).
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2
 * @throws oauth4webapi's ResponseBodyError (e.g. `unsupported_token_type`), OperationProcessingError for a non-200
 *   answer without an OAuth error body; TemporaryError, ProtocolError.
 */
export async function revokeToken(
  ctx: OAuthContext,
  as: ServerMetadata,
  token: string,
  hint: TokenTypeHint,
): Promise<void> {
  const response = await oauth.revocationRequest(
    as,
    clientOf(ctx),
    clientAuthOf(ctx),
    token,
    requestOptions(
      ctx,
      { replayable: true, endpoint: 'revocation endpoint' },
      { additionalParameters: { token_type_hint: hint } },
    ),
  )
  await oauth.processRevocationResponse(response)
}
