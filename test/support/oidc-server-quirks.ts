import type { default as Provider, KoaContextWithOIDC } from 'oidc-provider'
import type { RawAnswer } from './authgate-server/types.ts'

/**
 * Switches that make oidc-provider behave like providers and proxies authgate must survive (issue 14), as Koa
 * middleware around the provider: oidc-provider itself has no option for any of them. All off by default and
 * mutable at any time through `OidcTestServer.quirks`.
 */
export interface OidcQuirks {
  /** The authorization endpoint refuses `openid` without a `nonce`: redirect with invalid_request, "nonce required". */
  requireNonce?: boolean
  /** A refresh grant the provider refuses with `invalid_grant` is answered with this instead. */
  refreshRejection?: RawAnswer
  /** The revocation endpoint answers this, and revokes nothing. */
  revocation?: RawAnswer
}

// oidc-provider's default routes.
const AUTHORIZATION = '/auth'
const TOKEN = '/token'
const REVOCATION = '/token/revocation'

export function installQuirks(provider: Provider, quirks: OidcQuirks): void {
  provider.use(async (ctx, next) => {
    if (quirks.requireNonce && ctx.path === AUTHORIZATION && refuseWithoutNonce(ctx, provider.issuer)) return
    if (quirks.revocation && ctx.path === REVOCATION) return sendRaw(ctx, quirks.revocation)
    await next()
    const rejection = quirks.refreshRejection
    if (rejection && ctx.path === TOKEN && isRefreshRejected(ctx as KoaContextWithOIDC)) sendRaw(ctx, rejection)
  })
}

/** Redirects to the loopback redirect_uri with the error, as a provider that requires a nonce does. */
function refuseWithoutNonce(ctx: Provider['app']['context'], issuer: string): boolean {
  const query = new URLSearchParams(ctx.querystring)
  const scopes = (query.get('scope') ?? '').split(/\s+/)
  const redirectUri = query.get('redirect_uri') ?? ''
  if (!scopes.includes('openid') || query.get('nonce') || !/^http:\/\/(localhost|127\.0\.0\.1)[:/]/.test(redirectUri)) {
    return false
  }
  const target = new URL(redirectUri)
  target.searchParams.set('error', 'invalid_request')
  target.searchParams.set('error_description', 'nonce required')
  if (query.get('state')) target.searchParams.set('state', query.get('state')!)
  target.searchParams.set('iss', issuer)
  ctx.redirect(target.href)
  return true
}

function isRefreshRejected(ctx: KoaContextWithOIDC): boolean {
  const body = ctx.body as { error?: unknown } | undefined
  return ctx.oidc?.params?.grant_type === 'refresh_token' && ctx.status === 400 && body?.error === 'invalid_grant'
}

function sendRaw(ctx: Provider['app']['context'], raw: RawAnswer): void {
  ctx.status = raw.status
  ctx.body = raw.body
  // Koa guesses a type for a string body; the quirk decides, and "none" means no header at all.
  ctx.remove('Content-Type')
  if (raw.contentType !== undefined) ctx.set('Content-Type', raw.contentType)
}
