import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { createRateLimiter, type RateLimiter } from './rate-limit.ts'
import type { AuthGateServerOptions, AuthGateStats, ServerQuirks, TestClient } from './types.ts'

/** The in-memory "database" of the test server: one object, mutated only by handlers and backdoors. */

export interface ClientRow {
  clientId: string
  secretHash: string
  type: 'public' | 'confidential'
  redirectUris: string[]
  scopes: string[]
  deviceFlow: boolean
  authCodeFlow: boolean
  clientCredentialsFlow: boolean
  active: boolean
}

export interface UserRow {
  id: string
  username: string
  password: string
  name: string
  email: string
  updatedAtMs: number
}

export type TokenStatus = 'active' | 'revoked' | 'disabled'

export interface TokenRow {
  id: string
  hash: string
  kind: 'access' | 'refresh'
  userId: string
  clientId: string
  scope: string
  status: TokenStatus
  createdAtMs: number
  expiresAtMs: number
  /** Empty unless minted while rotation was on (§2.4: reuse detection needs a non-empty family id). */
  familyId: string
  lastUsedAtMs?: number
}

export interface DeviceCodeRow {
  deviceCode: string
  /** Normalized: uppercase, no dash. */
  userCode: string
  clientId: string
  scope: string
  expiresAtMs: number
  approvedUserId?: string
}

export interface AuthCodeRow {
  code: string
  clientId: string
  userId: string
  redirectUri: string
  scope: string
  codeChallenge: string
  codeChallengeMethod: string
  nonce: string
  createdAtMs: number
  expiresAtMs: number
  usedAtMs?: number
}

export interface SessionRow {
  id: string
  userId: string
  /** SESSION_FINGERPRINT: the cookie only works with the User-Agent it was issued to (§1.4). */
  userAgent: string
  csrfToken: string
}

export interface ServerConfig {
  baseUrl: string
  rotation: boolean
  accessTtlSeconds: number
  refreshTtlSeconds: number
  clientCredentialsTtlSeconds: number
  deviceCodeTtlSeconds: number
  pollingIntervalSeconds: number
  authCodeTtlSeconds: number
  consentRemember: boolean
  pkceRequired: boolean
  enableRefreshTokens: boolean
  jwtSecret: Buffer
}

export interface RateLimiters {
  token?: RateLimiter
  deviceCode?: RateLimiter
  introspect?: RateLimiter
  deviceVerify?: RateLimiter
  login?: RateLimiter
}

export interface ServerState {
  config: ServerConfig
  now: () => number
  clients: Map<string, ClientRow>
  users: Map<string, UserRow>
  /** Keyed by SHA-256 hex of the token string, as the real server looks tokens up (§2.1). */
  tokens: Map<string, TokenRow>
  deviceCodes: Map<string, DeviceCodeRow>
  authCodes: Map<string, AuthCodeRow>
  /** `${userId} ${clientId}` → granted scopes. */
  consents: Map<string, Set<string>>
  sessions: Map<string, SessionRow>
  stats: AuthGateStats
  limiters: RateLimiters
  quirks: ServerQuirks
}

export const SEEDED_REDIRECT_URI = 'http://localhost:8888/callback'

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

/** Stand-in for bcrypt: constant-time compare of SHA-256 digests. */
export function secretMatches(row: ClientRow, secret: string): boolean {
  if (secret === '') return false
  return timingSafeEqual(Buffer.from(sha256Hex(secret), 'hex'), Buffer.from(row.secretHash, 'hex'))
}

export function splitScopes(scope: string): string[] {
  return scope.split(' ').filter((s) => s !== '')
}

export function isScopeSubset(requested: string[], allowed: string[]): boolean {
  return requested.every((s) => allowed.includes(s))
}

export function findUserByName(state: ServerState, username: string): UserRow | undefined {
  for (const user of state.users.values()) if (user.username === username) return user
  return undefined
}

export function recordConsent(state: ServerState, userId: string, clientId: string, scope: string): void {
  const key = `${userId} ${clientId}`
  const granted = state.consents.get(key) ?? new Set<string>()
  for (const s of splitScopes(scope)) granted.add(s)
  state.consents.set(key, granted)
}

