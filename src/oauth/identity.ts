import * as oauth from 'oauth4webapi'
import { boundedFetch } from './http.ts'
import type { OAuthContext } from './context.ts'
import { clientAuthOf, clientOf, requestOptions } from './context.ts'
import type { ServerMetadata } from './discovery.ts'

export interface TokenFacts {
  active: boolean
  subject?: string | undefined
  username?: string | undefined
  scope?: string | undefined
  expiresAtSeconds?: number | undefined
}

/**
 * AuthGate's tokeninfo: 200 with `active`, `user_id`, `scope`, `exp`; 401 `invalid_token` for a revoked or expired
 * token (authgate-server.md §1.5). Any other status means the server could not say.
 */
export async function requestTokenInfo(
  ctx: OAuthContext,
  as: ServerMetadata,
  accessToken: string,
): Promise<TokenFacts | undefined> {
  if (!as.tokeninfo_endpoint) return undefined
  const res = await boundedFetch(ctx.http, ctx.budget, { replayable: true, endpoint: 'tokeninfo endpoint' })(
    as.tokeninfo_endpoint,
    {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
    },
  )
  if (res.status === 401) return { active: false }
  if (!res.ok) return undefined
  const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined
  if (!body || typeof body !== 'object') return undefined
  return {
    active: body.active === true,
    subject: str(body.user_id) ?? str(body.sub),
    scope: str(body.scope),
    expiresAtSeconds: typeof body.exp === 'number' ? body.exp : undefined,
  }
}

/** @see https://openid.net/specs/openid-connect-core-1_0.html#UserInfo */
export async function requestUserInfo(
  ctx: OAuthContext,
  as: ServerMetadata,
  accessToken: string,
): Promise<TokenFacts | undefined> {
  if (!as.userinfo_endpoint) return undefined
  const res = await oauth.userInfoRequest(
    as,
    clientOf(ctx),
    accessToken,
    requestOptions(ctx, { replayable: true, endpoint: 'userinfo endpoint' }),
  )
  if (res.status === 401) return { active: false }
  if (!res.ok) return undefined
  const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined
  if (!body || typeof body !== 'object' || typeof body.sub !== 'string') return undefined
  return {
    active: true,
    subject: body.sub,
    username: str(body.preferred_username) ?? str(body.email) ?? str(body.name),
  }
}

/**
 * Token introspection needs client authentication, so only confidential clients use it.
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2
 */
export async function introspect(
  ctx: OAuthContext,
  as: ServerMetadata,
  token: string,
  hint: 'access_token' | 'refresh_token',
): Promise<TokenFacts | undefined> {
  if (!as.introspection_endpoint || !ctx.clientSecret) return undefined
  const res = await oauth.introspectionRequest(
    as,
    clientOf(ctx),
    clientAuthOf(ctx),
    token,
    requestOptions(
      ctx,
      { replayable: true, endpoint: 'introspection endpoint' },
      { additionalParameters: { token_type_hint: hint } },
    ),
  )
  if (!res.ok) return undefined
  const body = await oauth.processIntrospectionResponse(as, clientOf(ctx), res)
  return {
    active: body.active,
    subject: str(body.sub),
    username: str(body.username),
    scope: str(body.scope),
    expiresAtSeconds: typeof body.exp === 'number' ? body.exp : undefined,
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined
}
