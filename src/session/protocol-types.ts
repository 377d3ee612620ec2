import type { TokenSet } from '../stores/types.ts'

import type { GrantResult } from '../oauth/token-response.ts'

/** The result of a grant, as the session needs it: the checked token endpoint answer (oauth/token-response.ts). */
export type Grant = GrantResult

export interface Identity {
  /** True/false after asking the server; the server said nothing usable → undefined. */
  verified: boolean | undefined
  subject?: string | undefined
  username?: string | undefined
  scope?: string | undefined
  expiresAtMs?: number | undefined
  source?: 'tokeninfo' | 'userinfo' | 'introspection' | undefined
}

/**
 * The protocol operations the session uses, with every failure already classified into the error table
 * (AuthRequiredError for a rejected refresh token, TemporaryError, ProtocolError, RequestFailedError).
 */
export interface Protocol {
  readonly issuer: () => Promise<string | undefined>
  refresh(refreshToken: string): Promise<Grant>
  /**
   * A machine session's token (RFC 6749 §4.4); `scope` only when the user set one. Optional so that doubles of a
   * user session's protocol need not stub it; the real protocol (protocol.ts) always has it.
   */
  clientCredentials?(scope: string | undefined): Promise<Grant>
  identify(tokens: TokenSet): Promise<Identity>
}

// ---- login (device flow, RFC 8628; authorization code + PKCE, RFC 7636 / RFC 8252) ----

/** What the person is shown and how often to poll, checked (oauth/device.ts). `intervalSeconds` is 5 when the server omits it. */
export type DeviceAuthorization = import('../oauth/device.ts').DeviceAuthorizationResult

/** A browser sign-in in progress: the URL to open and the secrets to check its answer with (never printed but the URL). */
export type AuthorizationRequest = import('../oauth/authorization-code.ts').AuthorizationRequestResult

/** One device-token poll, as the login loop needs it (RFC 8628 §3.5); other failures are thrown, classified. */
export type DevicePoll =
  | { status: 'granted'; grant: Grant }
  | { status: 'pending' }
  | { status: 'slow_down' }
  /** 429: AuthGate's per-IP limit on /oauth/token, shared by every grant (authgate-server.md §5). */
  | { status: 'rate_limited'; retryAfterMs?: number | undefined }
  | { status: 'expired' }
  /** `access_denied`; AuthGate also sends it for an unknown or already used code (authgate-server.md §3). */
  | { status: 'denied'; description?: string | undefined }

/** The login steps of the protocol client, with the same error funnel as `Protocol`. */
export interface LoginProtocol {
  deviceAuthorization(scope: string): Promise<DeviceAuthorization>
  pollDevice(deviceCode: string): Promise<DevicePoll>
  authorizationRequest(redirectUri: string, scope: string): Promise<AuthorizationRequest>
  /** Exchanges the code of a callback whose `state` was already checked. Never called twice for one request. */
  exchangeCode(callback: URLSearchParams, request: AuthorizationRequest): Promise<Grant>
}

// ---- logout (RFC 7009) ----

/** Token revocation, with the same error funnel as `Protocol`. */
export interface RevocationProtocol {
  /** Revokes one token at the server's revocation endpoint (discovered, else AuthGate's `/oauth/revoke`). */
  revoke(token: string, hint: import('../oauth/revocation.ts').TokenTypeHint): Promise<void>
}