export function hasConsent(state: ServerState, userId: string, clientId: string, scope: string): boolean {
  const granted = state.consents.get(`${userId} ${clientId}`)
  return granted !== undefined && splitScopes(scope).every((s) => granted.has(s))
}

function toClientRow(c: TestClient): ClientRow {
  if (c.type === 'confidential' && !c.clientSecret) {
    throw new TypeError(`confidential test client ${c.clientId} needs a clientSecret`)
  }
  const secret = c.clientSecret ?? `ago_${randomBytes(32).toString('hex')}`
  return {
    clientId: c.clientId,
    secretHash: sha256Hex(secret),
    type: c.type,
    redirectUris: [...c.redirectUris],
    scopes: splitScopes(c.scopes),
    deviceFlow: c.deviceFlow ?? true,
    authCodeFlow: c.authCodeFlow ?? true,
    clientCredentialsFlow: c.clientCredentialsFlow ?? c.type === 'confidential',
    active: c.active ?? true,
  }
}

function seedUsers(opts: AuthGateServerOptions, nowMs: number): Map<string, UserRow> {
  const list = opts.users ?? [{ username: 'admin', password: 'admin-password' }]
  const users = new Map<string, UserRow>()
  for (const u of list) {
    // The seeded admin's profile (§6); other users get a predictable one.
    const isAdmin = u.username === 'admin'
    const row: UserRow = {
      id: randomUUID(),
      username: u.username,
      password: u.password,
      name: isAdmin ? 'Administrator' : u.username,
      email: `${u.username}@localhost`,
      updatedAtMs: nowMs,
    }
    users.set(row.id, row)
  }
  return users
}

function buildConfig(opts: AuthGateServerOptions): ServerConfig {
  return {
    baseUrl: '',
    rotation: opts.rotation ?? false,
    accessTtlSeconds: opts.accessTokenTtlSeconds ?? 36_000,
    refreshTtlSeconds: opts.refreshTokenTtlSeconds ?? 30 * 24 * 3600,
    clientCredentialsTtlSeconds: 3600,
    deviceCodeTtlSeconds: 1800,
    pollingIntervalSeconds: 5,
    authCodeTtlSeconds: 600,
    consentRemember: true,
    pkceRequired: false,
    enableRefreshTokens: true,
    jwtSecret: randomBytes(40),
  }
}

function buildLimiters(opts: AuthGateServerOptions): RateLimiters {
  return {
    token: createRateLimiter(opts.tokenRateLimitPerMinute ?? 20),
    deviceCode: createRateLimiter(opts.deviceCodeRateLimitPerMinute ?? 10),
    introspect: createRateLimiter(opts.introspectRateLimitPerMinute ?? 20),
    deviceVerify: createRateLimiter(opts.deviceVerifyRateLimitPerMinute ?? 10),
    login: createRateLimiter(opts.loginRateLimitPerMinute ?? 5),
  }
}

export function createState(opts: AuthGateServerOptions): { state: ServerState; publicClientId: string } {
  const now = opts.now ?? Date.now
  const seeded: TestClient = {
    clientId: randomUUID(),
    type: 'public',
    redirectUris: [SEEDED_REDIRECT_URI],
    scopes: 'email profile',
    deviceFlow: true,
    authCodeFlow: true,
    clientCredentialsFlow: false,
  }
  const clients = new Map<string, ClientRow>()
  for (const c of [seeded, ...(opts.clients ?? [])]) clients.set(c.clientId, toClientRow(c))
  const state: ServerState = {
    config: buildConfig(opts),
    now,
    clients,
    users: seedUsers(opts, now()),
    tokens: new Map(),
    deviceCodes: new Map(),
    authCodes: new Map(),
    consents: new Map(),
    sessions: new Map(),
    stats: {
      tokenRequests: 0,
      deviceAuthorizations: 0,
      refreshGrants: 0,
      successfulRefreshes: 0,
      invalidGrants: 0,
      familyRevocations: 0,
      grantsByType: {},
    },
    limiters: buildLimiters(opts),
    quirks: { ...opts.quirks },
  }
  return { state, publicClientId: seeded.clientId }
}
