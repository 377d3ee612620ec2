import { createCipheriv, randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { IssuedTokens } from './tokens.ts'

/**
 * The Go tools' token files, written as they write them (go-authgate/cli tokens.go, go-authgate/sdk-go credstore),
 * for the `authgate import go` tests. The SDK's `v1:` value is base64(12-byte nonce ‖ AES-256-GCM ciphertext ‖ tag).
 */

/** Go's zero time.Time, as encoding/json writes an unset ExpiresAt. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z'

/** A token endpoint answer as the Go tools store it (expires_at an RFC 3339 time with Go's nanoseconds). */
export function goToken(clientId: string, issued: IssuedTokens, nowMs = Date.now()): Record<string, string> {
  const expiresAt =
    issued.expires_in === undefined ? GO_ZERO_TIME : new Date(nowMs + issued.expires_in * 1000).toISOString()
  return {
    access_token: issued.access_token,
    refresh_token: issued.refresh_token ?? '',
    token_type: issued.token_type,
    ...(issued.scope === undefined ? {} : { scope: issued.scope }),
    ...(issued.id_token === undefined ? {} : { id_token: issued.id_token }),
    expires_at: expiresAt.replace(/\.(\d{3})Z$/, '.$1000000Z'),
    client_id: clientId,
  }
}

/** The Go CLI's file: `{"tokens": {"<client id>": {…}}}`. */
export function goCliDocument(entries: Record<string, Record<string, string>>): string {
  return JSON.stringify({ tokens: entries }, null, 2)
}

/** The SDK's file: `{"data": {"<client id>": "<value>"}}`, each value a token's JSON or a sealed `v1:` string. */
export function goSdkDocument(values: Record<string, string>): string {
  return JSON.stringify({ data: values }, null, 2)
}

/** The SDK's sealValue: `v1:` + base64(nonce ‖ ciphertext ‖ tag). */
export function sealGoValue(plaintext: string, key: Buffer): string {
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  const sealed = Buffer.concat([nonce, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return `v1:${sealed.toString('base64')}`
}

/** Writes a Go file 0600 in a 0700 directory, as the Go tools do. */
export function writeGoFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  writeFileSync(path, text, { mode: 0o600 })
  chmodSync(path, 0o600)
}
