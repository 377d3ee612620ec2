import type { TokenSet } from '../stores/types.ts'
import type { SessionContext } from './engine.ts'
import type { Grant } from './protocol-types.ts'

/** A grant's answer as stored tokens, with absolute times from the injected clock. */
export function tokensFromGrant(grant: Grant, nowMs: number, extra: Partial<TokenSet> = {}): TokenSet {
  return {
    ...extra,
    accessToken: grant.accessToken,
    tokenType: grant.tokenType,
    refreshToken: grant.refreshToken,
    expiresAtMs: grant.expiresInSeconds === undefined ? undefined : nowMs + grant.expiresInSeconds * 1000,
    obtainedAtMs: nowMs,
    scope: grant.scope,
    idToken: grant.idToken,
  }
}

/**
 * Saves a login's tokens, replacing the session's entry. The session lock is taken only here, never while a person
 * types a code or clicks in a browser (kubelogin holds it through the whole login; a waiting `token` would hang).
 */
export async function saveSession(ctx: SessionContext, tokens: TokenSet): Promise<void> {
  const lock = await ctx.lockFile(ctx.lockPath, { timeoutMs: ctx.lockTimeoutMs, signal: ctx.signal })
  try {
    await ctx.store.write(ctx.key, tokens)
  } finally {
    lock.release()
  }
}
