import { parseExtraClaims } from './extra-claims.ts'
import { basicCredentials, jsonReply, oauthError, rawReply, type Ctx, type Reply } from './http.ts'
import { exchangeAuthorizationCode } from './code-grant.ts'
import { refreshTokenGrant } from './refresh-grant.ts'
import { isScopeSubset, secretMatches, splitScopes } from './state.ts'
import { mintToken, mintTokenPair, tokenResponse, type Claims } from './tokens.ts'

/** POST /oauth/token (§1.2): form fields only; a JSON body reads as an empty grant_type. */

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

type GrantHandler = (ctx: Ctx, extra: Claims | undefined) => Reply

const GRANTS: Record<string, GrantHandler> = {
  [DEVICE_CODE_GRANT]: deviceCodeGrant,
  authorization_code: exchangeAuthorizationCode,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
}

export function handleToken(ctx: Ctx): Reply {
  const { stats } = ctx.state
  const grantType = ctx.form.get('grant_type') ?? ''
  stats.grantsByType[grantType] = (stats.grantsByType[grantType] ?? 0) + 1
  if (grantType === 'refresh_token') stats.refreshGrants += 1
  const { quirks } = ctx.state
  if (quirks.tokenEndpoint !== undefined) return rawReply(quirks.tokenEndpoint)
  const reply = dispatchGrant(ctx, grantType)
  if (reply.body?.error === 'invalid_grant') stats.invalidGrants += 1
  if (grantType === 'refresh_token' && reply.status === 200) stats.successfulRefreshes += 1
  const rejection = grantType === 'refresh_token' ? quirks.refreshRejection : undefined
  return rejection !== undefined && reply.body?.error === 'invalid_grant' ? rawReply(rejection) : reply
}

function dispatchGrant(ctx: Ctx, grantType: string): Reply {
  // Exact match only: the short alias `device_code` exists for DCR, not here.
  const handler = Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType] : undefined
  if (handler === undefined) {
    return oauthError(
      400,
      'unsupported_grant_type',
      'Supported grant types: device_code, refresh_token, authorization_code, client_credentials',
    )
  }
  const extra = parseExtraClaims(ctx.form.get('extra_claims'))
  if (!extra.ok) return oauthError(400, 'invalid_request', extra.description)
  return handler(ctx, extra.claims)
}

const DEVICE_CODE_FORMAT = /^[0-9a-f]{40}$/

/** §1.2a, in the service's order. Never slow_down: the real server tracks no poll rate. */
function deviceCodeGrant(ctx: Ctx, extra: Claims | undefined): Reply {
  const state = ctx.state
  const deviceCode = ctx.form.get('device_code') ?? ''
  const clientId = ctx.form.get('client_id') ?? ''
  if (deviceCode === '' || clientId === '') {
    return oauthError(400, 'invalid_request', 'device_code and client_id are required')
  }
  const record = DEVICE_CODE_FORMAT.test(deviceCode) ? state.deviceCodes.get(deviceCode) : undefined
  if (record === undefined) return oauthError(400, 'access_denied')
  if (record.expiresAtMs <= state.now()) {
    // Deleted on first detection, so the next poll of the same code finds nothing → access_denied.
    state.deviceCodes.delete(deviceCode)
    return oauthError(400, 'expired_token')
  }
  const client = state.clients.get(record.clientId)
  if (record.clientId !== clientId || client === undefined || !client.active) return oauthError(400, 'access_denied')
  if (record.approvedUserId === undefined) return oauthError(400, 'authorization_pending')
  const user = state.users.get(record.approvedUserId)
  if (user === undefined) return oauthError(500, 'server_error', 'An internal error occurred')
  state.deviceCodes.delete(deviceCode)
  const grant = { userId: user.id, clientId, scope: record.scope, username: user.username, extraClaims: extra }
  const { access, refresh } = mintTokenPair(state, grant)
  return jsonReply(200, tokenResponse(state, { access, refresh }))
}

const REALM_AUTHGATE = { 'WWW-Authenticate': 'Basic realm="authgate"' }

/** parseClientCredentials: HTTP Basic wins over the form (§1.2d). */
export function clientCredentialsOf(ctx: Ctx): { id: string; secret: string } | undefined {
  const basic = basicCredentials(ctx.req)
  if (basic !== undefined) return basic
  const id = ctx.form.get('client_id') ?? ''
  if (id === '') return undefined
  return { id, secret: ctx.form.get('client_secret') ?? '' }
}

function clientCredentialsScope(requested: string, allowed: string[]): string | undefined {
  const scopes = splitScopes(requested)
  if (scopes.length === 0) return allowed.join(' ')
  const forbidden = scopes.includes('openid') || scopes.includes('offline_access')
  return forbidden || !isScopeSubset(scopes, allowed) ? undefined : scopes.join(' ')
}

/** §1.2d: M2M, 1h access token, no refresh token; the flow flag is checked before the secret. */
function clientCredentialsGrant(ctx: Ctx, extra: Claims | undefined): Reply {
  const state = ctx.state
  const creds = clientCredentialsOf(ctx)
  if (creds === undefined) return oauthError(401, 'invalid_client', 'Client authentication failed', REALM_AUTHGATE)
  const client = state.clients.get(creds.id)
  if (client === undefined || !client.active) {
    return oauthError(401, 'invalid_client', 'Client authentication failed', REALM_AUTHGATE)
  }
  if (!client.clientCredentialsFlow) {
    return oauthError(400, 'unauthorized_client', 'Client credentials flow is not enabled for this client')
  }
  if (client.type !== 'confidential' || !secretMatches(client, creds.secret)) {
    return oauthError(401, 'invalid_client', 'Client authentication failed', REALM_AUTHGATE)
  }
  const scope = clientCredentialsScope(ctx.form.get('scope') ?? '', client.scopes)
  if (scope === undefined) return oauthError(400, 'invalid_scope', 'Requested scope is not allowed for this client')
  const subject = `client:${client.clientId}`
  const access = mintToken(
    state,
    { userId: subject, clientId: client.clientId, scope, extraClaims: extra },
    {
      kind: 'access',
      ttlSeconds: state.config.clientCredentialsTtlSeconds,
      familyId: '',
    },
  )
  return jsonReply(200, tokenResponse(state, { access }))
}
