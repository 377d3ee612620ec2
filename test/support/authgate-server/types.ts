/**
 * Public types of the AuthGate test server. The behaviour they configure is described in
 * /work/shared/authgate-server.md (go-authgate/authgate @ 6ebdf57); section numbers below refer to it.
 */

export interface AuthGateServerOptions {
  /** ENABLE_TOKEN_ROTATION (default false = fixed mode, §2.3). */
  rotation?: boolean
  /** JWT_EXPIRATION in seconds (default 36000). The real server adds up to 30 min of jitter; we add none. */
  accessTokenTtlSeconds?: number
  /** REFRESH_TOKEN_EXPIRATION in seconds (default 30 days). */
  refreshTokenTtlSeconds?: number
  /** TOKEN_RATE_LIMIT per IP per minute, shared by all grants (default 20; 0 disables). */
  tokenRateLimitPerMinute?: number
  /** DEVICE_CODE_RATE_LIMIT per IP per minute (default 10; 0 disables). */
  deviceCodeRateLimitPerMinute?: number
  /** INTROSPECT_RATE_LIMIT (default 20; 0 disables). Extension beyond the agreed API. */
  introspectRateLimitPerMinute?: number
  /**
   * Extra clients. The seeded public "AuthGate CLI" client is always present (the real server seeds it into
   * every empty DB, §6), so `publicClientId` stays meaningful whatever is passed here.
   */
  clients?: TestClient[]
  /** Users (default: the seeded `admin`). Replaces the default. */
  users?: { username: string }[]
  /**
   * The user the browser is signed in as, having already consented to every client: AuthGate with a session cookie
   * and CONSENT_REMEMBER (§1.3), so GET /oauth/authorize validates and redirects with a code at once. Default: the
   * first user. `null`: no session, so GET /oauth/authorize answers `302 /login?redirect=…`. The login, consent and
   * device pages themselves are AuthGate's UI and not part of the double (oidc-provider's pages are driven instead).
   */
  signedInAs?: string | null
  /** Listen host (default 127.0.0.1); the port is always 0. */
  host?: string
  /**
   * Clock in epoch ms (default Date.now). Extension: lets tests expire device codes, auth codes, tokens and
   * rate-limit windows without sleeping.
   */
  now?: () => number
  /** Behaviour of other servers and proxies (issue 14); also settable later through `AuthGateTestServer.quirks`. */
  quirks?: ServerQuirks
}

/** An answer that is not AuthGate's JSON: what some servers and the proxies in front of them send. */
export interface RawAnswer {
  status: number
  /** Omitted: no Content-Type header at all. */
  contentType?: string
  body: string
}

/**
 * Extension (issue 14), all off by default: switches that make the double behave like other standards servers and
 * proxies, to reproduce what authgate must survive. Mutable at any time through `AuthGateTestServer.quirks`.
 */
export interface ServerQuirks {
  /** GET /oauth/authorize with `openid` in the scope and no `nonce` → redirect with invalid_request, "nonce required". */
  requireNonce?: boolean
  /** Every refresh grant the server rejects with `invalid_grant` gets this instead (e.g. 400 with an empty body). */
  refreshRejection?: RawAnswer
  /** Every POST /oauth/token that passed the rate limiter gets this instead, before any grant runs (a 503, a 429). */
  tokenEndpoint?: RawAnswer
  /** Every POST /oauth/revoke gets this instead; nothing is revoked. */
  revocation?: RawAnswer
}

export interface TestClient {
  clientId: string
  /** Required for confidential clients. Public clients get an unguessable secret, as every real client has one (§4). */
  clientSecret?: string
  type: 'public' | 'confidential'
  redirectUris: string[]
  /** Space-separated allow-list. */
  scopes: string
  /** Default true. */
  deviceFlow?: boolean
  /** Default true. */
  authCodeFlow?: boolean
  /** Extension (§1.2d): default true for confidential clients, false for public ones (as the seeded client). */
  clientCredentialsFlow?: boolean
  /** Default true; false models a `pending`/inactive client. */
  active?: boolean
}

export interface AuthGateStats {
  /** Every POST /oauth/token that arrived, including ones answered 429. */
  tokenRequests: number
  /** Every POST /oauth/device/code that arrived, including ones answered 429. */
  deviceAuthorizations: number
  /** grant_type=refresh_token requests that passed the rate limiter. */
  refreshGrants: number
  /** Refresh grants answered 200. */
  successfulRefreshes: number
  /** /oauth/token answers with error invalid_grant (any grant). */
  invalidGrants: number
  /** Reuse detections that revoked a token family (rotation mode, §2.4). */
  familyRevocations: number
  /** Requests that passed the rate limiter, by raw grant_type value ('' when absent). */
  grantsByType: Record<string, number>
}

export interface AuthGateTestServer {
  /** BASE_URL and issuer, e.g. http://127.0.0.1:PORT (no trailing slash). */
  url: string
  /** The seeded public CLI client: redirect http://localhost:8888/callback, scopes 'email profile'. */
  publicClientId: string
  stats: AuthGateStats
  /**
   * What a signed-in person does on /device (§1.4): approve a pending device code as `username` (default: the first
   * user), with POST /device/verify's checks; throws with the page's error.
   */
  approveDevice(userCode: string, username?: string): void
  /** DB state of an access or refresh token: row exists, active, not expired. */
  isTokenActive(token: string): boolean
  /** The switches of `ServerQuirks`, live: a test may set or clear them between requests. */
  quirks: ServerQuirks
  /** Mark every access-token row expired (their JWT `exp` is left as issued, like a clock skew on the DB). */
  expireAccessTokens(): void
  close(): Promise<void>
}
