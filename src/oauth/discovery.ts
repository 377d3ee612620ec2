import type * as oauth from 'oauth4webapi'
import { ProtocolError, RequestFailedError } from '../errors.ts'
import { boundedFetch } from './http.ts'
import type { OAuthContext } from './context.ts'

export interface ServerMetadata extends oauth.AuthorizationServer {
  /** AuthGate's `/oauth/tokeninfo`: not in any discovery document, so it is known only by the fixed path. */
  readonly tokeninfo_endpoint?: string
  /** False when the server has no discovery document and every endpoint is AuthGate's fixed path. */
  readonly discovered: boolean
}

/** AuthGate's fixed paths: the fallback for anything discovery does not list (contract, "Configuration"). */
export const AUTHGATE_PATHS = {
  device_authorization_endpoint: '/oauth/device/code',
  token_endpoint: '/oauth/token',
  authorization_endpoint: '/oauth/authorize',
  revocation_endpoint: '/oauth/revoke',
  tokeninfo_endpoint: '/oauth/tokeninfo',
  introspection_endpoint: '/oauth/introspect',
} as const

/**
 * OpenID discovery, then RFC 8414 metadata, then none. AuthGate's document omits its device and introspection
 * endpoints (authgate-server.md §1.9), so missing entries fall back to the fixed paths.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 * @throws TemporaryError when the server cannot be reached; ProtocolError when a document is not a JSON object.
 */
export async function discoverServer(ctx: OAuthContext): Promise<ServerMetadata> {
  const base = new URL(ctx.serverUrl)
  const path = base.pathname === '/' ? '' : base.pathname
  const candidates = [
    `${base.origin}${path}/.well-known/openid-configuration`,
    `${base.origin}/.well-known/oauth-authorization-server${path}`,
  ]
  for (const url of candidates) {
    const doc = await fetchDocument(ctx, url)
    if (doc) return withFallbacks(ctx.serverUrl, doc, true)
  }
  return withFallbacks(ctx.serverUrl, { issuer: ctx.serverUrl }, false)
}

async function fetchDocument(ctx: OAuthContext, url: string): Promise<Record<string, unknown> | undefined> {
  const res = await boundedFetch(ctx.http, ctx.budget, { replayable: true })(url, {
    headers: { accept: 'application/json' },
  })
  if (res.status === 404 || res.status === 405 || res.status === 400) return undefined
  if (!res.ok) throw new RequestFailedError(`discovery at ${url} answered ${res.status}`, { status: res.status })
  const text = await res.text()
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    throw new ProtocolError(`discovery at ${url} did not answer JSON`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new ProtocolError(`discovery at ${url} is not a JSON object`)
  return doc as Record<string, unknown>
}

function withFallbacks(serverUrl: string, doc: Record<string, unknown>, discovered: boolean): ServerMetadata {
  const out: Record<string, unknown> = { ...doc, discovered }
  if (typeof out.issuer !== 'string' || !out.issuer) out.issuer = serverUrl
  for (const [field, path] of Object.entries(AUTHGATE_PATHS)) {
    const value = out[field]
    if (typeof value !== 'string' || !isHttpUrl(value)) out[field] = serverUrl + path
  }
  // tokeninfo exists only on AuthGate: offer it when the token endpoint is AuthGate's, never on other servers.
  if (!String(out.token_endpoint).endsWith(AUTHGATE_PATHS.token_endpoint)) delete out.tokeninfo_endpoint
  return out as unknown as ServerMetadata
}

function isHttpUrl(value: string): boolean {
  return /^https?:\/\//i.test(value)
}
