import { resolve } from 'node:path'
import type { SessionKey } from '../session-key.ts'
import { StoreError } from '../errors.ts'
import { readStoreFile, type StoreFileLock, updateStoreFile } from './atomic-file.ts'
import {
  encodeStore,
  type JsonObject,
  listPointers,
  listSessions,
  parseStore,
  type Placement,
  type PointerStore,
  putPointer,
  putSession,
  readPlacement,
  removePointer,
  removeSession,
} from './file-codec.ts'
import { commitBuilt, reserveStoreFile, type FileReservation } from './reserved-file.ts'
import type { PreparedSave, StoredSession, TokenSet, TokenStore } from './types.ts'

export { permissionWarnings } from './atomic-file.ts'

export interface FileStoreOptions extends StoreFileLock {
  /** Stamps `obtained_at` on tokens that arrive without it: a write follows the grant that produced them. */
  readonly now: () => number
}

/**
 * One JSON document holding every session (format in file-codec.ts and FORMAT.md), mode 0600 in a 0700 directory.
 * Reads take no lock: every write is a rename of a complete temp file, so a reader sees the old or the new document.
 * Writes and deletes hold the store-wide lock, so writers of different sessions never lose each other's entries.
 * A document that cannot be parsed is never overwritten.
 */
export class FileStore implements TokenStore {
  /** A pre-flight's reservation kept for the next write (a sign-in's save, session/preflight.ts); see holdForNextWrite. */
  #held: FileReservation | undefined
  readonly kind = 'file' as const
  readonly location: string
  readonly #options: FileStoreOptions

  constructor(path: string, options: FileStoreOptions) {
    this.location = resolve(path)
    this.#options = options
  }

  /** A session `auto` placed in another backend holds a pointer here; read as `file`, that is an error, not "signed out". */
  async read(key: SessionKey): Promise<TokenSet | undefined> {
    const placed = await this.readPlacement(key)
    if (placed === undefined || placed.store === 'file') return placed?.tokens
    throw new StoreError(
      `the tokens of ${key.account} are not in ${this.location}: it records that they are in the ${placed.store} store`,
      {
        hint: 'use --token-store auto (which follows that record), or `authgate login --token-store file` to move them here',
      },
    )
  }

  /** The session's tokens, or the backend a pointer names (see file-codec.ts): what `auto` and the fast lane read. */
  async readPlacement(key: SessionKey): Promise<Placement | undefined> {
    const doc = loadDocument(this.location)
    return doc === undefined ? undefined : readPlacement(doc, key, this.location)
  }

  async write(key: SessionKey, tokens: TokenSet): Promise<void> {
    await this.#update((doc, source) => putSession(doc, key, this.#stamp(tokens), source))
  }

  /** The document is parsed now, so a damaged store stops the grant too (and is still never overwritten). */
  async prepareSave(key: SessionKey): Promise<PreparedSave> {
    const reserved = await reserveStoreFile(this.location, this.#options)
    let doc: JsonObject
    try {
      doc = reserved.current === undefined ? {} : parseStore(reserved.current.toString('utf8'), reserved.target)
    } catch (error) {
      await reserved.abort()
      throw error
    }
    return {
      commit: (tokens) =>
        commitBuilt(reserved, () => encodeStore(putSession(doc, key, this.#stamp(tokens), reserved.target))),
      flushed: reserved.flushed,
      holdForNextWrite: () => void (this.#held = reserved),
      abort: async () => {
        if (this.#held === reserved) this.#held = undefined
        await reserved.abort()
      },
    }
  }

  #stamp(tokens: TokenSet): TokenSet {
    return tokens.obtainedAtMs === undefined ? { ...tokens, obtainedAtMs: this.#options.now() } : tokens
  }

  /** Replaces the session's entry (and its plaintext tokens) with a pointer to the backend that now holds them. */
  async writePointer(key: SessionKey, store: PointerStore): Promise<void> {
    await this.#update((doc, source) => putPointer(doc, key, store, source))
  }

  async delete(key: SessionKey, ifRefreshToken?: string): Promise<boolean> {
    // Nothing to delete needs no lock, no directory and no lock file (logout when never signed in).
    if ((await this.readPlacement(key))?.store !== 'file') return false
    return this.#remove((doc, source) => removeSession(doc, key, ifRefreshToken, source))
  }

  async deletePointer(key: SessionKey): Promise<boolean> {
    if ((await this.readPlacement(key))?.store === 'file') return false
    return this.#remove((doc) => removePointer(doc, key))
  }

  async list(): Promise<StoredSession[]> {
    const doc = loadDocument(this.location)
    if (doc === undefined) return []
    return listSessions(doc, this.location).map(({ key, tokens }) => ({ key, tokens, store: this.kind }))
  }

  /** The sessions whose entry is a pointer to another backend. */
  async listPointers(): Promise<Array<{ key: SessionKey; store: PointerStore }>> {
    const doc = loadDocument(this.location)
    return doc === undefined ? [] : listPointers(doc, this.location)
  }

  async #remove(change: (doc: JsonObject, source: string) => JsonObject | undefined): Promise<boolean> {
    let removed = false
    await this.#update((doc, source) => {
      const next = change(doc, source)
      removed = next !== undefined
      return next
    })
    return removed
  }

  /** `change` returns undefined when there is nothing to write. */
  async #update(change: (doc: JsonObject, source: string) => JsonObject | undefined): Promise<void> {
    const held = this.#held
    if (held !== undefined) {
      // A sign-in's save (holdForNextWrite): the store lock is still ours and the document as re-read under it.
      this.#held = undefined
      return commitBuilt(held, () => {
        const current = held.current === undefined ? {} : parseStore(held.current.toString('utf8'), held.target)
        return encodeStore(change(current, held.target) ?? current)
      })
    }
    await updateStoreFile(this.location, this.#options, async (current, target) => {
      const next = change(current === undefined ? {} : parseStore(current.toString('utf8'), target), target)
      return next === undefined ? undefined : encodeStore(next)
    })
  }
}

/** Undefined when the file does not exist (an empty store). Throws StoreError when it cannot be read or parsed. */
function loadDocument(path: string): JsonObject | undefined {
  const bytes = readStoreFile(path)
  return bytes === undefined ? undefined : parseStore(bytes.toString('utf8'), path)
}
