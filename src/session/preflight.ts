/**
 * Nothing is spent that cannot be saved (issue 15). A grant that spends a credential (a refresh with rotation, a
 * device code, an authorization code) is sent only after the store has proven, under the session lock, that it can
 * take the answer; a store that cannot is a temporary failure with nothing spent. If the save still fails once the
 * server has answered, the spent refresh token is put beyond use, so no later process sends it again.
 */
import type { SessionKey } from '../session-key.ts'
import { AuthgateError, AuthRequiredError, StoreError, TemporaryError } from '../errors.ts'
import type { AutoStore } from '../stores/auto-store.ts'
import { isKeyringFailure } from '../stores/keyring-client.ts'
import type { SpentMarker } from '../stores/spent-marker.ts'
import type { LockHandle } from '../lock/types.ts'
import type { PreparedSave, TokenSet, TokenStore } from '../stores/types.ts'
import type { SessionContext } from './refresh-engine.ts'
import type { LoginProtocol } from './protocol-types.ts'

/** What each local failure asks of the person; anything else (a damaged store) is reported as it is. */
const REMEDIES: Readonly<Record<string, string>> = {
  ENOSPC: 'free space and run again',
  EDQUOT: 'free space (or raise the quota) and run again',
  EROFS: 'make the file system writable and run again',
  EACCES: 'make the directory writable for this user and run again',
  EPERM: 'make the directory writable for this user and run again',
  EIO: 'check the disk and run again',
}

/**
 * The store's proof, with its failure turned into exit 5: `<what failed, naming the path>; nothing was spent: <remedy>`.
 * @throws TemporaryError (the store cannot take a save now), StoreError (a damaged store), InterruptedError.
 */
export async function prepareSaveOrRefuse(
  store: Pick<TokenStore, 'prepareSave'>,
  key: SessionKey,
): Promise<PreparedSave> {
  try {
    return await store.prepareSave(key)
  } catch (error) {
    throw refusal(error)
  }
}

/**
 * The rest of the proof, awaited just before the grant: what prepareSave left running (a temp file's flush on the
 * thread pool, which a refresh overlaps with loading its protocol code). On failure the reservation is freed.
 * @throws as prepareSaveOrRefuse
 */
export async function provenOrRefuse(prepared: PreparedSave): Promise<void> {
  try {
    await prepared.flushed
  } catch (error) {
    await prepared.abort()
    throw refusal(error)
  }
}

function refusal(error: unknown): unknown {
  const remedy = isKeyringFailure(error)
    ? 'make the keyring reachable (unlock it, or start the Secret Service) and run again'
    : REMEDIES[errnoOf(error) ?? '']
  if (remedy === undefined || !(error instanceof AuthgateError)) return error
  return new TemporaryError(`${error.message}; nothing was spent: ${remedy}`, { cause: error })
}

/** The first errno code on the cause chain (StoreError wraps the fs error). */
function errnoOf(error: unknown): string | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    const code = (e as NodeJS.ErrnoException).code
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code
  }
  return undefined
}

export interface SpentRefresh {
  readonly store: TokenStore
  readonly key: SessionKey
  readonly spent?: SpentMarker | undefined
}

/**
 * Saves a refresh's answer into what was prepared. When even that fails, the new tokens are lost whatever we do (we
 * never write them anywhere the user did not choose), so what is left to protect is the grant itself: the entry is
 * cleared if it still holds the spent refresh token, else a marker makes later processes refuse to send it.
 * @throws StoreError naming the store and telling the person to sign in again, once the store can be written.
 */
export async function commitOrRetire(
  session: SpentRefresh,
  prepared: PreparedSave,
  spentRefreshToken: string,
  fresh: TokenSet,
): Promise<void> {
  try {
    await prepared.commit(fresh)
    return
  } catch (error) {
    const how = await retire(session, spentRefreshToken)
    throw new StoreError(
      `the server answered the refresh, but the new tokens could not be saved in ${session.store.location}: ${message(error)}; ${how}`,
      { cause: error, hint: 'make the store writable, then run `authgate login`' },
    )
  }
}

