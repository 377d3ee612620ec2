import type { SessionKey } from '../session-key.ts'
import { StoreError } from '../errors.ts'
import { isJsonObject } from './json-fields.ts'
import { decodeEntry, encodeEntry, entryKey } from './token-entry.ts'
import type { KeyringClient } from './keyring-client.ts'
import type { PreparedSave, StoredSession, TokenSet, TokenStore } from './types.ts'

/** The contract's service name: one item per session, account `<client id>@<normalised server URL>`. */
export const KEYRING_SERVICE = 'authgate-cli'

/**
 * Windows Credential Manager's CRED_MAX_CREDENTIAL_BLOB_SIZE. Used on every platform, so that `auto` puts the same
 * session in the same backend on Linux, macOS and Windows (Secret Service and the Keychain would take more).
 */
export const KEYRING_ITEM_LIMIT_BYTES = 2560

const ITEM_VERSION = 1

/** Where a session with no item yet proves the keyring takes writes; apart, so listing `authgate-cli` never sees it. */
export const PROBE_SERVICE = 'authgate-cli-probe'

/** The item's bytes: the file store's entry for the session (same field names), plus a format version. */
export function keyringPayload(key: SessionKey, tokens: TokenSet): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ version: ITEM_VERSION, ...encodeEntry(key, tokens) }))
}

/** Whether the session's item fits the keyring limit above; `auto` sends larger token sets to the encrypted file. */
export function fitsKeyring(key: SessionKey, tokens: TokenSet): boolean {
  return keyringPayload(key, tokens).byteLength <= KEYRING_ITEM_LIMIT_BYTES
}

export interface KeyringStoreOptions {
  /** Stamps `obtained_at` on tokens that arrive without it, as the file store does. */
  readonly now: () => number
}

/**
 * One keyring item per session holding its token set as JSON. Nothing here locks: one item is one session, and the
 * engine serialises writers of a session with the session lock, whatever the backend. Writes are not refused for
 * size: a refreshed token set must be saved wherever it can be, or a rotating server's new refresh token is lost.
 */
export class KeyringStore implements TokenStore {
  readonly kind = 'keyring' as const
  readonly location: string
  readonly #client: KeyringClient
  readonly #options: KeyringStoreOptions

  constructor(client: KeyringClient, options: KeyringStoreOptions) {
    this.#client = client
    this.#options = options
    this.location = `${client.name}, service ${KEYRING_SERVICE}`
  }

  async read(key: SessionKey): Promise<TokenSet | undefined> {
    const bytes = await this.#client.get(KEYRING_SERVICE, key.account)
    return bytes === undefined ? undefined : this.#decode(key.account, bytes).tokens
  }

  async write(key: SessionKey, tokens: TokenSet): Promise<void> {
    const stamped = tokens.obtainedAtMs === undefined ? { ...tokens, obtainedAtMs: this.#options.now() } : tokens
    await this.#client.set(KEYRING_SERVICE, key.account, keyringPayload(key, stamped))
  }

  /**
   * A bounded write of the session's current item, byte for byte (or of a probe item, removed again): a keyring that
   * is locked, gone or refusing writes fails here, before the grant. Nothing is held: one item is one session, and
   * the caller's session lock keeps other writers of it away.
   */
  async prepareSave(key: SessionKey): Promise<PreparedSave> {
    const current = await this.#client.get(KEYRING_SERVICE, key.account)
    if (current !== undefined) await this.#client.set(KEYRING_SERVICE, key.account, current)
    else {
      await this.#client.set(PROBE_SERVICE, key.account, new TextEncoder().encode('authgate pre-flight'))
      await this.#client.delete(PROBE_SERVICE, key.account)
    }
    return { commit: (tokens) => this.write(key, tokens), abort: async () => {} }
  }

  /** Compare-and-clear by read then delete: callers hold the session lock, the only writer of this item. */
  async delete(key: SessionKey, ifRefreshToken?: string): Promise<boolean> {
    if (ifRefreshToken !== undefined) {
      const current = await this.read(key)
      if (current?.refreshToken !== ifRefreshToken) return false
    }
    return this.#client.delete(KEYRING_SERVICE, key.account)
  }

  /** The keyring's own listing of the service is the index: no second place to keep in step. */
  async list(): Promise<StoredSession[]> {
    const sessions: StoredSession[] = []
    for (const account of await this.#client.accounts(KEYRING_SERVICE)) {
      const bytes = await this.#client.get(KEYRING_SERVICE, account)
      if (bytes !== undefined) sessions.push({ ...this.#decode(account, bytes), store: this.kind })
    }
    return sessions
  }

  #decode(account: string, bytes: Uint8Array): { key: SessionKey; tokens: TokenSet } {
    const source = `${this.location}, account ${account}`
    // Never quote the item (it holds tokens), and never hint at a file: this is a keyring item.
    const hint = `delete the keyring item (service ${KEYRING_SERVICE}, account ${account}), then run \`authgate login\``
    let entry: unknown
    try {
      entry = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    } catch {
      throw new StoreError(`the token store ${source} cannot be used: it is not valid JSON`, { hint })
    }
    if (!isJsonObject(entry))
      throw new StoreError(`the token store ${source} cannot be used: it is not a JSON object`, { hint })
    if (entry.version !== undefined && entry.version !== ITEM_VERSION) {
      const version = JSON.stringify(entry.version)
      throw new StoreError(`the token store ${source} has format version ${version}, which this authgate cannot read`, {
        hint: 'upgrade authgate',
      })
    }
    try {
      return { key: entryKey(account, entry, 'the item', source), tokens: decodeEntry(entry, 'the item', source) }
    } catch (error) {
      throw error instanceof StoreError ? new StoreError(error.message, { hint }) : error
    }
  }
}
