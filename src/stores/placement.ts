/**
 * Where a session's tokens go, and moving them there: the rules behind `auto` and behind a login that changes the
 * backend (`authgate login --token-store keyring` for a session in the file moves it and removes the plaintext copy).
 */
import type { SessionKey } from '../session-key.ts'
import { StoreError } from '../errors.ts'
import { reason } from './atomic-file.ts'
import type { EncryptedStore } from './encrypted-store.ts'
import type { FileStore } from './file-store.ts'
import { isKeyringFailure } from './keyring-client.ts'
import { KEYRING_ITEM_LIMIT_BYTES, type KeyringStore, keyringPayload } from './keyring-store.ts'
import type { StoreKind, TokenSet, TokenStore } from './types.ts'

export type Backend = 'file' | 'keyring' | 'encrypted'

/** The three real backends, the keyring ones loaded on first use (the addon costs start-up and talks D-Bus). */
export interface Backends {
  readonly file: FileStore
  keyring(): Promise<KeyringStore>
  encrypted(): Promise<EncryptedStore>
}

export interface PlacementQuestion {
  /** The backend the session was placed in at login; undefined at login itself and for a session never saved. */
  readonly remembered: Backend | undefined
  /** False once a keyring call failed (unreachable or timed out) during this placement. */
  readonly keyringWorks: boolean
  readonly fitsKeyring: boolean
}

/**
 * Pure. At login: the keyring when it works and the tokens fit, the encrypted file when they do not fit (its key
 * still needs the keyring), else the plain file. Later: the remembered backend, so a keyring that is briefly
 * unreachable fails the command instead of splitting the session between two backends. The one exception is size: a
 * refresh that outgrows the keyring moves to the encrypted file, which is as safe, rather than failing on Windows.
 */
export function choosePlacement(q: PlacementQuestion): Backend {
  if (q.remembered === 'keyring') return q.fitsKeyring ? 'keyring' : 'encrypted'
  if (q.remembered !== undefined) return q.remembered
  if (!q.keyringWorks) return 'file'
  return q.fitsKeyring ? 'keyring' : 'encrypted'
}

/** What a placement did, for the line `login` prints. Locations are absolute paths or the keyring's description. */
export interface Placed {
  readonly store: StoreKind
  readonly location: string
  /** Why the keyring was not used: the size, or the keyring's own error. Undefined when it was, or not asked. */
  readonly notKeyring?: { readonly tooLargeBytes: number } | { readonly failure: string } | undefined
  /** Old copies removed; one in the `file` store was a plaintext copy. */
  readonly removedFrom: ReadonlyArray<{ readonly store: StoreKind; readonly location: string }>
  /** Old copies that could not be removed, with the reason. */
  readonly leftIn: ReadonlyArray<{ readonly location: string; readonly reason: string }>
}

export async function backend(backends: Backends, store: Backend): Promise<TokenStore> {
  return store === 'file' ? backends.file : store === 'keyring' ? backends.keyring() : backends.encrypted()
}

/**
 * Writes the tokens to `store`. For the keyring and the encrypted file, the plain file's entry becomes a pointer
 * (which is how `auto` remembers, and how a plaintext copy disappears); with `pointer: 'if-present'` (an explicit
 * --token-store) a file that never knew the session is left alone, so keyring users get no tokens.json.
 * Returns the plain file when a plaintext copy was replaced.
 */
export async function putIn(
  backends: Backends,
  store: Backend,
  key: SessionKey,
  tokens: TokenSet,
  pointer: 'always' | 'if-present',
): Promise<Placed['removedFrom']> {
  if (store === 'file') {
    await backends.file.write(key, tokens)
    return []
  }
  await (await backend(backends, store)).write(key, tokens)
  const before = await backends.file.readPlacement(key)
  if (pointer === 'if-present' && before === undefined) return []
  await backends.file.writePointer(key, store)
  return before?.store === 'file' ? [{ store: 'file', location: backends.file.location }] : []
}

