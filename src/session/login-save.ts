import type { Settings, StoreName } from '../config/settings.ts'
import { KEYRING_ITEM_LIMIT_BYTES } from '../stores/keyring-store.ts'
import type { Backend, Placed } from '../stores/placement.ts'
import type { TokenSet } from '../stores/types.ts'
import type { Deps } from './deps.ts'
import type { LoginHold } from './preflight.ts'
import type { SessionContext } from './refresh-engine.ts'
import { openBackends } from './stores.ts'

export type { Placed } from '../stores/placement.ts'

/** What saveLoginTokens needs of an OpenSession (openSession's result has all of it). */
export interface LoginSaveSession {
  readonly settings: Pick<Settings, 'tokenStore' | 'tokenFile' | 'lockTimeoutMs'>
  readonly context: SessionContext
}

/**
 * Saves a login's tokens in the backend the settings choose, under the session lock (taken only here, never while a
 * person types), and says on stderr where they went. With `auto` the backend is decided afresh (keyring, encrypted
 * file when too large for it, plain file when it does not work) and remembered. With an explicit --token-store the
 * session moves there: every other copy is removed, the plaintext one in the file included.
 * @throws StoreError (a store that cannot be used, tokens too large for `keyring`), TemporaryError (lock or keyring
 *   timeout), InterruptedError.
 */
export async function saveLoginTokens(
  session: LoginSaveSession,
  tokens: TokenSet,
  deps: Pick<Deps, 'sleep' | 'platform'>,
  say: (line: string) => void,
  hold?: LoginHold,
): Promise<Placed> {
  const ctx = session.context
  // A sign-in's grant came back under the session lock and a proven save (preflight.ts): both are still held, and
  // the plain file's next write fills the temp file reserved before the grant. A store that cannot hold it (the
  // keyring, the encrypted file) frees its proof now: the save writes as ever, under the same session lock.
  const lock = hold?.lock ?? (await ctx.lockFile(ctx.lockPath, { timeoutMs: ctx.lockTimeoutMs, signal: ctx.signal }))
  let placed: Placed
  try {
    if (hold?.prepared.holdForNextWrite) hold.prepared.holdForNextWrite()
    else await hold?.prepared.abort()
    placed = await placeLogin(session, tokens, deps)
  } finally {
    await hold?.prepared.abort() // nothing once the save filled it
    lock.release()
  }
  for (const line of describePlacement(placed, session.settings.tokenStore)) say(line)
  return placed
}

async function placeLogin(
  session: LoginSaveSession,
  tokens: TokenSet,
  deps: Pick<Deps, 'sleep' | 'platform'>,
): Promise<Placed> {
  const { store, key, lockFile, clock } = session.context
  const { AutoStore } = await import('../stores/auto-store.ts')
  if (store instanceof AutoStore) return store.place(key, tokens)
  if (!isBackend(store.kind) || session.settings.tokenStore === 'auto') {
    // A store handed in by a caller (a test's memory store): it is the whole world, there is nothing to move.
    await store.write(key, tokens)
    return { store: store.kind, location: store.location, removedFrom: [], leftIn: [] }
  }
  const [{ moveSessionTo }, backends, { FileStore }] = await Promise.all([
    import('../stores/placement.ts'),
    openBackends(session.settings, { lockFile, clock, sleep: deps.sleep, platform: deps.platform }),
    import('../stores/file-store.ts'),
  ])
  // The session's own file store, which may hold the sign-in's reservation (and its store lock).
  return moveSessionTo(store instanceof FileStore ? { ...backends, file: store } : backends, store.kind, key, tokens)
}

function isBackend(kind: string): kind is Backend {
  return kind === 'file' || kind === 'keyring' || kind === 'encrypted'
}

/** Pure: the stderr lines for a placement. `auto` always says where the tokens went and why; a move says what it removed. */
export function describePlacement(placed: Placed, mode: StoreName): string[] {
  const lines: string[] = []
  if (mode === 'auto') lines.push(`auto: ${autoLine(placed)}`)
  for (const { store, location } of placed.removedFrom) {
    lines.push(
      store === 'file'
        ? `moved the session out of the file ${location}: the plaintext copy there is removed`
        : `removed the earlier copy of the session from ${location}`,
    )
  }
  for (const { location, reason } of placed.leftIn)
    lines.push(`warning: could not remove the earlier copy of the session from ${location}: ${reason}`)
  return lines
}

function autoLine(placed: Placed): string {
  const why = placed.notKeyring
  if (why !== undefined && 'failure' in why)
    return `tokens saved in the file ${placed.location}, because ${why.failure}`
  if (why !== undefined) {
    return (
      `the tokens (${why.tooLargeBytes} bytes) are larger than an OS keyring item holds (${KEYRING_ITEM_LIMIT_BYTES} bytes): ` +
      `saved in the encrypted file ${placed.location}, its key in the OS keyring`
    )
  }
  return `tokens saved in ${placed.store === 'keyring' ? '' : `the ${placed.store} file `}${placed.location}`
}
