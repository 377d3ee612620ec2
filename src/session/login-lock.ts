import type { TokenSet } from '../stores/types.ts'
import type { SessionContext } from './refresh-engine.ts'
import { hasPeerRefreshed, isExpiring } from './expiry.ts'

/**
 * Longest wait for another process's sign-in: AuthGate's device code lives 30 minutes (authgate-server.md §0), after
 * up to 2 minutes of waiting for the browser. A sign-in still going after that is abandoned, not ours to outwait.
 */
const SIGN_IN_WAIT_MS = 35 * 60_000

export interface SignInSteps<T> {
  /** Under the login lock, before signing in: tokens a peer's sign-in left that this caller may use instead. */
  reuse(): Promise<TokenSet | undefined>
  signIn(): Promise<T>
  /** Another process holds the login lock: said once, before the wait. */
  waiting?(holderPid: number | undefined): void
}

/**
 * One interactive sign-in per session at a time (kubelogin #1330: twenty kubectl calls, twenty browser tabs). The
 * login lock is a lock file of its own, apart from the refresh lock: it is held while a person types, which the
 * refresh lock never is, and `token`'s refresh path never takes it. Whoever waited re-checks under the lock and uses
 * what the first sign-in saved; if that one failed, there is nothing to reuse and it signs in itself.
 * @throws TemporaryError when the wait times out (naming the holder), InterruptedError, whatever `signIn` throws.
 */
export async function serialiseSignIn<T>(
  ctx: SessionContext,
  steps: SignInSteps<T>,
): Promise<{ reused: TokenSet } | { signedIn: T }> {
  if (!ctx.loginLockPath) return { signedIn: await steps.signIn() }
  const lock = await ctx.lockFile(ctx.loginLockPath, {
    timeoutMs: SIGN_IN_WAIT_MS,
    signal: ctx.signal,
    onWait: steps.waiting,
  })
  try {
    const reused = await steps.reuse()
    return reused ? { reused } : { signedIn: await steps.signIn() }
  } finally {
    lock.release()
  }
}

/**
 * `authgate login`'s rule: the session now holds other tokens than when the command started, and they are not
 * expiring: a peer signed in meanwhile. Unchanged tokens are never reused, since `login` means "sign in again".
 */
export function peerSignedIn(
  before: TokenSet | undefined,
  now: TokenSet | undefined,
  nowMs: number,
  skewSeconds: number,
): TokenSet | undefined {
  if (now === undefined) return undefined
  if (before === undefined) return isExpiring(now, nowMs, skewSeconds) ? undefined : now
  return hasPeerRefreshed(before, now, nowMs, skewSeconds) ? now : undefined
}
