/**
 * The file store's JSON document, as pure functions of text and objects (no fs). Format, see FORMAT.md:
 *
 *   { "version": 1,
 *     "sessions": { "<client id>@<server url>": { "server_url", "client_id", "access_token", "token_type",
 *                   "refresh_token", "expires_at" (RFC 3339), "obtained_at" (RFC 3339), "scope", "id_token",
 *                   "issuer", "flow", …unknown fields kept } },
 *                   or a pointer { "store": "keyring" | "encrypted", "server_url", "client_id" } written by `auto` },
 *     "tokens": { "<client id>": {…} },   // the Go CLI's entries: read as a fallback, kept in step, never dropped
 *     …unknown top-level fields kept }
 *
 * Every problem throws a StoreError naming `source` (the file's absolute path). Messages never quote the file's
 * content: JSON.parse's message does (a token, say), so it is not passed on.
 */
import { type SessionKey, sessionKey } from '../config/session-key.ts'
import { StoreError } from '../errors.ts'
import type { TokenSet } from './types.ts'

export type JsonObject = Record<string, unknown>

const FORMAT_VERSION = 1

const ENTRY_FIELDS = [
  'server_url',
  'client_id',
  'access_token',
  'token_type',
  'refresh_token',
  'expires_at',
  'obtained_at',
  'scope',
  'id_token',
  'issuer',
  'flow',
] as const
/** Backends a pointer entry can name: `auto` remembers where each session went at login (FORMAT.md, "Pointers"). */
export type PointerStore = 'keyring' | 'encrypted'
const POINTER_STORES: readonly string[] = ['keyring', 'encrypted']

/** Where a session is, as this document knows it: its tokens, or a pointer to another backend. */
export type Placement = { readonly store: 'file'; readonly tokens: TokenSet } | { readonly store: PointerStore }

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/
/** Go's zero time.Time, which its JSON encoder writes for "no expiry". */
const GO_ZERO_TIME_MS = -62_135_596_800_000 // 0001-01-01T00:00:00Z
const HINT = 'fix the file or move it aside, then run `authgate login`; authgate leaves it untouched'

function corrupt(source: string, problem: string): StoreError {
  return new StoreError(`the token store ${source} cannot be used: ${problem}`, { hint: HINT })
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** An empty (0-byte) file is refused like any other: a truncated write is exactly what corruption looks like. */
export function parseStore(text: string, source: string): JsonObject {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw corrupt(source, text.trim() === '' ? 'the file is empty' : 'it is not valid JSON')
  }
  if (!isJsonObject(doc)) throw corrupt(source, 'it is not a JSON object')
  if (doc.version !== undefined && doc.version !== FORMAT_VERSION) {
    const version = JSON.stringify(doc.version)
    throw new StoreError(`the token store ${source} has format version ${version}, which this authgate cannot read`, {
      hint: 'upgrade authgate',
    })
  }
  for (const field of ['sessions', 'tokens']) {
    if (doc[field] !== undefined && !isJsonObject(doc[field])) throw corrupt(source, `"${field}" is not an object`)
  }
  return doc
}

export function encodeStore(doc: JsonObject): string {
  return `${JSON.stringify(doc, null, 2)}\n`
}

function child(doc: JsonObject, name: 'sessions' | 'tokens'): JsonObject {
  const value = doc[name]
  return isJsonObject(value) ? value : {}
}

/** Own properties only: a client id is any string, and "constructor" must not find Object.prototype's. */
function field(object: JsonObject, name: string): unknown {
  return Object.hasOwn(object, name) ? object[name] : undefined
}

/** A copy without a prototype, so that destructuring `{ [name]: x, ...rest }` reads own properties only. */
function ownFields(object: JsonObject): JsonObject {
  return Object.assign(Object.create(null) as JsonObject, object)
}

/** A pointer has no tokens, only the backend that holds them; an entry with an access token is never a pointer. */
function isPointer(entry: unknown): entry is JsonObject {
  return isJsonObject(entry) && entry.access_token === undefined && entry.store !== undefined
}

/** The session's tokens here, or the backend its pointer names; undefined when the document does not know it. */
export function readPlacement(doc: JsonObject, key: SessionKey, source: string): Placement | undefined {
  const own = field(child(doc, 'sessions'), key.account)
  if (isPointer(own)) return { store: pointerStore(own, `sessions[${JSON.stringify(key.account)}]`, source) }
  const tokens = readSession(doc, key, source)
  return tokens === undefined ? undefined : { store: 'file', tokens }
}

function pointerStore(entry: JsonObject, where: string, source: string): PointerStore {
  if (typeof entry.store === 'string' && POINTER_STORES.includes(entry.store)) return entry.store as PointerStore
  throw new StoreError(
    `the token store ${source} sends ${where} to a store this authgate does not know (${JSON.stringify(entry.store)})`,
    {
      hint: 'upgrade authgate',
    },
  )
}

