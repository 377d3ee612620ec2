/**
 * One session's entry in authgate's format (FORMAT.md): the JSON object that holds a TokenSet, the same in the token
 * file, the encrypted file, a keyring item and a Postgres row:
 *
 *   { "server_url", "client_id", "access_token", "token_type", "refresh_token", "expires_at" (RFC 3339),
 *     "obtained_at" (RFC 3339), "scope", "id_token", "issuer", "flow", …unknown fields kept on rewrite }
 *
 * Every problem throws a StoreError naming `source`; messages never quote the content (a token, say).
 */
import { type SessionKey, sessionKey } from '../session-key.ts'
import { StoreError } from '../errors.ts'
import { dropUndefined, isJsonObject, type JsonObject, parseRfc3339, stringFields } from './json-fields.ts'
import type { TokenSet } from './types.ts'

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

const HINT = 'fix the file or move it aside, then run `authgate login`; authgate leaves it untouched'

export function corrupt(source: string, problem: string): StoreError {
  return new StoreError(`the token store ${source} cannot be used: ${problem}`, { hint: HINT })
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
  const text = stringFields(entry, (field) => corrupt(source, `${where}.${field} is not a string`))
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
  return ms
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
