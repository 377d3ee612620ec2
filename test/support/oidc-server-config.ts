import type { ClientMetadata, Configuration, FindAccount } from 'oidc-provider'

/** A client the harness registers; the shape `OidcServerOptions.clients` accepts. */
export interface OidcServerClient {
  client_id: string
  client_secret?: string
  redirect_uris?: string[]
  token_endpoint_auth_method?: 'none' | 'client_secret_post' | 'client_secret_basic'
}

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

// A native client registered with a port-less loopback URI accepts any port (RFC 8252 §7.3), which is
// what lets the CLI's callback listener bind 127.0.0.1:0.
export const LOOPBACK_REDIRECT_URIS = ['http://127.0.0.1/callback', 'http://localhost/callback']

export const DEFAULT_CLIENTS: OidcServerClient[] = [
  { client_id: 'cli', token_endpoint_auth_method: 'none' },
  {
    client_id: 'cli-confidential',
    client_secret: 'cli-confidential-secret',
    token_endpoint_auth_method: 'client_secret_post',
  },
]

// introspect() authenticates as this client, so it is registered whatever `clients` says.
export const RESOURCE_SERVER_CLIENT = { client_id: 'rs', client_secret: 'rs-secret' }

const DAY_SECONDS = 24 * 60 * 60

/**
 * Turns a harness client into provider metadata: every CLI grant, native, loopback redirects. A client with a secret
 * may also use the client-credentials grant (machine sessions), as AuthGate lets confidential clients do.
 */
export function toClientMetadata(client: OidcServerClient): ClientMetadata {
  const method = client.token_endpoint_auth_method ?? (client.client_secret ? 'client_secret_basic' : 'none')
  const machine = client.client_secret === undefined ? [] : ['client_credentials']
  return {
    client_id: client.client_id,
    ...(client.client_secret === undefined ? {} : { client_secret: client.client_secret }),
    token_endpoint_auth_method: method,
    application_type: 'native',
    grant_types: [DEVICE_CODE_GRANT, 'authorization_code', 'refresh_token', ...machine],
    response_types: ['code'],
    redirect_uris: client.redirect_uris ?? LOOPBACK_REDIRECT_URIS,
  }
}

function resourceServerMetadata(): ClientMetadata {
  return { ...RESOURCE_SERVER_CLIENT, grant_types: [], response_types: [], redirect_uris: [] }
}

/** Every account exists; its claims are derived from the id so tests can predict them. */
export const findAccount: FindAccount = async (_ctx, sub) => ({
  accountId: sub,
  claims: async () => ({
    sub,
    email: `${sub}@example.test`,
    email_verified: true,
    preferred_username: sub,
    name: sub.charAt(0).toUpperCase() + sub.slice(1),
  }),
})

export interface ConfigurationInput {
  accessTokenTtlSeconds: number
  clients: OidcServerClient[]
}

/** The provider configuration AuthGate's rotation mode is tested against. */
export function buildConfiguration(input: ConfigurationInput): Configuration {
  const clients = input.clients.filter((c) => c.client_id !== RESOURCE_SERVER_CLIENT.client_id)
  return {
    clients: [...clients.map(toClientMetadata), resourceServerMetadata()],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    findAccount,
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      clientCredentials: { enabled: true },
      // A client may revoke only its own tokens; anyone else's are ignored, as RFC 7009 §2.2 allows.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      // Any registered client may introspect any token: the 'rs' client stands in for an API.
      introspection: { enabled: true, allowedPolicy: async () => true },
      userinfo: { enabled: true },
    },
    // The default issues a refresh token only for offline_access; AuthGate's default scope is `email profile`.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // The default rotates only for public clients; rotation mode rotates for every client, so a replay
    // of a used refresh token revokes the whole grant (lib/actions/grants/refresh_token.js).
    rotateRefreshToken: true,
    // Tokens must outlive the provider's login cookie session, as a CLI's do.
    expiresWithSession: async () => false,
    ttl: buildTtl(input.accessTokenTtlSeconds),
    cookies: { keys: ['authgate-test-cookie-key'] },
  }
}

// Setting every TTL the flows touch also keeps the provider's "default ttl.X called" notices off stdout.
function buildTtl(accessTokenTtlSeconds: number): Configuration['ttl'] {
  return {
    // One function for device, authorization_code and refresh grants alike.
    AccessToken: () => accessTokenTtlSeconds,
    ClientCredentials: () => accessTokenTtlSeconds,
    AuthorizationCode: 60,
    DeviceCode: 600,
    IdToken: 3600,
    RefreshToken: 14 * DAY_SECONDS,
    Grant: 14 * DAY_SECONDS,
    Session: 14 * DAY_SECONDS,
    Interaction: 3600,
  }
}
