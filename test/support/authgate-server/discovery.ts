import { jsonReply, type Ctx, type Reply } from './http.ts'

/** §1.9, §1.10, §1.12. */

const CACHE_ONE_HOUR = { 'Cache-Control': 'public, max-age=3600' }

/**
 * No device_authorization_endpoint, introspection_endpoint or registration_endpoint, and no jwks_uri on HS256:
 * clients have to hard-code /oauth/device/code, which is exactly what this double should force them to do.
 */
export function handleDiscovery(ctx: Ctx): Reply {
  const issuer = ctx.state.config.baseUrl.replace(/\/+$/, '')
  return jsonReply(
    200,
    {
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      userinfo_endpoint: `${issuer}/oauth/userinfo`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['HS256'],
      scopes_supported: ['openid', 'profile', 'email', 'read', 'write'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      grant_types_supported: [
        'authorization_code',
        'urn:ietf:params:oauth:grant-type:device_code',
        'refresh_token',
        'client_credentials',
      ],
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'jti',
        'auth_time',
        'nonce',
        'at_hash',
        'name',
        'preferred_username',
        'email',
        'email_verified',
        'picture',
        'updated_at',
      ],
      code_challenge_methods_supported: ['S256'],
    },
    CACHE_ONE_HOUR,
  )
}

/** HS256 keys are secret, so the set is empty. */
export function handleJwks(): Reply {
  return jsonReply(200, { keys: [] }, CACHE_ONE_HOUR)
}

export function handleHealth(): Reply {
  return jsonReply(200, { status: 'healthy', database: 'connected' })
}
