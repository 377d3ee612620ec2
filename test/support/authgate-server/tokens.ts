import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto'
import { sha256Hex, type ServerState, type TokenRow, type UserRow } from './state.ts'

/** HS256 JWTs (§2.1) and their DB rows: the server only trusts a token whose hash row is active and unexpired. */

export type Claims = Record<string, unknown>

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url')
}

export function signJwt(claims: Claims, secret: Buffer): string {
  // The header carries `kid` only for RS256/ES256, never for HS256 (§2.1).
  const input = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** Signature and `exp` check; `undefined` for anything malformed or forged. */
export function verifyJwt(
  token: string,
  secret: Buffer,
  nowMs: number,
): { claims: Claims; expired: boolean } | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest()
  const given = Buffer.from(parts[2]!, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Claims
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Claims
    if (header.alg !== 'HS256' || typeof claims !== 'object' || claims === null) return undefined
    const exp = typeof claims.exp === 'number' ? claims.exp : 0
    return { claims, expired: exp * 1000 <= nowMs }
  } catch {
    return undefined
  }
}

export interface Grant {
  userId: string
  clientId: string
  scope: string
  /** Set for user tokens: becomes `extra_uid`. */
  username?: string
  extraClaims?: Claims
}

export interface IssuedToken {
  token: string
  row: TokenRow
}

interface MintInput {
  kind: 'access' | 'refresh'
  ttlSeconds: number
  familyId: string
  id?: string
}

/**
 * The DB row keeps the exact expiry (now + TTL) while the JWT's `exp` is truncated to seconds, as in Go; so with a
 * moving clock `expires_in` is usually TTL-1, exactly what the real server answers.
 */
export function mintToken(state: ServerState, grant: Grant, input: MintInput): IssuedToken {
  const nowMs = state.now()
  const expiresAtMs = nowMs + input.ttlSeconds * 1000
  const claims: Claims = {
    ...grant.extraClaims,
    sub: grant.userId,
    user_id: grant.userId,
    client_id: grant.clientId,
    scope: grant.scope,
    type: input.kind,
    iss: state.config.baseUrl,
    iat: Math.floor(nowMs / 1000),
    exp: Math.floor(expiresAtMs / 1000),
    jti: randomUUID(),
  }
  if (grant.username !== undefined) claims.extra_uid = grant.username
  const token = signJwt(claims, state.config.jwtSecret)
  const row: TokenRow = {
    id: input.id ?? randomUUID(),
    hash: sha256Hex(token),
    kind: input.kind,
    userId: grant.userId,
    clientId: grant.clientId,
    scope: grant.scope,
    status: 'active',
    createdAtMs: nowMs,
    expiresAtMs,
    familyId: input.familyId,
  }
  state.tokens.set(row.hash, row)
  return { token, row }
}

/**
 * An initial grant's access + refresh pair. In rotation mode the family id is the refresh token's own id and the
 * access token carries it too, so a replay can revoke both (§2.4); in fixed mode the family stays empty.
 */
export function mintTokenPair(state: ServerState, grant: Grant): { access: IssuedToken; refresh: IssuedToken } {
  const refreshId = randomUUID()
  const familyId = state.config.rotation ? refreshId : ''
  const access = mintToken(state, grant, { kind: 'access', ttlSeconds: state.config.accessTtlSeconds, familyId })
  const refresh = mintToken(state, grant, {
    kind: 'refresh',
    ttlSeconds: state.config.refreshTtlSeconds,
    familyId,
    id: refreshId,
  })
  return { access, refresh }
}

export function findTokenRow(state: ServerState, token: string): TokenRow | undefined {
  return state.tokens.get(sha256Hex(token))
}

export function isRowUsable(state: ServerState, row: TokenRow | undefined): row is TokenRow {
  return row !== undefined && row.status === 'active' && row.expiresAtMs > state.now()
}

/** RevokeTokenFamily: every still-active token of the family, access tokens included. */
export function revokeFamily(state: ServerState, familyId: string): number {
  let count = 0
  for (const row of state.tokens.values()) {
    if (row.familyId === familyId && row.status === 'active') {
      row.status = 'revoked'
      count += 1
    }
  }
  return count
}

export type AccessCheck =
  | { ok: true; row: TokenRow; claims: Claims }
  | { ok: false; reason: 'invalid token' | 'token expired' | 'token not found or revoked' | 'invalid token type' }

/** token_validate.go: signature and JWT expiry, then the DB row (exists, active, unexpired); access tokens only. */
export function validateAccessToken(state: ServerState, token: string): AccessCheck {
  const jwt = verifyJwt(token, state.config.jwtSecret, state.now())
  if (jwt === undefined) return { ok: false, reason: 'invalid token' }
  if (jwt.expired) return { ok: false, reason: 'token expired' }
  if (jwt.claims.type !== 'access') return { ok: false, reason: 'invalid token type' }
  const row = findTokenRow(state, token)
  if (row === undefined || row.status !== 'active') return { ok: false, reason: 'token not found or revoked' }
  if (row.expiresAtMs <= state.now()) return { ok: false, reason: 'token expired' }
  return { ok: true, row, claims: jwt.claims }
}

export function userOf(state: ServerState, row: TokenRow): UserRow | undefined {
  return state.users.get(row.userId)
}

export interface TokenResponseInput {
  access: IssuedToken
  refresh?: IssuedToken
  /** Fixed mode hands back the refresh token it was given, verbatim (§2.3). */
  refreshToken?: string
  idToken?: string
}

/** buildTokenResponse: scope and token_type always; expires_in truncated and never negative. */
export function tokenResponse(state: ServerState, input: TokenResponseInput): Record<string, unknown> {
  const expiresIn = Math.max(0, Math.floor((input.access.row.expiresAtMs - state.now()) / 1000))
  const body: Record<string, unknown> = {
    access_token: input.access.token,
    token_type: 'Bearer',
    expires_in: expiresIn,
    scope: input.access.row.scope,
  }
  const refresh = input.refreshToken ?? input.refresh?.token
  if (refresh !== undefined) body.refresh_token = refresh
  if (input.idToken !== undefined) body.id_token = input.idToken
  return body
}