/**
 * After the tokens are safely in `keep` (and putIn has rewritten the plain file's entry, which is what removes a
 * plaintext copy): deletes the session from the keyring and the encrypted file, so no stale copy remains. Best
 * effort: a copy that cannot be removed is reported, never a reason to fail the login. A keyring that does not work
 * is not reported: whether it holds a copy cannot be known, and `file` users without a keyring would see it at every
 * login. When the keyring has just failed, asking it again would only repeat the wait, so nothing is asked.
 */
export async function removeOtherCopies(
  backends: Backends,
  key: SessionKey,
  keep: Backend,
  keyringWorks: boolean,
): Promise<Pick<Placed, 'removedFrom' | 'leftIn'>> {
  const removedFrom: Array<Placed['removedFrom'][number]> = []
  const leftIn: Array<{ location: string; reason: string }> = []
  const others = keyringWorks ? (['encrypted', 'keyring'] as const).filter((b) => b !== keep) : []
  for (const other of others) {
    let store: TokenStore | undefined
    try {
      store = await backend(backends, other)
      if (await store.delete(key)) removedFrom.push({ store: store.kind, location: store.location })
    } catch (error) {
      if (!isKeyringFailure(error)) leftIn.push({ location: store?.location ?? other, reason: reason(error) })
    }
  }
  return { removedFrom, leftIn }
}

/** Where the tokens went and what was cleaned up, in one Placed. */
async function placed<S extends Backend>(
  backends: Backends,
  key: SessionKey,
  store: S,
  replaced: Placed['removedFrom'],
  keyringWorks: boolean,
  notKeyring?: Placed['notKeyring'],
): Promise<Placed & { store: S }> {
  const location = (await backend(backends, store)).location
  const { removedFrom, leftIn } = await removeOtherCopies(backends, key, store, keyringWorks)
  return { store, location, notKeyring, removedFrom: [...replaced, ...removedFrom], leftIn }
}

/**
 * A login with an explicit --token-store: the tokens go there, every other copy goes. Refused up front when they are
 * too large for a keyring item, where nothing is lost yet (a refresh is never refused, see KeyringStore).
 */
export async function moveSessionTo(
  backends: Backends,
  target: Backend,
  key: SessionKey,
  tokens: TokenSet,
): Promise<Placed> {
  const bytes = keyringPayload(key, tokens).byteLength
  if (target === 'keyring' && bytes > KEYRING_ITEM_LIMIT_BYTES) {
    throw new StoreError(
      `the tokens (${bytes} bytes) are larger than an OS keyring item holds (${KEYRING_ITEM_LIMIT_BYTES} bytes, the smallest limit, Windows')`,
      {
        hint: 'use --token-store encrypted (the file encrypted with a key in the keyring), or auto',
      },
    )
  }
  return placed(backends, key, target, await putIn(backends, target, key, tokens, 'if-present'), true)
}

/** `auto` at login: decide, try, and fall back to the file if the keyring does not work right now. */
export async function placeAutomatically(
  backends: Backends,
  key: SessionKey,
  tokens: TokenSet,
): Promise<Placed & { store: Backend }> {
  const bytes = keyringPayload(key, tokens).byteLength
  const fitsKeyring = bytes <= KEYRING_ITEM_LIMIT_BYTES
  let store = choosePlacement({ remembered: undefined, keyringWorks: true, fitsKeyring })
  let failure: string | undefined
  let replaced: Placed['removedFrom']
  try {
    replaced = await putIn(backends, store, key, tokens, 'always')
  } catch (error) {
    if (!isKeyringFailure(error)) throw error
    failure = error.message
    store = choosePlacement({ remembered: undefined, keyringWorks: false, fitsKeyring })
    replaced = await putIn(backends, store, key, tokens, 'always')
  }
  const notKeyring = failure !== undefined ? { failure } : store === 'encrypted' ? { tooLargeBytes: bytes } : undefined
  return placed(backends, key, store, replaced, failure === undefined, notKeyring)
}
