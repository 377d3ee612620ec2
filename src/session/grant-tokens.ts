import type { TokenSet } from '../stores/types.ts'
import type { Grant } from './protocol-types.ts'

/**
 * A grant's answer as stored tokens, with absolute times from the injected clock. What the answer leaves out comes
 * from `base`: a refresh keeps the old refresh token when the server sends none (contract, refresh step 4), and its
 * scope and ID token likewise; a login passes only its issuer and flow, so its answer replaces everything.
 */
export function tokensFromGrant(grant: Grant, nowMs: number, base: Partial<TokenSet> = {}): TokenSet {
  return {
    ...base,
    accessToken: grant.accessToken,
    tokenType: grant.tokenType,
    refreshToken: grant.refreshToken ?? base.refreshToken,
    expiresAtMs: grant.expiresInSeconds === undefined ? undefined : nowMs + grant.expiresInSeconds * 1000,
    obtainedAtMs: nowMs,
    scope: grant.scope ?? base.scope,
    idToken: grant.idToken ?? base.idToken,
  }
}
