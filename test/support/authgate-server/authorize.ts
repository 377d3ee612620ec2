import { randomBytes } from 'node:crypto'
import { goEncodeQuery, goQueryEscape, sendHtml, sendRedirect, type Ctx } from './http.ts'
import { isScopeSubset, splitScopes, type AuthCodeRow, type ServerState } from './state.ts'

/**
 * GET /oauth/authorize (§1.3) for the browser the double is signed in as (`signedInAs`), whose consent is remembered:
 * validate, then redirect with a code. AuthGate's login and consent pages are not modelled.
 */

interface AuthorizeParams {
  responseType: string
  clientId: string
  redirectUri: string
  scope: string
  state: string
  nonce: string
  codeChallenge: string
  codeChallengeMethod: string
}

type Validation = { ok: true; scope: string } | { ok: false; error: string; description: string }

function paramsOf(source: URLSearchParams): AuthorizeParams {
  const get = (name: string): string => source.get(name) ?? ''
  return {
    responseType: get('response_type'),
    clientId: get('client_id'),
    redirectUri: get('redirect_uri'),
    scope: get('scope'),
    state: get('state'),
    nonce: get('nonce'),
    codeChallenge: get('code_challenge'),
    codeChallengeMethod: get('code_challenge_method'),
  }
}

const fail = (error: string, description: string): Validation => ({ ok: false, error, description })

/** ValidateAuthorizationRequest. Redirect URIs match exactly: no RFC 8252 loopback-port relaxation (§4). */
function validateRequest(state: ServerState, p: AuthorizeParams): Validation {
  if (p.responseType !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported')
  const client = state.clients.get(p.clientId)
  if (client === undefined || !client.active || !client.authCodeFlow) {
    return fail('unauthorized_client', 'Client is not authorized to use the authorization code flow')
  }
  if (!client.redirectUris.includes(p.redirectUri)) return fail('invalid_request', 'invalid redirect_uri')
  const requested = splitScopes(p.scope)
  if (!isScopeSubset(requested, client.scopes))
    return fail('invalid_scope', 'Requested scope is not allowed for this client')
  const pkceRequired = client.type === 'public' || state.config.pkceRequired
  // Not AuthGate's rule (nonce is optional there, §1.3): the switch imitates providers that require one (issue 14).
  if (state.quirks.requireNonce && requested.includes('openid') && p.nonce === '') {
    return fail('invalid_request', 'nonce required')
  }
  if (pkceRequired && p.codeChallengeMethod === '') return fail('invalid_request', 'code_challenge_method is required')
  if (p.codeChallengeMethod !== '' && p.codeChallengeMethod !== 'S256') {
    return fail('invalid_request', 'code_challenge_method must be S256')
  }
  if (p.state.length > 1024) return fail('invalid_request', 'state is too long')
  if (p.nonce.length > 1024) return fail('invalid_request', 'nonce is too long')
  return { ok: true, scope: requested.length > 0 ? requested.join(' ') : client.scopes.join(' ') }
}

/** Existing query parameters are kept; keys are re-encoded alphabetically like Go's url.Values.Encode(). */
function redirectTo(ctx: Ctx, redirectUri: string, extra: Record<string, string>): void {
  const target = new URL(redirectUri)
  for (const [name, value] of Object.entries(extra)) if (value !== '') target.searchParams.set(name, value)
  target.search = goEncodeQuery(target.searchParams)
  sendRedirect(ctx.res, target.toString())
}

/** Errors go to the *supplied* redirect_uri, even an unregistered one; only an unusable one gets an HTML page. */
function redirectWithError(ctx: Ctx, p: AuthorizeParams, error: string, description: string): void {
  if (p.redirectUri === '' || !URL.canParse(p.redirectUri)) {
    const text = `${error}: ${description}`.replace(/&/g, '&amp;').replace(/</g, '&lt;')
    sendHtml(ctx.res, 400, `<!DOCTYPE html><title>Error - AuthGate</title><p class="error">${text}</p>\n`)
    return
  }
  redirectTo(ctx, p.redirectUri, { error, error_description: description, state: p.state })
}

function issueCodeAndRedirect(ctx: Ctx, p: AuthorizeParams, scope: string, userId: string): void {
  const nowMs = ctx.state.now()
  const row: AuthCodeRow = {
    code: randomBytes(32).toString('hex'),
    clientId: p.clientId,
    userId,
    redirectUri: p.redirectUri,
    scope,
    codeChallenge: p.codeChallenge,
    codeChallengeMethod: p.codeChallengeMethod,
    nonce: p.nonce,
    createdAtMs: nowMs,
    expiresAtMs: nowMs + ctx.state.config.authCodeTtlSeconds * 1000,
  }
  ctx.state.authCodes.set(row.code, row)
  redirectTo(ctx, p.redirectUri, { code: row.code, state: p.state })
}

export function handleAuthorize(ctx: Ctx): void {
  const userId = ctx.state.browserUserId
  // RequireAuth: no session → /login, before any parameter validation, remembering the original URL.
  if (userId === undefined) {
    sendRedirect(ctx.res, `/login?redirect=${goQueryEscape(ctx.req.url ?? '/')}`)
    return
  }
  const p = paramsOf(ctx.url.searchParams)
  const result = validateRequest(ctx.state, p)
  if (!result.ok) redirectWithError(ctx, p, result.error, result.description)
  else issueCodeAndRedirect(ctx, p, result.scope, userId)
}