/**
 * The session's own entry, else the Go CLI's `tokens[client id]` unless another session already owns that one.
 * A pointer means the tokens are elsewhere: undefined, and the Go entry is not consulted.
 */
export function readSession(doc: JsonObject, key: SessionKey, source: string): TokenSet | undefined {
  const own = field(child(doc, 'sessions'), key.account)
  if (isPointer(own)) return undefined
  if (own !== undefined) return decodeEntry(own, `sessions[${JSON.stringify(key.account)}]`, source)
  const go = field(child(doc, 'tokens'), key.clientId)
  if (go === undefined || isClaimed(doc, key, go)) return undefined
  return decodeEntry(go, `tokens[${JSON.stringify(key.clientId)}]`, source)
}

/** The Go file has no server URL: once a session of this client holds its refresh token, it is that session's. */
function isClaimed(doc: JsonObject, key: SessionKey, go: unknown): boolean {
  if (!isJsonObject(go) || typeof go.refresh_token !== 'string' || go.refresh_token === '') return false
  return Object.values(child(doc, 'sessions')).some(
    (entry) => isJsonObject(entry) && entry.client_id === key.clientId && entry.refresh_token === go.refresh_token,
  )
}

/** A Go entry mirrors a session when it holds the refresh token the session had; rotation must move both. */
function mirrors(go: unknown, refreshToken: string | undefined): go is JsonObject {
  return isJsonObject(go) && refreshToken !== undefined && go.refresh_token === refreshToken
}

export function putSession(doc: JsonObject, key: SessionKey, tokens: TokenSet, source: string): JsonObject {
  const previous = readSession(doc, key, source)
  const sessions = child(doc, 'sessions')
  const ownEntry = field(sessions, key.account)
  // A pointer's fields are not kept: the tokens are back in this document.
  const entry = encodeEntry(key, tokens, isJsonObject(ownEntry) && !isPointer(ownEntry) ? ownEntry : {})
  const next: JsonObject = { version: FORMAT_VERSION, ...doc, sessions: { ...sessions, [key.account]: entry } }
  const goTokens = child(doc, 'tokens')
  const go = field(goTokens, key.clientId)
  // Left behind, the Go copy would hold a revoked refresh token whose replay revokes the whole grant.
  if (mirrors(go, previous?.refreshToken)) next.tokens = { ...goTokens, [key.clientId]: updateGoEntry(go, tokens) }
  return next
}

/** Compare-and-clear. Undefined when nothing was removed, so the caller writes nothing. */
export function removeSession(
  doc: JsonObject,
  key: SessionKey,
  ifRefreshToken: string | undefined,
  source: string,
): JsonObject | undefined {
  const current = readSession(doc, key, source)
  if (current === undefined) return undefined
  if (ifRefreshToken !== undefined && current.refreshToken !== ifRefreshToken) return undefined
  const { [key.account]: own, ...sessions } = ownFields(child(doc, 'sessions'))
  const next: JsonObject = own === undefined ? { ...doc } : { ...doc, sessions }
  const { [key.clientId]: go, ...otherGo } = ownFields(child(doc, 'tokens'))
  // Either the session was read from the Go entry itself, or the Go entry mirrors it.
  if (go !== undefined && (own === undefined || mirrors(go, current.refreshToken))) next.tokens = otherGo
  return next
}

/**
 * Replaces the session's entry with a pointer to `store`, dropping the plaintext tokens and a Go entry that mirrors
 * them (removeSession's rule): moving a session out of the file must not leave a readable copy behind.
 */
export function putPointer(doc: JsonObject, key: SessionKey, store: PointerStore, source: string): JsonObject {
  const cleared = removeSession(doc, key, undefined, source) ?? doc
  const pointer = { store, server_url: key.serverUrl, client_id: key.clientId }
  return { version: FORMAT_VERSION, ...cleared, sessions: { ...child(cleared, 'sessions'), [key.account]: pointer } }
}

/** Undefined when the session's entry is not a pointer, so the caller writes nothing. */
export function removePointer(doc: JsonObject, key: SessionKey): JsonObject | undefined {
  const { [key.account]: own, ...sessions } = ownFields(child(doc, 'sessions'))
  return isPointer(own) ? { ...doc, sessions } : undefined
}

/** Every `sessions` entry with tokens. Go entries are not listed: they carry no server URL to make a session of. */
export function listSessions(doc: JsonObject, source: string): Array<{ key: SessionKey; tokens: TokenSet }> {
  return sessionEntries(doc, source, false).map(({ key, entry, where }) => ({
    key,
    tokens: decodeEntry(entry, where, source),
  }))
}

