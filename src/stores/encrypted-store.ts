import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import type { SessionKey } from '../session-key.ts'
import { StoreError } from '../errors.ts'
import { readStoreFile, updateStoreFile } from './atomic-file.ts'
import {
  encodeStore,
  type JsonObject,
  listSessions,
  parseStore,
  putSession,
  readSession,
  removeSession,
} from './file-codec.ts'
import type { FileStoreOptions } from './file-store.ts'
import { isJsonObject } from './json-fields.ts'
import type { KeyringClient } from './keyring-client.ts'
import { commitBuilt, reserveStoreFile } from './reserved-file.ts'
import type { PreparedSave, StoredSession, TokenSet, TokenStore } from './types.ts'

/** Keys live apart from the sessions' service, so that listing `authgate-cli` finds sessions only. */
export const KEY_SERVICE = 'authgate-cli-file-key'
const FORMAT = 'authgate-encrypted-token-store'
const VERSION = 1
const CIPHER = 'aes-256-gcm'
const HINT = 'move the file aside and run `authgate login`; authgate leaves it untouched'

/** The file's outer layer (FORMAT.md, "The encrypted file"). `key` names the keyring item that holds the key. */
export interface Envelope {
  readonly key: string
  readonly iv: Buffer
  readonly tag: Buffer
  readonly data: Buffer
}

/** Beside the token file: `.json` becomes `.enc` (else `.enc` is appended), so `auto` and `encrypted` share it. */
export function encryptedStorePath(tokenFile: string): string {
  const path = resolve(tokenFile)
  return path.endsWith('.json') ? `${path.slice(0, -'.json'.length)}.enc` : `${path}.enc`
}

/** The header is authenticated too: pointing `key` at another item, or changing the version, fails the tag check. */
function additionalData(keyAccount: string): Buffer {
  return Buffer.from(JSON.stringify([FORMAT, VERSION, CIPHER, keyAccount]))
}

/** AES-256-GCM with a fresh 96-bit IV per write (NIST SP 800-38D §8.2.2: random IVs, far below 2^32 writes per key). */
export function sealDocument(plaintext: string, key: Buffer, keyAccount: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv(CIPHER, key, iv).setAAD(additionalData(keyAccount))
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  const fields = {
    format: FORMAT,
    version: VERSION,
    cipher: CIPHER,
    key: keyAccount,
    iv,
    tag: cipher.getAuthTag(),
    data,
  }
  const text = Object.fromEntries(
    Object.entries(fields).map(([name, v]) => [name, Buffer.isBuffer(v) ? v.toString('base64') : v]),
  )
  return `${JSON.stringify(text, null, 2)}\n`
}

/** Any damage that leaves the JSON unreadable (a cut-short write, an edit) is reported here, naming the file. */
export function parseEnvelope(text: string, source: string): Envelope {
  const damaged = (problem: string) =>
    new StoreError(`the encrypted token store ${source} cannot be used: ${problem}`, { hint: HINT })
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw damaged(text.trim() === '' ? 'the file is empty' : 'it is cut short or is not an authgate encrypted store')
  }
  if (!isJsonObject(doc) || doc.format !== FORMAT) throw damaged('it is not an authgate encrypted store')
  if (doc.version !== VERSION || doc.cipher !== CIPHER) {
    throw new StoreError(
      `the encrypted token store ${source} has format version ${JSON.stringify(doc.version)} (${JSON.stringify(doc.cipher)}), which this authgate cannot read`,
      { hint: 'upgrade authgate' },
    )
  }
  const bytes = (field: string, length?: number): Buffer => {
    const value = doc[field]
    const decoded =
      typeof value === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(value) ? Buffer.from(value, 'base64') : undefined
    if (decoded === undefined || (length !== undefined && decoded.length !== length))
      throw damaged(`"${field}" is damaged`)
    return decoded
  }
  if (typeof doc.key !== 'string' || doc.key === '') throw damaged('"key" is missing')
  return { key: doc.key, iv: bytes('iv', 12), tag: bytes('tag', 16), data: bytes('data') }
}

/** The document's text. A wrong key or any changed byte fails GCM's tag check: tampered, never silently misread. */
export function openEnvelope(envelope: Envelope, key: Buffer, source: string): string {
  try {
    const decipher = createDecipheriv(CIPHER, key, envelope.iv)
      .setAAD(additionalData(envelope.key))
      .setAuthTag(envelope.tag)
    return Buffer.concat([decipher.update(envelope.data), decipher.final()]).toString('utf8')
  } catch (error) {
    throw new StoreError(
      `the encrypted token store ${source} has been changed or damaged: it fails its integrity check`,
      { cause: error, hint: HINT },
    )
  }
}

export interface EncryptedStoreOptions extends FileStoreOptions {
  readonly keyring: KeyringClient
}

/**
 * The file store's document, encrypted with a random 32-byte key kept in the OS keyring (one key item per file),
 * so a token set of any size is protected by the keyring without having to fit in it. Same lock, same atomic
 * writes, same rule as the file store: a file that cannot be opened is reported and never overwritten.
 */
export class EncryptedStore implements TokenStore {
  readonly kind = 'encrypted' as const
  readonly location: string
  readonly #options: EncryptedStoreOptions
  /** Keys never change for an account, so one keyring read per process is enough (a refresh reads the file 3 times). */
  readonly #keys = new Map<string, Buffer>()

