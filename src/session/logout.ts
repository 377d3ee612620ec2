import { InterruptedError } from '../errors.ts'
import type { TokenTypeHint } from '../oauth/revocation.ts'
import type { TokenSet } from '../stores/types.ts'
import type { SessionContext } from './refresh-engine.ts'
import type { RevocationProtocol } from './protocol-types.ts'

/** The narrow part of an OpenSession that logout needs. */
export interface LogoutSession {
  readonly context: SessionContext
  protocol(): Promise<RevocationProtocol>
}

export interface LogoutRequest {
  /** False with `--no-revoke`: only the local entry goes. */
  revoke: boolean
}

/** One revocation, in the order sent. A failure is reported, never thrown: the local entry goes anyway. */
export type RevocationOutcome =
  | { readonly hint: TokenTypeHint; readonly revoked: true }
  | { readonly hint: TokenTypeHint; readonly revoked: false; readonly error: unknown }

export interface LogoutResult {
  /** There was an entry for this session. */
  readonly signedIn: boolean
  readonly revocations: readonly RevocationOutcome[]
}

/**
 * Revokes the refresh token, then the access token (RFC 7009 §2: revoking the refresh token first stops anyone from
 * minting new access tokens while we work), then deletes the entry. All of it under the session lock: a `token`
 * that is refreshing finishes first, so we revoke and delete what it saved, never a token it is about to replace.
 * The lock is held over the network, but every request is bounded (30 s in all) and nobody is typing.
 * @throws InterruptedError (nothing is deleted), TemporaryError for a lock timeout, StoreError.
 */
export async function logOut(session: LogoutSession, request: LogoutRequest): Promise<LogoutResult> {
  const ctx = session.context
  const lock = await ctx.lockFile(ctx.lockPath, { timeoutMs: ctx.lockTimeoutMs, signal: ctx.signal })
  try {
    const tokens = await ctx.store.read(ctx.key)
    if (!tokens) return { signedIn: false, revocations: [] }
    const revocations = request.revoke ? await revokeAll(session, tokens) : []
    if (ctx.signal?.aborted) throw new InterruptedError()
    await ctx.store.delete(ctx.key)
    return { signedIn: true, revocations }
  } finally {
    lock.release()
  }
}

async function revokeAll(session: LogoutSession, tokens: TokenSet): Promise<RevocationOutcome[]> {
  const targets: Array<[string, TokenTypeHint]> = [[tokens.accessToken, 'access_token']]
  if (tokens.refreshToken) targets.unshift([tokens.refreshToken, 'refresh_token'])
  const outcomes: RevocationOutcome[] = []
  for (const [token, hint] of targets) {
    try {
      await (await session.protocol()).revoke(token, hint)
      outcomes.push({ hint, revoked: true })
    } catch (error) {
      if (error instanceof InterruptedError) throw error
      outcomes.push({ hint, revoked: false, error })
    }
  }
  return outcomes
}
