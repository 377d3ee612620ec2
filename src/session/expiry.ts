import type { TokenSet } from '../stores/types.ts'

/**
 * A token counts as expiring when less than min(skew, half its lifetime) remains (contract, `--refresh-skew`).
 * Halving keeps short-lived tokens usable: a 60 s token with a 60 s skew would otherwise be refreshed on every call.
 * A token without a known expiry never counts as expiring; a resource server's 401 is then the signal.
 */
export function isExpiring(
  tokens: Pick<TokenSet, 'expiresAtMs' | 'obtainedAtMs'>,
  nowMs: number,
  skewSeconds: number,
): boolean {
  if (tokens.expiresAtMs === undefined) return false
  const remainingMs = tokens.expiresAtMs - nowMs
  let marginMs = skewSeconds * 1000
  if (tokens.obtainedAtMs !== undefined && tokens.expiresAtMs > tokens.obtainedAtMs) {
    marginMs = Math.min(marginMs, (tokens.expiresAtMs - tokens.obtainedAtMs) / 2)
  }
  return remainingMs < marginMs
}

/**
 * Step 3 of the refresh: the token read under the lock is a peer's fresh one, to use with no request. It changed
 * (either token: comparing both covers servers that keep the refresh token, fixed mode) and it is not expiring.
 */
export function hasPeerRefreshed(
  seen: TokenSet,
  current: TokenSet | undefined,
  nowMs: number,
  skewSeconds: number,
): current is TokenSet {
  if (current === undefined || isExpiring(current, nowMs, skewSeconds)) return false
  return current.accessToken !== seen.accessToken || current.refreshToken !== seen.refreshToken
}
