import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { AuthGateTestServer } from './authgate-server/index.ts'
import type { OidcTestServer } from './oidc-server.ts'

/**
 * Tokens for tests that need a signed-in session without running `authgate login`: a real device grant against a
 * test server, then the token file written in the format of src/stores/FORMAT.md.
 */

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/** A token endpoint answer (RFC 6749 §5.1). */
export interface IssuedTokens {
  access_token: string
  token_type: string
  refresh_token?: string
  expires_in?: number
  scope?: string
  id_token?: string
}

interface Endpoints {
  device: string
  token: string
}

async function postForm(url: string, form: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(form) })
  const body = (await res.json()) as Record<string, unknown>
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${JSON.stringify(body)}`)
  return body
}

async function deviceGrant(
  endpoints: Endpoints,
  clientId: string,
  scope: string,
  approve: (userCode: string) => Promise<void> | void,
): Promise<IssuedTokens> {
  const auth = await postForm(endpoints.device, { client_id: clientId, scope })
  await approve(String(auth.user_code))
  const tokens = await postForm(endpoints.token, {
    grant_type: DEVICE_CODE_GRANT,
    device_code: String(auth.device_code),
    client_id: clientId,
  })
  if (typeof tokens.access_token !== 'string')
    throw new Error(`no access token in ${JSON.stringify(Object.keys(tokens))}`)
  return tokens as unknown as IssuedTokens
}

/** A device grant on the AuthGate test server, approved through its backdoor. Needs no rate-limit headroom tricks. */
export function obtainTokensFromAuthGate(
  server: AuthGateTestServer,
  options: { clientId?: string; scope?: string } = {},
): Promise<IssuedTokens> {
  const endpoints = { device: `${server.url}/oauth/device/code`, token: `${server.url}/oauth/token` }
  return deviceGrant(endpoints, options.clientId ?? server.publicClientId, options.scope ?? 'email profile', (code) =>
    server.approveDevice(code),
  )
}

/** A device grant on oidc-provider (endpoints from its discovery document), approved as its default account. */
export async function obtainTokensFromOidc(
  server: OidcTestServer,
  options: { clientId?: string; scope?: string } = {},
): Promise<IssuedTokens> {
  const doc = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<string, string>
  const endpoints = { device: doc.device_authorization_endpoint!, token: doc.token_endpoint! }
  return deviceGrant(endpoints, options.clientId ?? 'cli', options.scope ?? 'openid email profile', (code) =>
    server.approveDevice(code),
  )
}

/** `<client id>@<server url>`: the entry name in the token file (server URL as the CLI normalises it). */
export function sessionAccount(serverUrl: string, clientId: string): string {
  const url = new URL(serverUrl)
  return `${clientId}@${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`
}

export interface WriteOptions {
  /** Epoch ms; default: `expires_in` from now. `expired: true` puts it an hour in the past, which forces a refresh. */
  expiresAtMs?: number
  expired?: boolean
  obtainedAtMs?: number
  /** Other top-level fields or sessions to keep in the document. */
  base?: Record<string, unknown>
}

/** Writes (or adds to) a token file: mode 0600 in a 0700 directory, as the CLI keeps it. Returns the text written. */
export function writeTokenFile(path: string, key: string, tokens: IssuedTokens, options: WriteOptions = {}): string {
  const now = Date.now()
  const expiresAtMs = options.expired
    ? now - 3_600_000
    : (options.expiresAtMs ?? (tokens.expires_in === undefined ? undefined : now + tokens.expires_in * 1000))
  const obtainedAtMs = options.obtainedAtMs ?? (options.expired ? now - 7_200_000 : now)
  const at = key.lastIndexOf('@')
  const entry = {
    server_url: key.slice(at + 1),
    client_id: key.slice(0, at),
    access_token: tokens.access_token,
    token_type: tokens.token_type,
    refresh_token: tokens.refresh_token,
    expires_at: expiresAtMs === undefined ? undefined : new Date(expiresAtMs).toISOString(),
    obtained_at: new Date(obtainedAtMs).toISOString(),
    scope: tokens.scope,
    id_token: tokens.id_token,
  }
  const base = options.base ?? {}
  const sessions = { ...((base.sessions as Record<string, unknown> | undefined) ?? {}), [key]: entry }
  const text = `${JSON.stringify({ version: 1, ...base, sessions }, null, 2)}\n`
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  writeFileSync(path, text, { mode: 0o600 })
  chmodSync(path, 0o600)
  return text
}

/** The entry of `key` in a token file, as stored (snake_case), or undefined. */
export function readTokenEntry(path: string, key: string): Record<string, string> | undefined {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { sessions?: Record<string, Record<string, string>> }
  return doc.sessions?.[key]
}
