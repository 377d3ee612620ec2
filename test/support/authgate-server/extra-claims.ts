import type { Claims } from './tokens.ts'

/**
 * The optional `extra_claims` form field of every grant (§1.2): a JSON object merged into the issued JWTs, never
 * persisted. Limits and reserved names follow internal/services/token_extra_claims_parser.go and
 * internal/token/reserved.go; the error wording is ours (the document does not quote it).
 */

const MAX_RAW_BYTES = 4096
const MAX_KEYS = 16
const MAX_VALUE_BYTES = 512
const RESERVED = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'type',
  'scope',
  'user_id',
  'client_id',
  'azp',
  'amr',
  'acr',
  'auth_time',
  'nonce',
  'at_hash',
  'domain',
  'project',
  'service_account',
  'uid',
  'extra_domain',
  'extra_project',
  'extra_service_account',
  'extra_uid',
])

export type ExtraClaimsResult = { ok: true; claims?: Claims } | { ok: false; description: string }

export function parseExtraClaims(raw: string | null): ExtraClaimsResult {
  if (raw === null || raw === '') return { ok: true }
  if (Buffer.byteLength(raw) > MAX_RAW_BYTES)
    return { ok: false, description: `extra_claims exceeds ${MAX_RAW_BYTES} bytes` }
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    return { ok: false, description: 'extra_claims must be a JSON object' }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, description: 'extra_claims must be a JSON object' }
  }
  const entries = Object.entries(parsed)
  if (entries.length > MAX_KEYS) return { ok: false, description: `extra_claims exceeds ${MAX_KEYS} keys` }
  for (const [key, value] of entries) {
    if (RESERVED.has(key)) return { ok: false, description: `extra_claims key "${key}" is reserved` }
    if (Buffer.byteLength(JSON.stringify(value)) > MAX_VALUE_BYTES) {
      return { ok: false, description: `extra_claims value for "${key}" exceeds ${MAX_VALUE_BYTES} bytes` }
    }
  }
  return { ok: true, claims: parsed as Claims }
}
