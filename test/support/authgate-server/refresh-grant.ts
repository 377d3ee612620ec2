import { randomUUID } from 'node:crypto'
import { jsonReply, oauthError, type Ctx, type Reply } from './http.ts'
import { isScopeSubset, splitScopes, type ServerState, type TokenRow } from './state.ts'
import { findTokenRow, mintToken, revokeFamily, tokenResponse, verifyJwt, type Claims, type Grant } from './tokens.ts'

/**
 * grant_type=refresh_token (§1.2c, §2). Client credentials come from the form only and no secret is checked.
 * Order as in RefreshAccessToken: row by hash → is refresh → is active (reuse detection) → unexpired → client_id →
 * scope subset → JWT. Reuse is therefore detected before a foreign client_id is noticed.
 */

const INVALID_REFRESH = 'Refresh token is invalid or expired'

export function refreshTokenGrant(ctx: Ctx, extra: Claims | undefined): Reply {
  const state = ctx.state
  const presented = ctx.form.get('refresh_token') ?? ''
  const clientId = ctx.form.get('client_id') ?? ''
  if (presented === '' || clientId === '') {
    return oauthError(400, 'invalid_request', 'refresh_token and client_id are required')
  }
  const row = findTokenRow(state, presented)
  if (row === undefined || row.kind !== 'refresh') return oauthError(400, 'invalid_grant', INVALID_REFRESH)
  if (row.status !== 'active') {
    detectReuse(state, row)
    return oauthError(400, 'invalid_grant', INVALID_REFRESH)
  }
  if (row.expiresAtMs <= state.now()) return oauthError(400, 'invalid_grant', INVALID_REFRESH)
  if (row.clientId !== clientId) {
    return oauthError(401, 'invalid_client', 'Client authentication failed', {
      'WWW-Authenticate': 'Basic realm="token"',
    })
  }
  const requested = splitScopes(ctx.form.get('scope') ?? '')
  if (!isScopeSubset(requested, splitScopes(row.scope))) {
    return oauthError(400, 'invalid_scope', 'Requested scope exceeds original grant')
  }
  const jwt = verifyJwt(presented, state.config.jwtSecret, state.now())
  if (jwt === undefined || jwt.expired || jwt.claims.type !== 'refresh') {
    return oauthError(400, 'invalid_grant', INVALID_REFRESH)
  }
  return jsonReply(200, issueRefreshed(state, row, presented, extra))
}

/**
 * A revoked or disabled token presented again means a copy leaked (or two holders raced): kill the whole family,
 * access tokens included. Only tokens minted in rotation mode have a family (§2.4).
 */
function detectReuse(state: ServerState, row: TokenRow): void {
  if (!state.config.rotation || row.familyId === '') return
  revokeFamily(state, row.familyId)
  state.stats.familyRevocations += 1
}

/** New tokens always carry the full original scope: a narrower `scope` is accepted but not applied (§2.5). */
function issueRefreshed(state: ServerState, row: TokenRow, presented: string, extra: Claims | undefined) {
  const user = state.users.get(row.userId)
  const grant: Grant = { userId: row.userId, clientId: row.clientId, scope: row.scope, extraClaims: extra }
  if (user !== undefined) grant.username = user.username
  const accessTtl = state.config.accessTtlSeconds
  if (!state.config.rotation) {
    // Fixed mode: same refresh token back, absolute expiry unchanged, only last_used_at moves.
    row.lastUsedAtMs = state.now()
    const access = mintToken(state, grant, { kind: 'access', ttlSeconds: accessTtl, familyId: row.familyId })
    return tokenResponse(state, { access, refreshToken: presented })
  }
  // Rotation: the old token is revoked in the same step and the new one gets a full (sliding) lifetime.
  row.status = 'revoked'
  const access = mintToken(state, grant, { kind: 'access', ttlSeconds: accessTtl, familyId: row.familyId })
  const refresh = mintToken(state, grant, {
    kind: 'refresh',
    ttlSeconds: state.config.refreshTtlSeconds,
    familyId: row.familyId,
    id: randomUUID(),
  })
  return tokenResponse(state, { access, refresh })
}
