import * as oauth from 'oauth4webapi'
import { ProtocolError, RequestFailedError } from '../errors.ts'
import { requestOptions, type OAuthContext } from './context.ts'
import { isLoopbackHost } from '../session-key.ts'

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
 * OpenID discovery, then RFC 8414 metadata, then none, through oauth4webapi's `discoveryRequest` and
 * `processDiscoveryResponse`. The document's `issuer` must be the configured server URL (RFC 8414 §3.3, OIDC
 * Discovery §4.3): a document naming another issuer would hand out endpoints of a server the user never chose.
 * AuthGate's document omits its device and introspection endpoints (authgate-server.md §1.9), so missing entries fall
 * back to the fixed paths.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.3
 * @throws TemporaryError when the server cannot be reached; ProtocolError when a document is not acceptable or names
 *   another issuer; RequestFailedError for an unexpected status.
 */
export async function discoverServer(ctx: OAuthContext): Promise<ServerMetadata> {
  for (const algorithm of ['oidc', 'oauth2'] as const) {
    const doc = await fetchDocument(ctx, algorithm)
    if (doc) return withFallbacks(ctx.serverUrl, doc, true)
  }
  return withFallbacks(ctx.serverUrl, { issuer: ctx.serverUrl }, false)
}

async function fetchDocument(
  ctx: OAuthContext,
  algorithm: 'oidc' | 'oauth2',
): Promise<Record<string, unknown> | undefined> {
  const expected = new URL(ctx.serverUrl)
  const res = await oauth.discoveryRequest(expected, { ...requestOptions(ctx, true), algorithm })
  if (res.status === 404 || res.status === 405 || res.status === 400) return undefined
  if (res.status !== 200) {
    const where = algorithm === 'oidc' ? 'openid-configuration' : 'oauth-authorization-server'
    throw new RequestFailedError(`discovery (${where}) answered ${res.status}`, { status: res.status })
  }
  try {
    return (await oauth.processDiscoveryResponse(expected, res)) as unknown as Record<string, unknown>
  } catch (err) {
    const body = issuerMismatch(err)
    if (!body) throw err
    // oauth4webapi compares hrefs exactly; the contract compares after the session key's normalisation.
    if (sameAfterNormalising(String(body.issuer), ctx.serverUrl)) return body
    throw new ProtocolError(
      `discovery names the issuer ${JSON.stringify(body.issuer)}, but the configured server is ${ctx.serverUrl}`,
      { hint: 'check --server-url: it must be the issuer the server names, exactly', cause: err },
    )
  }
}

function issuerMismatch(err: unknown): Record<string, unknown> | undefined {
  if (!(err instanceof oauth.OperationProcessingError) || err.code !== oauth.JSON_ATTRIBUTE_COMPARISON) return undefined
  const cause = err.cause as { attribute?: string; body?: Record<string, unknown> } | undefined
  return cause?.attribute === 'issuer' ? cause.body : undefined
}

/** `serverUrl` is already normalised (lower-case scheme and host, no default port, no trailing slash). */
function sameAfterNormalising(issuer: string, serverUrl: string): boolean {
  const url = URL.canParse(issuer) ? new URL(issuer) : undefined
  if (!url || url.search || url.hash || url.username || url.password) return false
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}` === serverUrl
}

function withFallbacks(serverUrl: string, doc: Record<string, unknown>, discovered: boolean): ServerMetadata {
  const out: Record<string, unknown> = { ...doc, discovered }
  if (typeof out.issuer !== 'string' || !out.issuer) out.issuer = serverUrl
  for (const [field, path] of Object.entries(AUTHGATE_PATHS)) {
    const value = out[field]
    if (typeof value !== 'string' || !isHttpUrl(value)) out[field] = serverUrl + path
    else refusePlainHttp(serverUrl, field, value)
  }
  // tokeninfo exists only on AuthGate: offer it when the token endpoint is AuthGate's, never on other servers.
  if (!String(out.token_endpoint).endsWith(AUTHGATE_PATHS.token_endpoint)) delete out.tokeninfo_endpoint
  return out as unknown as ServerMetadata
}

/**
 * Plain http only where the user allowed it (contract, trust): to a loopback host, or to the server's own host when
 * the server itself is plain http (which passed the settings' check: loopback, or --allow-insecure-http). A document
 * from a loopback server must not send the refresh token or client secret in clear text to some other machine, and
 * an https server's document must not downgrade one of its own endpoints to http.
 */
function refusePlainHttp(serverUrl: string, field: string, value: string): void {
  const url = URL.canParse(value) ? new URL(value) : undefined
  if (!url || url.protocol !== 'http:') return
  const server = new URL(serverUrl)
  if (isLoopbackHost(url.hostname) || (server.protocol === 'http:' && url.hostname === server.hostname)) return
  const where = url.hostname === server.hostname ? 'for an https server' : 'on another host'
  throw new ProtocolError(`discovery lists a plain http ${field} ${where}: ${value}`, {
    hint: 'the server must list https endpoints (plain http is accepted only for loopback hosts and the server itself)',
  })
}

function isHttpUrl(value: string): boolean {
  return /^https?:\/\//i.test(value)
}
