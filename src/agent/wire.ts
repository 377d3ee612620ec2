/**
 * The agent's wire format (README "Containers and remote hosts"): one JSON object per line each way, version 1.
 * Pure functions: the server and the client both use them, so the two cannot disagree about a field.
 */
const WIRE_VERSION = 1
/** A request line longer than this is refused (exit 2) and the connection closed. */
export const MAX_LINE_BYTES = 64 * 1024

export interface AgentRequest {
  readonly serverUrl: string
  readonly clientId: string
  /** Refresh even when not expiring: an API's 401 (with `rejected`) or `refresh --force`. */
  readonly force?: boolean | undefined
  /** The access token a resource server rejected; a peer that already replaced it wins. */
  readonly rejected?: string | undefined
}

/** Only an access token and its expiry ever cross the socket: never a refresh token, client secret or ID token. */
export interface AgentAnswer {
  readonly accessToken: string
  readonly expiresAtMs: number | undefined
}

export type AgentFailure = { readonly error: string; readonly exit: 2 | 4 | 5 }

/** Parses one request line; a failure is the error line to send back (exit 2 closes the connection). */
export function parseRequest(line: string): AgentRequest | AgentFailure {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { error: 'request is not JSON', exit: 2 }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: 'request is not a JSON object', exit: 2 }
  }
  const o = value as Record<string, unknown>
  if (o.v !== WIRE_VERSION)
    return { error: `unsupported protocol version (this agent speaks v${WIRE_VERSION})`, exit: 2 }
  if (o.op !== 'token') return { error: 'unknown op (expected "token")', exit: 2 }
  if (!isText(o.server_url) || !isText(o.client_id)) {
    return { error: 'server_url and client_id must be non-empty strings', exit: 2 }
  }
  if (o.force !== undefined && typeof o.force !== 'boolean') return { error: 'force must be a boolean', exit: 2 }
  if (o.rejected !== undefined && !isText(o.rejected)) return { error: 'rejected must be a string', exit: 2 }
  return { serverUrl: o.server_url, clientId: o.client_id, force: o.force, rejected: o.rejected }
}

export function formatRequest(r: AgentRequest): string {
  const line = { v: WIRE_VERSION, op: 'token', server_url: r.serverUrl, client_id: r.clientId }
  const extra = { ...(r.force ? { force: true } : {}), ...(r.rejected ? { rejected: r.rejected } : {}) }
  return `${JSON.stringify({ ...line, ...extra })}\n`
}

export function formatAnswer(a: AgentAnswer | AgentFailure): string {
  if ('error' in a) return `${JSON.stringify({ v: WIRE_VERSION, error: a.error, exit: a.exit })}\n`
  const expiresAt = a.expiresAtMs === undefined ? null : new Date(a.expiresAtMs).toISOString()
  return `${JSON.stringify({ v: WIRE_VERSION, access_token: a.accessToken, expires_at: expiresAt })}\n`
}

/** Checks an answer line from the agent, which is as untrusted as any server's answer. */
export function parseAnswer(line: string): AgentAnswer | AgentFailure | undefined {
  let o: Record<string, unknown>
  try {
    o = JSON.parse(line) as Record<string, unknown>
  } catch {
    return undefined
  }
  if (typeof o !== 'object' || o === null || o.v !== WIRE_VERSION) return undefined
  if (typeof o.error === 'string' && (o.exit === 2 || o.exit === 4 || o.exit === 5)) {
    return { error: o.error, exit: o.exit }
  }
  if (!isText(o.access_token) || !/^[\x21-\x7e]+$/.test(o.access_token)) return undefined
  if (o.expires_at === null) return { accessToken: o.access_token, expiresAtMs: undefined }
  const expiresAtMs = typeof o.expires_at === 'string' ? Date.parse(o.expires_at) : NaN
  return Number.isFinite(expiresAtMs) ? { accessToken: o.access_token, expiresAtMs } : undefined
}

function isText(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0
}
