import { profileClaims } from './code-grant.ts'
import { bearerToken, jsonReply, oauthError, rawReply, type Ctx, type Reply } from './http.ts'
import { secretMatches, sha256Hex } from './state.ts'
import { clientCredentialsOf } from './token-endpoint.ts'
import { findTokenRow, isRowUsable, validateAccessToken } from './tokens.ts'

/** The endpoints that read or delete tokens: tokeninfo (§1.5), userinfo (§1.8), introspect (§1.6), revoke (§1.7). */

export function handleTokenInfo(ctx: Ctx): Reply {
  const token = bearerToken(ctx.req)
  if (token === undefined) return oauthError(401, 'missing_token')
  const check = validateAccessToken(ctx.state, token)
  if (!check.ok) return oauthError(401, 'invalid_token', 'Token is invalid or expired')
  const { row } = check
  return jsonReply(200, {
    active: true,
    user_id: row.userId,
    client_id: row.clientId,
    scope: row.scope,
    exp: Math.floor(row.expiresAtMs / 1000),
    iss: ctx.state.config.baseUrl,
    subject_type: row.userId.startsWith('client:') ? 'client' : 'user',
  })
}

/** Any valid access token works, `openid` not required; errors carry the underlying reason as description. */
export function handleUserInfo(ctx: Ctx): Reply {
  const unauthorized = (reason: string): Reply =>
    oauthError(401, 'invalid_token', reason, { 'WWW-Authenticate': 'Bearer error="invalid_token"' })
  const token = bearerToken(ctx.req)
  if (token === undefined) return unauthorized('Bearer token required')
  const check = validateAccessToken(ctx.state, token)
  if (!check.ok) return unauthorized(check.reason)
  const user = ctx.state.users.get(check.row.userId)
  if (user === undefined) return unauthorized('User not found')
  return jsonReply(200, {
    sub: user.id,
    iss: ctx.state.config.baseUrl.replace(/\/+$/, ''),
    ...profileClaims(check.row.scope, user),
  })
}

/** Any active client with a matching secret may introspect any token; type is not checked. */
export function handleIntrospect(ctx: Ctx): Reply {
  const state = ctx.state
  const creds = clientCredentialsOf(ctx)
  const client = creds === undefined ? undefined : state.clients.get(creds.id)
  if (creds === undefined || client === undefined || !client.active || !secretMatches(client, creds.secret)) {
    return oauthError(401, 'invalid_client', 'Client authentication failed', {
      'WWW-Authenticate': 'Basic realm="authgate"',
    })
  }
  const token = ctx.form.get('token') ?? ''
  if (token === '') return oauthError(400, 'invalid_request', 'token parameter is required')
  const row = findTokenRow(state, token)
  if (!isRowUsable(state, row)) return jsonReply(200, { active: false })
  const user = state.users.get(row.userId)
  // `jti` is the DB row id and `iat` the row's creation time, not the JWT's claims; refresh tokens say Bearer too.
  const body: Record<string, unknown> = {
    active: true,
    scope: row.scope,
    client_id: row.clientId,
    token_type: 'Bearer',
    exp: Math.floor(row.expiresAtMs / 1000),
    iat: Math.floor(row.createdAtMs / 1000),
    sub: row.userId,
    iss: state.config.baseUrl,
    jti: row.id,
  }
  if (user !== undefined) body.username = user.username
  return jsonReply(200, body)
}

/** No client authentication; always 200 with an empty body; hard-deletes that one row, family untouched. */
export function handleRevoke(ctx: Ctx): Reply {
  if (ctx.state.quirks.revocation !== undefined) return rawReply(ctx.state.quirks.revocation)
  const token = ctx.form.get('token') ?? ''
  if (token === '') return oauthError(400, 'invalid_request', 'token parameter is required')
  ctx.state.tokens.delete(sha256Hex(token))
  return { status: 200 }
}
