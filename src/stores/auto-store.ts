import type { SessionKey } from '../session-key.ts'
import { isKeyringFailure } from './keyring-client.ts'
import { fitsKeyring } from './keyring-store.ts'
import {
  backend,
  type Backend,
  type Backends,
  choosePlacement,
  type Placed,
  placeAutomatically,
  putIn,
  removeOtherCopies,
} from './placement.ts'
import type { FileStore } from './file-store.ts'
import type { PreparedSave, StoredSession, TokenSet, TokenStore } from './types.ts'

/**
 * `auto`: the keyring when it works, else the plain file, decided at login (placeAutomatically) and remembered in the
 * plain file as a pointer entry (`{"store": "keyring"}`, FORMAT.md). Every later read and write follows the pointer,
 * so a keyring that is briefly unreachable makes the command fail (exit 1, or 5 on a timeout) instead of quietly
 * starting a second copy of the session in the file. A session with no entry in the file is looked for in the
 * keyring backends too, so one saved with an explicit --token-store is found.
 *
 * `kind` and `location` describe the backend of the session last read or written (the file until then): `status`
 * reads first and then reports where the tokens are.
 */
export class AutoStore implements TokenStore {
  readonly #backends: Backends
  #current: TokenStore

  constructor(backends: Backends) {
    this.#backends = backends
    this.#current = backends.file
  }

  get kind(): TokenStore['kind'] {
    return this.#current.kind
  }

  get location(): string {
    return this.#current.location
  }

  /** The plain file, which holds every session's entry or pointer: what a login always writes. */
  get plainFile(): FileStore {
    return this.#backends.file
  }

  async read(key: SessionKey): Promise<TokenSet | undefined> {
    const placed = await this.#backends.file.readPlacement(key)
    if (placed?.store === 'file') {
      this.#current = this.#backends.file
      return placed.tokens
    }
    if (placed !== undefined) return (await this.#use(placed.store)).read(key)
    return (await this.#adopt(key))?.tokens
  }

  /** A refresh: the remembered backend (see choosePlacement). A session never placed is placed as at login. */
  async write(key: SessionKey, tokens: TokenSet): Promise<void> {
    const placed = await this.#backends.file.readPlacement(key)
    if (placed === undefined) {
      await this.place(key, tokens)
      return
    }
    const store = choosePlacement({
      remembered: placed.store,
      keyringWorks: true,
      fitsKeyring: fitsKeyring(key, tokens),
    })
    if (store === placed.store) return (await this.#use(store)).write(key, tokens)
    // Only a keyring session that outgrew its item moves (to the encrypted file): repoint, then drop the old item.
    await putIn(this.#backends, store, key, tokens, 'always')
    await this.#use(store)
    await removeOtherCopies(this.#backends, key, store, true)
  }

  /**
   * The remembered backend's own proof. A session never placed is placed by `write`, which always writes the plain
   * file (entry or pointer): proving the file is proving the save, and the commit then places it as `write` does.
   * A keyring session that outgrows its item at commit moves through `write` too (the reservation is freed first).
   */
  async prepareSave(key: SessionKey): Promise<PreparedSave> {
    const placed = await this.#backends.file.readPlacement(key)
    const store = placed === undefined ? this.#backends.file : await this.#use(placed.store)
    const prepared = await store.prepareSave(key)
    const staysPut = (tokens: TokenSet) =>
      placed !== undefined && (placed.store !== 'keyring' || fitsKeyring(key, tokens))
    return {
      flushed: prepared.flushed,
      commit: async (tokens) => {
        if (staysPut(tokens)) return prepared.commit(tokens)
        await prepared.abort()
        await this.write(key, tokens)
      },
      abort: () => prepared.abort(),
    }
  }

  /** Login: decide afresh where the tokens go, put them there, remove every other copy, and say what happened. */
  async place(key: SessionKey, tokens: TokenSet): Promise<Placed> {
    const placed = await placeAutomatically(this.#backends, key, tokens)
    await this.#use(placed.store)
    return placed
  }

  async delete(key: SessionKey, ifRefreshToken?: string): Promise<boolean> {
    const placed = await this.#backends.file.readPlacement(key)
    if (placed?.store === 'file') return this.#backends.file.delete(key, ifRefreshToken)
    if (placed === undefined) {
      const adopted = await this.#adopt(key)
      return adopted === undefined ? false : adopted.store.delete(key, ifRefreshToken)
    }
    const removed = await (await this.#use(placed.store)).delete(key, ifRefreshToken)
    // Logout also clears a pointer whose item is already gone; a compare-and-clear that kept the item keeps it too.
    if (removed || ifRefreshToken === undefined) await this.#backends.file.deletePointer(key)
    return removed
  }

  /** Sessions in the file, those its pointers lead to, and those saved in the keyring backends directly. */
  async list(): Promise<StoredSession[]> {
    const sessions = await this.#backends.file.list()
    for (const { key, store } of await this.#backends.file.listPointers()) {
      const tokens = await (await backend(this.#backends, store)).read(key)
      if (tokens !== undefined) sessions.push({ key, tokens, store })
    }
    const seen = new Set(sessions.map((s) => s.key.account))
    for (const store of ['keyring', 'encrypted'] as const) {
      for (const found of (await quietly(async () => (await backend(this.#backends, store)).list())) ?? []) {
        if (!seen.has(found.key.account)) sessions.push(found)
        seen.add(found.key.account)
      }
    }
    return sessions
  }

  async #use(store: Backend): Promise<TokenStore> {
    this.#current = await backend(this.#backends, store)
    return this.#current
  }

  /** No entry in the file: a session saved with --token-store encrypted or keyring. A keyring that fails hides nothing we recorded. */
  async #adopt(key: SessionKey): Promise<{ store: TokenStore; tokens: TokenSet } | undefined> {
    for (const name of ['encrypted', 'keyring'] as const) {
      const store = await backend(this.#backends, name)
      const tokens = await quietly(() => store.read(key))
      if (tokens !== undefined) {
        this.#current = store
        return { store, tokens }
      }
    }
    return undefined
  }
}

/** The keyring backends' answer, or nothing when the keyring does not work; other errors (a damaged file) surface. */
async function quietly<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run()
  } catch (error) {
    if (isKeyringFailure(error)) return undefined
    throw error
  }
}
