import { createHash, randomUUID } from 'node:crypto'
import { jsonReply, oauthError, type Ctx, type Reply } from './http.ts'
import {
  secretMatches,
  splitScopes,
  type AuthCodeRow,
  type ClientRow,
  type ServerState,
  type UserRow,
} from './state.ts'
import { mintToken, mintTokenPair, signJwt, tokenResponse, type Claims, type IssuedToken } from './tokens.ts'

/**
 * grant_type=authorization_code (§1.2b), checks in ExchangeCode's order; every failure is a 400.
 * Client credentials are read from the form only: an HTTP Basic header is ignored for this grant.
 */

const INVALID_CODE = 'Authorization code is invalid or expired'
const CLIENT_AUTH_FAILED = 'Client authentication failed'

export function exchangeAuthorizationCode(ctx: Ctx, extra: Claims | undefined): Reply {
  const state = ctx.state
  const code = ctx.form.get('code') ?? ''
  const redirectUri = ctx.form.get('redirect_uri') ?? ''
  const clientId = ctx.form.get('client_id') ?? ''
  if (code === '' || redirectUri === '' || clientId === '') {
    return oauthError(400, 'invalid_request', 'code, redirect_uri, and client_id are required')
  }
  const row = state.authCodes.get(code)
  if (row === undefined) return oauthError(400, 'invalid_grant', INVALID_CODE)
  if (row.usedAtMs !== undefined) return oauthError(400, 'invalid_grant', 'Authorization code has already been used')
  if (row.expiresAtMs <= state.now()) return oauthError(400, 'invalid_grant', 'Authorization code has expired')
  if (row.clientId !== clientId) return oauthError(400, 'invalid_grant', INVALID_CODE)
  if (row.redirectUri !== redirectUri) return oauthError(400, 'invalid_grant', 'Redirect URI does not match')
  const client = state.clients.get(clientId)
  if (client === undefined || !client.active) return oauthError(400, 'unauthorized_client', CLIENT_AUTH_FAILED)
  const failure = authenticateCodeClient(client, row, ctx.form)
  if (failure !== undefined) return failure
  // Single-threaded, so marking as used cannot lose a race (row 8 of the table never fires here).
  row.usedAtMs = state.now()
  const user = state.users.get(row.userId)
  if (user === undefined) return oauthError(500, 'server_error', 'Failed to issue tokens')
  return jsonReply(200, issueCodeTokens(state, row, user, extra))
}

/** Confidential: secret only, PKCE never verified. Public: PKCE S256 mandatory (§4). */
function authenticateCodeClient(client: ClientRow, row: AuthCodeRow, form: URLSearchParams): Reply | undefined {
  if (client.type === 'confidential') {
    const secret = form.get('client_secret') ?? ''
    return secretMatches(client, secret) ? undefined : oauthError(400, 'unauthorized_client', CLIENT_AUTH_FAILED)
  }
  if (row.codeChallenge === '') {
    return oauthError(400, 'invalid_grant', 'PKCE code_verifier is required for public clients')
  }
  const verifier = form.get('code_verifier') ?? ''
  const computed = createHash('sha256').update(verifier).digest('base64url')
  if (verifier === '' || computed !== row.codeChallenge) {
    return oauthError(400, 'invalid_grant', 'PKCE code_verifier validation failed')
  }
  return undefined
}

function issueCodeTokens(state: ServerState, row: AuthCodeRow, user: UserRow, extra: Claims | undefined) {
  const grant = {
    userId: user.id,
    clientId: row.clientId,
    scope: row.scope,
    username: user.username,
    extraClaims: extra,
  }
  let access: IssuedToken
  let refresh: IssuedToken | undefined
  if (state.config.enableRefreshTokens) {
    ;({ access, refresh } = mintTokenPair(state, grant))
  } else {
    access = mintToken(state, grant, { kind: 'access', ttlSeconds: state.config.accessTtlSeconds, familyId: '' })
  }
  const scopes = splitScopes(row.scope)
  const idToken = scopes.includes('openid') ? mintIdToken(state, row, user, access.token) : undefined
  return tokenResponse(state, refresh ? { access, refresh, idToken } : { access, idToken })
}

/** §2.2: not stored, not revocable, exp = JWT_EXPIRATION without jitter. */
function mintIdToken(state: ServerState, row: AuthCodeRow, user: UserRow, accessToken: string): string {
  const iat = Math.floor(state.now() / 1000)
  const digest = createHash('sha256').update(accessToken).digest()
  const claims: Claims = {
    iss: state.config.baseUrl.replace(/\/+$/, ''),
    sub: user.id,
    aud: row.clientId,
    exp: iat + state.config.accessTtlSeconds,
    iat,
    auth_time: Math.floor(row.createdAtMs / 1000),
    jti: randomUUID(),
    at_hash: digest.subarray(0, 16).toString('base64url'),
  }
  if (row.nonce !== '') claims.nonce = row.nonce
  Object.assign(claims, profileClaims(row.scope, user))
  return signJwt(claims, state.config.jwtSecret)
}

/** Shared with userinfo: `profile` and `email` scope claims (picture is never set on test users). */
export function profileClaims(scope: string, user: UserRow): Claims {
  const scopes = splitScopes(scope)
  const claims: Claims = {}
  if (scopes.includes('profile')) {
    claims.name = user.name
    claims.preferred_username = user.username
    claims.updated_at = Math.floor(user.updatedAtMs / 1000)
  }
  if (scopes.includes('email')) {
    claims.email = user.email
    claims.email_verified = false
  }
  return claims
}
