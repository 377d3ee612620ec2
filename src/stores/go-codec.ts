/**
 * The Go tools' token formats, as pure functions of text and bytes (no fs, no keyring). Read by `authgate import go`
 * only, never by a store: an entry here is keyed by client id alone and names no server, so it becomes a session
 * only when the user names the server (file-codec.ts and token-entry.ts hold authgate's own format).
 *
 * - The Go CLI (go-authgate/cli): `{ "tokens": { "<client id>": { access_token, refresh_token, token_type,
 *   expires_at, client_id, flow } } }`.
 * - The Go SDK's credential store (go-authgate/sdk-go `credstore`): `{ "data": { "<client id>": "<value>" } }`, each
 *   value the token's JSON (`access_token`, `refresh_token`, `token_type`, `scope`, `id_token`, `expires_at`,
 *   `client_id`) or, in its encrypted file, `v1:` + base64(12-byte nonce ‖ AES-256-GCM ciphertext ‖ 16-byte tag).
 *   The key is 32 random bytes, standard base64, in the OS keyring under account `__authgate_master_key__`. The same
 *   token JSON may also sit in the keyring itself, one item per client id.
 * - Times are Go's RFC 3339 with nanoseconds; Go's zero time (`0001-01-01T00:00:00Z`) means "no expiry".
 *
 * Every problem throws a StoreError naming `source`, never quoting the content (a token, say).
 */
import { createDecipheriv } from 'node:crypto'
import { StoreError } from '../errors.ts'
import { dropUndefined, isJsonObject, parseRfc3339, stringFields, type JsonObject } from './json-fields.ts'
import type { TokenSet } from './types.ts'
import { isTokenText } from '../token-text.ts'

/** The keyring account of the SDK's master key (credstore's `masterKeyUser`). */
export const GO_MASTER_KEY_ACCOUNT = '__authgate_master_key__'
/** The keyring services the Go tools use: oauth-cli's, then the SDK's `authgate.New` default. */
export const GO_KEYRING_SERVICES: readonly string[] = ['authgate-oauth-cli', 'authgate']
/** credstore.DefaultTokenFileName; the encrypted store appends `.enc` to it. */
export const GO_TOKEN_FILE_NAME = 'tokens.json'
export const GO_SEALED_SUFFIX = '.enc'

const SEALED_PREFIX = 'v1:'
const NONCE_BYTES = 12
const TAG_BYTES = 16
const KEY_BYTES = 32
/** Go's zero time.Time, which its JSON encoder writes for an unset `ExpiresAt`. */
const GO_ZERO_TIME_MS = -62_135_596_800_000 // 0001-01-01T00:00:00Z
const HINT = 'check the file, or sign in with `authgate login` instead'

/** What a Go document holds for one client id: the tokens, or a `v1:` value still to be opened with the key. */
export type GoEntry =
  | { readonly sealed: false; readonly tokens: TokenSet }
  | { readonly sealed: true; readonly value: string; readonly where: string }

function unusable(source: string, problem: string): StoreError {
  return new StoreError(`the Go session in ${source} cannot be imported: ${problem}`, { hint: HINT })
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** A Go document: a JSON object with a `tokens` (Go CLI) or `data` (SDK) object. */
export function parseGoDocument(text: string, source: string): JsonObject {
  const doc = parseJson(text)
  if (!isJsonObject(doc)) throw unusable(source, 'it is not a JSON object')
  for (const name of ['tokens', 'data']) {
    if (doc[name] !== undefined && doc[name] !== null && !isJsonObject(doc[name])) {
      throw unusable(source, `"${name}" is not an object`)
    }
  }
  return doc
}

/** Own properties only: a client id is any string, and "constructor" must not find Object.prototype's. */
function own(object: unknown, name: string): unknown {
  return isJsonObject(object) && Object.hasOwn(object, name) ? object[name] : undefined
}

/** The SDK's `data[client id]` first (the newer tool), else the Go CLI's `tokens[client id]`. */
export function findGoEntry(doc: JsonObject, clientId: string, source: string): GoEntry | undefined {
  const data = own(doc.data, clientId)
  const where = (field: string) => `${field}[${JSON.stringify(clientId)}]`
  if (data !== undefined) {
    if (typeof data !== 'string') throw unusable(source, `${where('data')} is not a string`)
    if (data.startsWith(SEALED_PREFIX)) return { sealed: true, value: data, where: where('data') }
    return { sealed: false, tokens: decodeGoTokenJson(data, where('data'), source) }
  }
  const tokens = own(doc.tokens, clientId)
  if (tokens === undefined) return undefined
  return { sealed: false, tokens: decodeGoToken(tokens, where('tokens'), source) }
}

/** The token JSON the SDK keeps in a `data` value or a keyring item. */
export function decodeGoTokenJson(text: string, where: string, source: string): TokenSet {
  const value = parseJson(text)
  if (value === undefined) throw unusable(source, `${where} is not JSON`)
  return decodeGoToken(value, where, source)
}

/** Empty strings are Go's "unset"; the zero time is "no expiry". */
export function decodeGoToken(entry: unknown, where: string, source: string): TokenSet {
  if (!isJsonObject(entry)) throw unusable(source, `${where} is not an object`)
  const text = stringFields(entry, (field) => unusable(source, `${where}.${field} is not a string`))
  const accessToken = text('access_token')
  if (accessToken === undefined) throw unusable(source, `${where}.access_token is missing`)
  for (const field of ['access_token', 'refresh_token']) {
    const value = text(field)
    if (value !== undefined && !isTokenText(value))
      throw unusable(source, `${where}.${field} holds characters a token may not hold`)
  }
  const expiresAt = text('expires_at')
  const expiresAtMs = expiresAt === undefined ? undefined : parseRfc3339(expiresAt)
  if (expiresAt !== undefined && expiresAtMs === undefined) {
    throw unusable(source, `${where}.expires_at is not an RFC 3339 time`)
  }
  return dropUndefined<TokenSet>({
    accessToken,
    tokenType: text('token_type') ?? 'Bearer',
    refreshToken: text('refresh_token'),
    expiresAtMs: expiresAtMs === GO_ZERO_TIME_MS ? undefined : expiresAtMs,
    scope: text('scope'),
    idToken: text('id_token'),
    flow: text('flow'),
  })
}

/** The keyring item's bytes: standard base64 of 32 bytes, else undefined (not a key this format can use). */
export function decodeMasterKey(secret: Uint8Array): Buffer | undefined {
  const text = new TextDecoder().decode(secret).trim()
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined
  const key = Buffer.from(text, 'base64')
  return key.length === KEY_BYTES ? key : undefined
}

/**
 * Opens a `v1:` value. Undefined when GCM's check fails, which is what a wrong key looks like (another service's);
 * a value that is not even the right shape throws.
 */
export function openSealed(value: string, key: Buffer, where: string, source: string): string | undefined {
  const body = value.slice(SEALED_PREFIX.length)
  const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(body) ? Buffer.from(body, 'base64') : undefined
  if (bytes === undefined || bytes.length < NONCE_BYTES + TAG_BYTES) {
    throw unusable(source, `${where} is not a v1: sealed value`)
  }
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES))
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES))
  try {
    return Buffer.concat([
      decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8')
  } catch {
    return undefined
  }
}