  constructor(path: string, options: EncryptedStoreOptions) {
    this.location = resolve(path)
    this.#options = options
  }

  async read(key: SessionKey): Promise<TokenSet | undefined> {
    const doc = await this.#load()
    return doc === undefined ? undefined : readSession(doc, key, this.location)
  }

  async write(key: SessionKey, tokens: TokenSet): Promise<void> {
    const stamped = tokens.obtainedAtMs === undefined ? { ...tokens, obtainedAtMs: this.#options.now() } : tokens
    await this.#update((doc, source) => putSession(doc, key, stamped, source))
  }

  /**
   * For an existing file the key is fetched now, so the commit needs neither the keyring nor new space. A new file
   * (a first sign-in) gets its key at the commit, as `write` does, after a probe write proves the keyring takes one:
   * creating the key here would leave an unused key item behind at every device-code poll that is still pending.
   */
  async prepareSave(key: SessionKey): Promise<PreparedSave> {
    const reserved = await reserveStoreFile(this.location, this.#options)
    let opened: { doc: JsonObject; keyAccount: string; key: Buffer } | undefined
    try {
      if (reserved.current !== undefined) opened = await this.#decrypt(reserved.current, reserved.target)
      else await this.#probeKeyring(reserved.target)
    } catch (error) {
      await reserved.abort()
      throw error
    }
    return {
      commit: (tokens) =>
        commitBuilt(reserved, async () => {
          const stamped = tokens.obtainedAtMs === undefined ? { ...tokens, obtainedAtMs: this.#options.now() } : tokens
          const sealing = opened ?? { doc: {}, ...(await this.#newKey(reserved.target)) }
          const next = encodeStore(putSession(sealing.doc, key, stamped, reserved.target))
          return sealDocument(next, sealing.key, sealing.keyAccount)
        }),
      flushed: reserved.flushed,
      abort: () => reserved.abort(),
    }
  }

  async #probeKeyring(target: string): Promise<void> {
    const account = `${target}#pre-flight`
    await this.#options.keyring.set(KEY_SERVICE, account, new TextEncoder().encode('authgate pre-flight'))
    await this.#options.keyring.delete(KEY_SERVICE, account)
  }

  async delete(key: SessionKey, ifRefreshToken?: string): Promise<boolean> {
    // A missing file needs no key (see #load): logout, or a move's clean-up, works with the keyring unreachable.
    if ((await this.read(key)) === undefined) return false
    let removed = false
    await this.#update((doc, source) => {
      const next = removeSession(doc, key, ifRefreshToken, source)
      removed = next !== undefined
      return next
    })
    return removed
  }

  async list(): Promise<StoredSession[]> {
    const doc = await this.#load()
    if (doc === undefined) return []
    return listSessions(doc, this.location).map(({ key, tokens }) => ({ key, tokens, store: this.kind }))
  }

  async #load(): Promise<JsonObject | undefined> {
    const bytes = readStoreFile(this.location)
    return bytes === undefined ? undefined : (await this.#decrypt(bytes, this.location)).doc
  }

  async #decrypt(bytes: Buffer, source: string): Promise<{ doc: JsonObject; keyAccount: string; key: Buffer }> {
    const envelope = parseEnvelope(bytes.toString('utf8'), source)
    const key = await this.#key(envelope.key, source)
    return { doc: parseStore(openEnvelope(envelope, key, source), source), keyAccount: envelope.key, key }
  }

  /** A new file gets a new key, saved in the keyring before the file exists: a file without its key is never written. */
  async #update(change: (doc: JsonObject, source: string) => JsonObject | undefined): Promise<void> {
    await updateStoreFile(this.location, this.#options, async (current, target) => {
      const opened = current === undefined ? undefined : await this.#decrypt(current, target)
      const next = change(opened?.doc ?? {}, target)
      if (next === undefined) return undefined
      const { key, keyAccount } = opened ?? (await this.#newKey(target))
      return sealDocument(encodeStore(next), key, keyAccount)
    })
  }

  async #newKey(target: string): Promise<{ key: Buffer; keyAccount: string }> {
    const key = randomBytes(32)
    // The path says which file the item belongs to; the random part keeps a re-created file off an old key.
    const keyAccount = `${target}#${randomBytes(6).toString('hex')}`
    await this.#options.keyring.set(KEY_SERVICE, keyAccount, Buffer.from(key.toString('base64')))
    this.#keys.set(keyAccount, key)
    return { key, keyAccount }
  }

  async #key(keyAccount: string, source: string): Promise<Buffer> {
    const cached = this.#keys.get(keyAccount)
    if (cached) return cached
    const stored = await this.#options.keyring.get(KEY_SERVICE, keyAccount)
    const key = stored === undefined ? undefined : Buffer.from(Buffer.from(stored).toString('utf8'), 'base64')
    if (key === undefined || key.length !== 32) {
      const where = `${this.#options.keyring.name}, service ${KEY_SERVICE}, account ${keyAccount}`
      const problem = key === undefined ? 'is not in' : 'is damaged in'
      throw new StoreError(`the encrypted token store ${source} cannot be opened: its key ${problem} ${where}`, {
        hint: HINT,
      })
    }
    this.#keys.set(keyAccount, key)
    return key
  }
}
