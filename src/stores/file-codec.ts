/**
 * The file store's JSON document, as pure functions of text and objects (no fs). Format, see FORMAT.md:
 *
 *   { "version": 1,
 *     "sessions": { "<client id>@<server url>": { an entry: token-entry.ts }
 *                   or a pointer { "store": "keyring" | "encrypted", "server_url", "client_id" } written by `auto` },
 *     …unknown top-level fields kept }
 *
 * authgate's own format only. The Go tools' files (a `tokens` or `data` object at the top level) are read by
 * go-codec.ts, for `authgate import go` alone: here such a field is an unknown one, kept as it is and never read.
 *
 * Every problem throws a StoreError naming `source` (the file's absolute path). Messages never quote the file's
 * content: JSON.parse's message does (a token, say), so it is not passed on.
 */
import type { SessionKey } from '../session-key.ts'
import { StoreError } from '../errors.ts'
import { isJsonObject, type JsonObject } from './json-fields.ts'
import { corrupt, decodeEntry, encodeEntry, entryKey } from './token-entry.ts'
import type { TokenSet } from './types.ts'

export type { JsonObject } from './json-fields.ts'

const FORMAT_VERSION = 1

/** Backends a pointer entry can name: `auto` remembers where each session went at login (FORMAT.md, "Pointers"). */
export type PointerStore = 'keyring' | 'encrypted'
const POINTER_STORES: readonly string[] = ['keyring', 'encrypted']

/** Where a session is, as this document knows it: its tokens, or a pointer to another backend. */
export type Placement = { readonly store: 'file'; readonly tokens: TokenSet } | { readonly store: PointerStore }

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
  if (doc.sessions !== undefined && !isJsonObject(doc.sessions)) throw corrupt(source, '"sessions" is not an object')
  return doc
}

export function encodeStore(doc: JsonObject): string {
  return `${JSON.stringify(doc, null, 2)}\n`
}

function child(doc: JsonObject, name: 'sessions'): JsonObject {
  const value = doc[name]
  return isJsonObject(value) ? value : {}
}

/** Own properties only: a client id is any string, and "constructor" must not find Object.prototype's. */
function field(object: JsonObject, name: string): unknown {
  return Object.hasOwn(object, name) ? object[name] : undefined
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
 * The session's own entry. A pointer means the tokens are elsewhere: undefined. A Go CLI entry (`tokens[client id]`)
 * names no server, so it is never read as a session here: `authgate import go` binds it to one the user chose.
 */
export function readSession(doc: JsonObject, key: SessionKey, source: string): TokenSet | undefined {
  const own = field(child(doc, 'sessions'), key.account)
  if (own === undefined || isPointer(own)) return undefined
  return decodeEntry(own, `sessions[${JSON.stringify(key.account)}]`, source)
}

export function putSession(doc: JsonObject, key: SessionKey, tokens: TokenSet, source: string): JsonObject {
  readSession(doc, key, source) // an entry it cannot read is refused, never overwritten
  const sessions = child(doc, 'sessions')
  const ownEntry = field(sessions, key.account)
  // A pointer's fields are not kept: the tokens are back in this document.
  const entry = encodeEntry(key, tokens, isJsonObject(ownEntry) && !isPointer(ownEntry) ? ownEntry : {})
  return { version: FORMAT_VERSION, ...doc, sessions: { ...sessions, [key.account]: entry } }
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
  return withoutEntry(doc, key.account)
}

/** A copy of the document without `sessions[account]` (spread, then delete: the key is any string, `__proto__` too). */
function withoutEntry(doc: JsonObject, account: string): JsonObject {
  const sessions = { ...child(doc, 'sessions') }
  delete sessions[account]
  return { ...doc, sessions }
}

/**
 * Replaces the session's entry with a pointer to `store`, dropping the plaintext tokens: moving a session out of the
 * file must not leave a readable copy behind.
 */
export function putPointer(doc: JsonObject, key: SessionKey, store: PointerStore, source: string): JsonObject {
  const cleared = removeSession(doc, key, undefined, source) ?? doc
  const pointer = { store, server_url: key.serverUrl, client_id: key.clientId }
  return { version: FORMAT_VERSION, ...cleared, sessions: { ...child(cleared, 'sessions'), [key.account]: pointer } }
}

/** Undefined when the session's entry is not a pointer, so the caller writes nothing. */
export function removePointer(doc: JsonObject, key: SessionKey): JsonObject | undefined {
  return isPointer(field(child(doc, 'sessions'), key.account)) ? withoutEntry(doc, key.account) : undefined
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
