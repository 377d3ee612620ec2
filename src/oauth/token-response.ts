import type * as oauth from 'oauth4webapi'
import { ProtocolError } from '../errors.ts'
import { isTokenText } from '../token-text.ts'

/** A token endpoint answer, checked beyond what oauth4webapi checks, in the shape the session stores. */
export interface GrantResult {
  accessToken: string
  tokenType: string
  refreshToken?: string | undefined
  expiresInSeconds?: number | undefined
  scope?: string | undefined
  idToken?: string | undefined
}

/**
 * oauth4webapi has validated JSON, `access_token` and the types of the optional fields. We only accept Bearer
 * tokens: a DPoP or MAC token sent as a bearer would be refused by every resource server the CLI feeds.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function toGrantResult(res: oauth.TokenEndpointResponse): GrantResult {
  const tokenType = String(res.token_type ?? '')
  if (tokenType.toLowerCase() !== 'bearer') {
    throw new ProtocolError(
      `the server issued a token of type ${JSON.stringify(res.token_type)}; authgate only handles Bearer tokens`,
    )
  }
  for (const [field, value] of [
    ['access_token', res.access_token],
    ['refresh_token', res.refresh_token],
  ] as const) {
    if (value && !isTokenText(value))
      throw new ProtocolError(`the server sent an ${field} with characters a token may not hold (RFC 6749 VSCHAR)`)
  }
  if (res.expires_in !== undefined && !(Number.isFinite(res.expires_in) && res.expires_in >= 0)) {
    throw new ProtocolError('the server sent an invalid expires_in')
  }
  return {
    accessToken: res.access_token,
    tokenType: 'Bearer',
    refreshToken: res.refresh_token,
    expiresInSeconds: res.expires_in,
    scope: res.scope,
    idToken: res.id_token,
  }
}
