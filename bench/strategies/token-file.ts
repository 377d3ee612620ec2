import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/**
 * The token file as src/stores/FORMAT.md describes it, read and written the way a typical CLI does: parse, change one
 * entry, write a temp file and rename it. Bench only: the comparison strategies share it so that only locking differs.
 */

export interface Entry {
  access_token: string
  token_type?: string
  refresh_token?: string
  expires_at?: string
  obtained_at?: string
  [field: string]: unknown
}

interface Doc {
  version?: number
  sessions?: Record<string, Entry>
  [field: string]: unknown
}

function load(path: string): Doc {
  return JSON.parse(readFileSync(path, 'utf8')) as Doc
}

export function readEntry(path: string, account: string): Entry | undefined {
  return load(path).sessions?.[account]
}

function save(path: string, doc: Doc): void {
  const temp = join(dirname(path), `.tokens.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`)
  writeFileSync(temp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 })
  renameSync(temp, path)
}

export function writeEntry(path: string, account: string, entry: Entry): void {
  const doc = load(path)
  save(path, { ...doc, sessions: { ...doc.sessions, [account]: entry } })
}

/** Compare-and-clear, as the engine does on invalid_grant: only if the entry still holds the refresh token that failed. */
export function deleteEntryIf(path: string, account: string, refreshToken: string): void {
  const doc = load(path)
  if (doc.sessions?.[account]?.refresh_token !== refreshToken) return
  const { [account]: _gone, ...rest } = doc.sessions
  save(path, { ...doc, sessions: rest })
}

/** The contract's skew rule: expiring when less than min(skew, half the lifetime) remains. */
export function isExpiring(entry: Entry, nowMs: number, skewSeconds = 60): boolean {
  if (!entry.expires_at) return false
  const expiresAtMs = Date.parse(entry.expires_at)
  const obtainedAtMs = entry.obtained_at ? Date.parse(entry.obtained_at) : Number.NaN
  let marginMs = skewSeconds * 1000
  if (obtainedAtMs < expiresAtMs) marginMs = Math.min(marginMs, (expiresAtMs - obtainedAtMs) / 2)
  return expiresAtMs - nowMs < marginMs
}
