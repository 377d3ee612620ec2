import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, resolve } from 'node:path'
import type { SessionKey } from '../session-key.ts'
import { sha256Hex } from '../sha256.ts'
import { StoreError, UsageError } from '../errors.ts'
import { decodeEntry, encodeEntry } from './token-entry.ts'
import type { TokenSet } from './types.ts'

/**
 * node:crypto on first use: it loads the stream modules (about 3 ms), which `authgate token` pays while PostgreSQL
 * starts the connection's backend (PostgresStore.read), not before it connects.
 */
const requireBuiltin = createRequire(import.meta.url)
const crypto = () => requireBuiltin('node:crypto') as typeof import('node:crypto')

/** The layout of `sealed`: version byte, 96-bit IV, 128-bit tag, ciphertext. */
const SEAL_VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16
const CIPHER = 'aes-256-gcm'

/**
 * The 32-byte key every machine of a fleet shares: `AUTHGATE_STORE_KEY` (base64) or `AUTHGATE_STORE_KEY_FILE`.
 * Environment only (the user's): a `.env` someone else wrote must never choose the key tokens are sealed under.
 * @throws UsageError when neither is set or the key is not 32 bytes (the message never holds the key).
 */
export function loadStoreKey(env: Readonly<Record<string, string | undefined>>, cwd: string): Buffer {
  const inline = env.AUTHGATE_STORE_KEY
  const file = env.AUTHGATE_STORE_KEY_FILE
  const hint = 'make one with `openssl rand -base64 32` and give every machine the same AUTHGATE_STORE_KEY'
  let text: string
  let source: string
  if (inline !== undefined && inline !== '') {
    text = inline
    source = 'AUTHGATE_STORE_KEY'
  } else if (file !== undefined && file !== '') {
    const path = resolve(cwd, file)
    source = `AUTHGATE_STORE_KEY_FILE ${path}`
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      throw new UsageError(`cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { hint })
    }
  } else {
    throw new UsageError('the postgres token store needs AUTHGATE_STORE_KEY or AUTHGATE_STORE_KEY_FILE', { hint })
  }
  const key = Buffer.from(text.trim(), 'base64')
  if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text.trim())) {
    throw new UsageError(`${source} must hold 32 bytes in base64 (got ${key.length})`, { hint })
  }
  return key
}

/** The session hash is authenticated: a row copied under another session's hash fails the tag check. */
function additionalData(key: SessionKey): Buffer {
  return Buffer.from(`authgate_sessions\n${SEAL_VERSION}\n${key.hash}`)
}

/** AES-256-GCM with a fresh random 96-bit IV per write (NIST SP 800-38D §8.2.2). */
export function sealTokens(key: SessionKey, tokens: TokenSet, storeKey: Buffer): Buffer {
  const iv = crypto().randomBytes(IV_BYTES)
  const cipher = crypto().createCipheriv(CIPHER, storeKey, iv).setAAD(additionalData(key))
  const plaintext = JSON.stringify(encodeEntry(key, tokens))
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return Buffer.concat([Buffer.of(SEAL_VERSION), iv, cipher.getAuthTag(), data])
}

/** @throws StoreError "cannot decrypt: wrong AUTHGATE_STORE_KEY?" for a tag mismatch; the row is left alone. */
export function openTokens(key: SessionKey, sealed: Buffer, storeKey: Buffer, source: string): TokenSet {
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== SEAL_VERSION) {
    throw new StoreError(`the row for ${key.account} in ${source} has an unknown format: left as it is`, {
      hint: 'a newer authgate wrote it: upgrade authgate',
    })
  }
  const iv = sealed.subarray(1, 1 + IV_BYTES)
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES)
  let plaintext: string
  try {
    const decipher = crypto().createDecipheriv(CIPHER, storeKey, iv).setAAD(additionalData(key)).setAuthTag(tag)
    plaintext = Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString()
  } catch {
    throw new StoreError(`cannot decrypt: wrong AUTHGATE_STORE_KEY? (the row for ${key.account} in ${source})`, {
      hint: 'every machine of the fleet needs the same key; the row was left as it is',
    })
  }
  return decodeEntry(JSON.parse(plaintext), key.account, source)
}

/**
 * A keyed digest of the refresh token, so that compare-and-clear runs in one DELETE without the database ever seeing
 * the token; keyed, so that whoever reads the table cannot test guesses against it.
 */
export function refreshDigest(refreshToken: string | undefined, storeKey: Buffer): string | null {
  if (refreshToken === undefined) return null
  return crypto().createHmac('sha256', storeKey).update(`refresh\n${refreshToken}`).digest('hex')
}

/** pg_advisory_lock takes one bigint: the first 64 bits of the session hash, as a decimal string for the driver. */
export function advisoryLockId(key: SessionKey): string {
  return BigInt.asIntN(64, BigInt(`0x${key.hash.slice(0, 16)}`)).toString()
}

/**
 * The advisory lock for one of the session's lock paths: `<hash>.lock` (the refresh lock) is advisoryLockId; any other
 * (`<hash>.login.lock`, the login lock) gets 64 bits of the sha256 of its file name, so the two never collide.
 */
export function advisoryLockIdFor(key: SessionKey, lockPath: string): string {
  const name = basename(lockPath)
  if (name === `${key.hash}.lock`) return advisoryLockId(key)
  const digest = sha256Hex(name)
  return BigInt.asIntN(64, BigInt(`0x${digest.slice(0, 16)}`)).toString()
}
