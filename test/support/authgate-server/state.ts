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

export interface ServerConfig {
  baseUrl: string
  rotation: boolean
  accessTtlSeconds: number
  refreshTtlSeconds: number
  clientCredentialsTtlSeconds: number
  deviceCodeTtlSeconds: number
  pollingIntervalSeconds: number
  authCodeTtlSeconds: number
  pkceRequired: boolean
  enableRefreshTokens: boolean
  jwtSecret: Buffer
}

export interface RateLimiters {
  token?: RateLimiter
  deviceCode?: RateLimiter
  introspect?: RateLimiter
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
  /** The user the browser is signed in as, having consented to every client (`signedInAs`); none: no session. */
  browserUserId: string | undefined
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

/** The user called `username`; without a name, the first user (the seeded admin by default). */
export function findUserByName(state: ServerState, username: string | undefined): UserRow | undefined {
  if (username === undefined) return state.users.values().next().value
  for (const user of state.users.values()) if (user.username === username) return user
  return undefined
}

function browserUserOf(state: ServerState, signedInAs: string | null | undefined): string | undefined {
  if (signedInAs === null) return undefined
  const user = findUserByName(state, signedInAs)
  if (user === undefined) throw new TypeError(`authgate test server: signedInAs names no user: ${signedInAs}`)
  return user.id
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
  const list = opts.users ?? [{ username: 'admin' }]
  const users = new Map<string, UserRow>()
  for (const u of list) {
    // The seeded admin's profile (§6); other users get a predictable one.
    const isAdmin = u.username === 'admin'
    const row: UserRow = {
      id: randomUUID(),
      username: u.username,
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
    browserUserId: undefined,
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
  state.browserUserId = browserUserOf(state, opts.signedInAs)
  return { state, publicClientId: seeded.clientId }
}