async function retire(session: SpentRefresh, refreshToken: string): Promise<string> {
  try {
    await session.store.delete(session.key, refreshToken)
    return 'the spent refresh token was removed from the store, so it is never sent again'
  } catch {
    // The store cannot be written at all: mark the token where the session lock lives instead.
  }
  try {
    await session.spent?.mark(refreshToken)
    return 'the spent refresh token is marked as spent, so it is never sent again'
  } catch (error) {
    return `the spent refresh token could not be marked either (${message(error)}): the next refresh will be refused by the server`
  }
}

/**
 * Before a refresh: a token marked by commitOrRetire is never sent. Its entry is cleared (compare-and-clear), the
 * marker with it, and the person signs in again, as after `invalid_grant`.
 */
export async function refuseSpent(session: SpentRefresh, refreshToken: string): Promise<void> {
  if (!(await session.spent?.isSpent(refreshToken))) return
  await session.store.delete(session.key, refreshToken)
  session.spent?.clear()
  throw new AuthRequiredError(
    `the refresh token of ${session.key.serverUrl} was spent by a refresh whose answer could not be saved`,
  )
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The session lock and the proven save a sign-in's grant returned tokens under: its save fills them (login-save.ts). */
export interface LoginHold {
  readonly lock: LockHandle
  readonly prepared: PreparedSave
}

/** Where guardLoginGrants hands over a hold; whoever ends the sign-in frees one that no save took. */
export interface LoginHolder {
  take(hold: LoginHold): void
  /** The hold, once: the save that gets it frees it. */
  claim(): LoginHold | undefined
  /** Frees a hold nobody claimed (the sign-in failed or was interrupted between the answer and the save). */
  free(): Promise<void>
}

export function loginHolder(): LoginHolder {
  let held: LoginHold | undefined
  let closed = false
  const release = async (hold: LoginHold) => {
    await hold.prepared.abort()
    hold.lock.release()
  }
  return {
    // A second grant with tokens (the browser and the device flow racing), or one after the sign-in ended: freed.
    take: (hold) => void (closed || held !== undefined ? release(hold).catch(() => {}) : (held = hold)),
    claim() {
      const hold = held
      held = undefined
      return hold
    },
    async free() {
      closed = true
      const hold = held
      held = undefined
      if (hold !== undefined) await release(hold)
    },
  }
}

/**
 * A sign-in's grants that would return tokens (each device-code poll, the code exchange) are sent only while the
 * session lock is held and the store has proven it can take a save: a full or read-only disk stops the sign-in before
 * the code is redeemed, with exit 5. The lock is held for the request only, never while the person types. A poll
 * still pending frees both; the answer that carries tokens hands them to `holder`, and the login's save fills the
 * reserved temp file under the same locks (saveLoginTokens), as a refresh does.
 */
export function guardLoginGrants(ctx: SessionContext, protocol: LoginProtocol, holder: LoginHolder): LoginProtocol {
  const guarded = async <T>(send: () => Promise<T>, carriesTokens: (result: T) => boolean): Promise<T> => {
    const lock = await ctx.lockFile(ctx.lockPath, { timeoutMs: ctx.lockTimeoutMs, signal: ctx.signal })
    let prepared: PreparedSave | undefined
    let handedOver = false
    try {
      prepared = await prepareSaveOrRefuse(loginProofStore(ctx.store), ctx.key)
      await provenOrRefuse(prepared)
      await ctx.afterPreflight?.()
      const result = await send()
      if (carriesTokens(result)) {
        holder.take({ lock, prepared })
        handedOver = true
      }
      return result
    } finally {
      if (!handedOver) {
        await prepared?.abort()
        lock.release()
      }
    }
  }
  return {
    deviceAuthorization: (scope) => protocol.deviceAuthorization(scope),
    pollDevice: (deviceCode) =>
      guarded(
        () => protocol.pollDevice(deviceCode),
        (poll) => poll.status === 'granted',
      ),
    authorizationRequest: (redirectUri, scope) => protocol.authorizationRequest(redirectUri, scope),
    exchangeCode: (callback, request) =>
      guarded(
        () => protocol.exchangeCode(callback, request),
        () => true,
      ),
  }
}

/** `auto` decides afresh at login and always writes the plain file (entry or pointer): that is what must be proven. */
function loginProofStore(store: TokenStore): Pick<TokenStore, 'prepareSave'> {
  return (store as Partial<Pick<AutoStore, 'plainFile'>>).plainFile ?? store
}
