import type { SessionKey } from '../session-key.ts'
import { AuthRequiredError, TemporaryError } from '../errors.ts'
import type { LockFile, LockHandle } from '../lock/types.ts'
import type { SpentMarker } from '../stores/spent-marker.ts'
import type { TokenSet, TokenStore } from '../stores/types.ts'
import { hasPeerRefreshed, isExpiring } from './expiry.ts'
import { tokensFromGrant } from './grant-tokens.ts'
import { commitOrRetire, prepareSaveOrRefuse, provenOrRefuse, refuseSpent } from './preflight.ts'
import type { Protocol } from './protocol-types.ts'

/**
 * Everything the refresh needs, built before it starts (session/context.ts): the engine resolves no settings and
 * opens no store of its own, so its critical section holds nothing but re-read → request → save.
 */
export interface SessionContext {
  readonly key: SessionKey
  readonly store: TokenStore
  readonly lockFile: LockFile
  /** `<lock dir>/<key.hash>.lock`, whatever the store backend. */
  readonly lockPath: string
  /** `<lock dir>/<key.hash>.login.lock`: taken only by interactive sign-ins, never by the refresh path. */
  readonly loginLockPath?: string | undefined
  readonly lockTimeoutMs: number
  readonly refreshSkewSeconds: number
  readonly clock: { now(): number }
  /** Loaded on first need, so that `authgate token` with a fresh token never loads protocol code. */
  readonly protocol: () => Promise<Protocol>
  readonly signal?: AbortSignal | undefined
  /**
   * A machine session (`--grant client-credentials`): a missing or expiring token is replaced by a client-credentials
   * grant under the same lock, re-read and save as a refresh, so N processes that start together cause one grant.
   * `scope` is sent only when the user set one.
   */
  readonly machine?: { readonly scope: string | undefined } | undefined
  /** Called with what happened, for `refresh`'s message and tests: 'fresh' | 'adopted' | 'refreshed'. */
  readonly observe?: ((event: 'fresh' | 'adopted' | 'refreshed') => void) | undefined
  /** Refresh tokens spent by a refresh whose answer could not be saved (see preflight.ts); beside the session lock. */
  readonly spent?: SpentMarker | undefined
  /** Test seam only (AUTHGATE_TEST_PAUSE_AFTER_PREFLIGHT, read in cli/system.ts): runs between proof and grant. */
  readonly afterPreflight?: (() => Promise<void>) | undefined
  /**
   * Set when the tokens come from an `authgate agent` (`--agent-sock`): the agent runs steps 1–6 under its own lock,
   * and the store and lock here are never touched.
   */
  readonly agent?: ((request: TokenRequest) => Promise<TokenSet>) | undefined
}

export interface TokenRequest {
  /** Refresh even when the token is not expiring (`refresh --force`, a resource server's 401). */
  force?: boolean
  /** With `force`: the token the resource server rejected. A peer that already replaced it wins; no second refresh. */
  rejected?: string
}

/**
 * The contract's refresh steps 1–6, the one implementation every caller uses (`token` in its lean start-up, every
 * other command, the credential helpers, the library). The refresh grant is sent only while holding the session's
 * kernel lock and with the refresh token read under it, and its answer is saved before the lock is released, so a
 * rotating server never sees one refresh token twice from this machine.
 */
export async function getValidTokens(ctx: SessionContext, request: TokenRequest = {}): Promise<TokenSet> {
  if (ctx.agent) return ctx.agent(request) // every caller gets its token here, so every caller follows the agent
  const seen = await ctx.store.read(ctx.key) // step 1: no lock on the hot path
  if (!seen && !ctx.machine) throw notSignedIn(ctx)
  if (seen && !needsRefresh(ctx, seen, request)) {
    ctx.observe?.('fresh')
    return seen
  }
  // Loaded once this process knows it will send the request, not before: in a storm of N, N−1 adopt a peer's token
  // and loading protocol code in each would cost more CPU than the whole refresh.
  let ready: Promise<Protocol> | undefined
  const prepare = () => {
    ready ??= ctx.protocol()
    ready.catch(() => {}) // awaited under the lock; an early failure must not be reported as unhandled
    return ready
  }
  const outcome = await lockOrAdopt(ctx, seen, request, prepare) // steps 2–3
  if ('accessToken' in outcome) {
    ctx.observe?.('adopted')
    return outcome
  }
  try {
    const current = await ctx.store.read(ctx.key) // step 3: a peer may have refreshed while we waited
    if (current && peerRefreshed(ctx, seen, current, request)) {
      ctx.observe?.('adopted')
      return current
    }
    const fresh = ctx.machine
      ? await grantAndSave(ctx, ctx.machine.scope, prepare)
      : await refreshAndSave(ctx, current, prepare) // steps 4–6
    ctx.observe?.('refreshed')
    return fresh
  } finally {
    outcome.release()
  }
}

/**
 * Step 2. Whoever finds the lock free takes it. Whoever finds it taken waits for a *shared* lock: when the refresher
 * releases, every waiter wakes at once and re-reads in parallel, instead of the kernel handing the exclusive lock down
 * a queue of N processes one by one. A waiter that still finds the token stale (the refresher failed, or this is
 * `--force`) queues for the exclusive lock, within what is left of the same timeout. `prepare` starts loading the
 * protocol during the queue wait for such a waiter; the first refresher loads it in refreshAndSave.
 * @returns the exclusive lock, or a peer's tokens to adopt.
 */