/** Every pointer entry: the sessions `auto` placed in another backend. */
export function listPointers(doc: JsonObject, source: string): Array<{ key: SessionKey; store: PointerStore }> {
  return sessionEntries(doc, source, true).map(({ key, entry, where }) => ({
    key,
    store: pointerStore(entry, where, source),
  }))
}

function sessionEntries(
  doc: JsonObject,
  source: string,
  pointers: boolean,
): Array<{ key: SessionKey; entry: JsonObject; where: string }> {
  return Object.entries(child(doc, 'sessions'))
    .filter(([, entry]) => isPointer(entry) === pointers)
    .map(([account, entry]) => {
      const where = `sessions[${JSON.stringify(account)}]`
      if (!isJsonObject(entry)) throw corrupt(source, `${where} is not an object`)
      return { key: entryKey(account, entry, where, source), entry, where }
    })
}

/** The entry's own fields win; else the name, split at its last '@' (a normalised server URL never has one). */
export function entryKey(account: string, entry: JsonObject, where: string, source: string): SessionKey {
  if (typeof entry.server_url === 'string' && typeof entry.client_id === 'string') {
    return sessionKey(entry.server_url, entry.client_id)
  }
  const at = account.lastIndexOf('@')
  if (at < 0) throw corrupt(source, `${where} has no server_url and its name is not <client id>@<server url>`)
  return sessionKey(account.slice(at + 1), account.slice(0, at))
}

export function decodeEntry(entry: unknown, where: string, source: string): TokenSet {
  if (!isJsonObject(entry)) throw corrupt(source, `${where} is not an object`)
  const text = (field: string): string | undefined => {
    const value = entry[field]
    if (value === undefined || value === null || value === '') return undefined
    if (typeof value !== 'string') throw corrupt(source, `${where}.${field} is not a string`)
    return value
  }
  const accessToken = text('access_token')
  if (accessToken === undefined) throw corrupt(source, `${where}.access_token is missing`)
  return dropUndefined<TokenSet>({
    accessToken,
    tokenType: text('token_type') ?? 'Bearer',
    refreshToken: text('refresh_token'),
    expiresAtMs: decodeTime(text('expires_at'), `${where}.expires_at`, source),
    obtainedAtMs: decodeTime(text('obtained_at'), `${where}.obtained_at`, source),
    scope: text('scope'),
    idToken: text('id_token'),
    issuer: text('issuer'),
    flow: text('flow'),
  })
}

function decodeTime(value: string | undefined, where: string, source: string): number | undefined {
  if (value === undefined) return undefined
  const ms = parseRfc3339(value)
  if (ms === undefined) throw corrupt(source, `${where} is not an RFC 3339 time`)
  return ms === GO_ZERO_TIME_MS ? undefined : ms
}

/** RFC 3339 as Go writes it too: nanoseconds and a zone offset. Date.parse's extra formats are not accepted. */
export function parseRfc3339(value: string): number | undefined {
  const m = RFC3339.exec(value)
  if (!m) return undefined
  const [, year, month, day, hour, minute, second, fraction, , sign, offH, offM] = m
  const offsetMinutes = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(offH) * 60 + Number(offM))
  const ms = Math.trunc(Number(`0${fraction ?? ''}`) * 1000)
  const date = new Date(0)
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day))
  date.setUTCHours(Number(hour), Number(minute), Number(second), ms)
  if (date.getUTCMonth() !== Number(month) - 1 || date.getUTCDate() !== Number(day)) return undefined
  return date.getTime() - offsetMinutes * 60_000
}

function formatTime(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString()
}

export function encodeEntry(key: SessionKey, tokens: TokenSet, previous: JsonObject = {}): JsonObject {
  const known: readonly string[] = ENTRY_FIELDS
  const unknown = Object.fromEntries(Object.entries(previous).filter(([name]) => !known.includes(name)))
  const fields = dropUndefined({
    server_url: key.serverUrl,
    client_id: key.clientId,
    access_token: tokens.accessToken,
    token_type: tokens.tokenType,
    refresh_token: tokens.refreshToken,
    expires_at: formatTime(tokens.expiresAtMs),
    obtained_at: formatTime(tokens.obtainedAtMs),
    scope: tokens.scope,
    id_token: tokens.idToken,
    issuer: tokens.issuer,
    flow: tokens.flow,
  })
  return { ...fields, ...unknown }
}

/** Only the fields the Go CLI refreshes; its other fields (client_id, flow, …) stay as they were. */
function updateGoEntry(go: JsonObject, tokens: TokenSet): JsonObject {
  const updated: JsonObject = {
    ...go,
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    token_type: tokens.tokenType,
    expires_at: formatTime(tokens.expiresAtMs),
  }
  return dropUndefined(updated)
}

function dropUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T
}