async function lockOrAdopt(
  ctx: SessionContext,
  seen: TokenSet | undefined,
  request: TokenRequest,
  prepare: () => unknown,
): Promise<LockHandle | TokenSet> {
  const deadlineMs = ctx.clock.now() + ctx.lockTimeoutMs
  const exclusive = await tryLock(ctx)
  // The first refresher loads its protocol code after the save's pre-flight has started (refreshAndSave), so that
  // the pre-flight's flush and the loading overlap.
  if (exclusive) return exclusive
  const shared = await ctx.lockFile(ctx.lockPath, { timeoutMs: ctx.lockTimeoutMs, shared: true, signal: ctx.signal })
  let current: TokenSet | undefined
  try {
    current = await ctx.store.read(ctx.key)
  } finally {
    shared.release()
  }
  if (current && peerRefreshed(ctx, seen, current, request)) return current
  if (willSend(ctx, current)) prepare()
  const timeoutMs = Math.max(1, deadlineMs - ctx.clock.now())
  return ctx.lockFile(ctx.lockPath, { timeoutMs, signal: ctx.signal })
}

/** A request follows if this process holds the lock: a grant for a machine session, else a refresh if it can. */
function willSend(ctx: SessionContext, tokens: TokenSet | undefined): boolean {
  return ctx.machine !== undefined || tokens?.refreshToken !== undefined
}

/** The exclusive lock if nobody holds it, else undefined; never waits. */
async function tryLock(ctx: SessionContext): Promise<LockHandle | undefined> {
  try {
    return await ctx.lockFile(ctx.lockPath, { timeoutMs: 0, signal: ctx.signal })
  } catch (err) {
    if (err instanceof TemporaryError) return undefined // taken: a peer is refreshing
    throw err
  }
}

function needsRefresh(ctx: SessionContext, tokens: TokenSet, request: TokenRequest): boolean {
  return request.force === true || isExpiring(tokens, ctx.clock.now(), ctx.refreshSkewSeconds)
}

function peerRefreshed(
  ctx: SessionContext,
  seen: TokenSet | undefined,
  current: TokenSet,
  request: TokenRequest,
): boolean {
  const nowMs = ctx.clock.now()
  // A machine session with nothing stored: whatever a peer saved meanwhile is its grant.
  if (seen === undefined) return !request.force && !isExpiring(current, nowMs, ctx.refreshSkewSeconds)
  if (request.rejected !== undefined) {
    return current.accessToken !== request.rejected && !isExpiring(current, nowMs, ctx.refreshSkewSeconds)
  }
  return !request.force && hasPeerRefreshed(seen, current, nowMs, ctx.refreshSkewSeconds)
}

/** Steps 4–6, under the lock. */
async function refreshAndSave(
  ctx: SessionContext,
  current: TokenSet | undefined,
  prepare: () => Promise<Protocol>,
): Promise<TokenSet> {
  if (!current) throw notSignedIn(ctx)
  if (!current.refreshToken) {
    throw new AuthRequiredError(`the access token for ${ctx.key.serverUrl} has expired and there is no refresh token`)
  }
  await refuseSpent(ctx, current.refreshToken)
  // Issue 15: with rotation the grant spends the stored refresh token, so the save is proven before it is sent. The
  // proof's flush runs on the thread pool while the protocol code loads (prepare), and is awaited before the grant.
  const prepared = await prepareSaveOrRefuse(ctx.store, ctx.key)
  let result
  try {
    const protocol = await prepare()
    await provenOrRefuse(prepared)
    await ctx.afterPreflight?.()
    result = await protocol.refresh(current.refreshToken)
  } catch (err) {
    await prepared.abort()
    if (err instanceof AuthRequiredError) {
      // Step 5, compare-and-clear: delete only the refresh token that failed. Under the lock nobody else writes this
      // session, but the store compares anyway so a future caller without the lock cannot destroy a peer's token.
      await ctx.store.delete(ctx.key, current.refreshToken)
    }
    throw err
  }
  const fresh = tokensFromGrant(result, ctx.clock.now(), current)
  await commitOrRetire(ctx, prepared, current.refreshToken, fresh)
  return fresh
}

/**
 * A machine session's token: one client-credentials grant, saved before the lock is released (no refresh token). No
 * save pre-flight as for a refresh: the grant spends nothing, so a save that fails loses no more than this token.
 */
async function grantAndSave(
  ctx: SessionContext,
  scope: string | undefined,
  prepare: () => Promise<Protocol>,
): Promise<TokenSet> {
  const protocol = await prepare()
  if (!protocol.clientCredentials) throw new TypeError('a machine session needs a protocol with clientCredentials')
  const grant = await protocol.clientCredentials(scope)
  const fresh = tokensFromGrant(grant, ctx.clock.now(), { flow: 'client_credentials', issuer: await protocol.issuer() })
  await ctx.store.write(ctx.key, fresh)
  return fresh
}

function notSignedIn(ctx: SessionContext): AuthRequiredError {
  return new AuthRequiredError(
    `not signed in to ${ctx.key.serverUrl} as client ${ctx.key.clientId} (tokens: ${ctx.store.location})`,
  )
}

/** Concurrent callers in one process share one refresh; each process still takes the kernel lock. */
export class SingleFlight {
  readonly #inflight = new Map<string, Promise<TokenSet>>()

  run(ctx: SessionContext, request: TokenRequest = {}): Promise<TokenSet> {
    const id = `${ctx.key.account}\n${request.force ? 'force' : ''}\n${request.rejected ?? ''}`
    const existing = this.#inflight.get(id)
    if (existing) return existing
    const p = getValidTokens(ctx, request).finally(() => this.#inflight.delete(id))
    this.#inflight.set(id, p)
    return p
  }
}
