// In-process oidc-provider configured like an AuthGate deployment in rotation mode. Test support only:
// dev signing keys, the in-memory adapter and the built-in login pages (the provider warns about each).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { default as Provider, KoaContextWithOIDC } from 'oidc-provider'
import { approveDeviceInBrowser, loginInBrowser } from './oidc-server-browser.ts'
import {
  buildConfiguration,
  DEFAULT_CLIENTS,
  DEVICE_CODE_GRANT,
  RESOURCE_SERVER_CLIENT,
  type OidcServerClient,
} from './oidc-server-config.ts'
import { approveDeviceCode, autoApproveDeviceCodes } from './oidc-server-device.ts'
import { installQuirks, type OidcQuirks } from './oidc-server-quirks.ts'

export type { OidcQuirks, OidcServerClient }

export interface OidcServerOptions {
  /** Lifetime of access tokens from every grant. Default 3600. */
  accessTokenTtlSeconds?: number
  /** Replaces the default 'cli' and 'cli-confidential' clients; 'rs' is always registered for introspect(). */
  clients?: OidcServerClient[]
  /** Approve every device authorization as this account the moment it is issued. */
  autoApproveUser?: string
  /** Drop oidc-provider's "Unsupported runtime" line on Node 20; every other line still prints. */
  quiet?: boolean
  /** Behaviour of other providers and proxies (issue 14); also settable later through `OidcTestServer.quirks`. */
  quirks?: OidcQuirks
}

export interface OidcServerStats {
  refreshGrants: number
  successfulRefreshes: number
  invalidGrants: number
  grantsRevoked: number
  deviceGrants: number
  authCodeGrants: number
  /** client_credentials grants answered with a token. */
  clientCredentialsGrants: number
  /** Device authorization requests answered with a code (RFC 8628 §3.2). */
  deviceAuthorizations: number
}

export interface OidcTestServer {
  /** The issuer, http://127.0.0.1:PORT */
  url: string
  stats: OidcServerStats
  /** The switches of `OidcQuirks`, live. */
  quirks: OidcQuirks
  approveDevice(userCode: string, accountId?: string): Promise<void>
  driveDeviceApproval(userCode: string, accountId?: string): Promise<void>
  completeBrowserLogin(authorizationUrl: string, accountId?: string): Promise<string>
  introspect(token: string): Promise<{ active: boolean; [k: string]: unknown }>
  close(): Promise<void>
}

const DEFAULT_ACCOUNT = 'alice'
const RUNTIME_WARNING = 'oidc-provider WARNING: Unsupported runtime'

type ProviderModule = typeof import('oidc-provider')
let providerModule: Promise<ProviderModule> | undefined

// The warning is printed once, while the module evaluates, so the first import decides whether it shows.
// One shared import also keeps concurrent starts from stacking console.warn wrappers.
function loadProviderModule(isQuiet: boolean): Promise<ProviderModule> {
  providerModule ??= isQuiet ? importFilteringRuntimeWarning() : import('oidc-provider')
  return providerModule
}

async function importFilteringRuntimeWarning(): Promise<ProviderModule> {
  const warn = console.warn
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes(RUNTIME_WARNING)) warn.apply(console, args)
  }
  try {
    return await import('oidc-provider')
  } finally {
    console.warn = warn
  }
}

export async function startOidcServer(opts: OidcServerOptions = {}): Promise<OidcTestServer> {
  const { default: ProviderClass } = await loadProviderModule(opts.quiet ?? false)
  const server = createServer()
  // Listen first: the issuer, and so every URL the provider issues, must carry the real port.
  const port = await listen(server)
  const url = `http://127.0.0.1:${port}`
  const provider = new ProviderClass(
    url,
    buildConfiguration({
      accessTokenTtlSeconds: opts.accessTokenTtlSeconds ?? 3600,
      clients: opts.clients ?? DEFAULT_CLIENTS,
    }),
  )
  if (opts.autoApproveUser !== undefined) autoApproveDeviceCodes(provider, opts.autoApproveUser)
  const stats = countGrants(provider)
  const quirks: OidcQuirks = { ...opts.quirks }
  installQuirks(provider, quirks)
  server.on('request', provider.callback())
  return {
    url,
    stats,
    quirks,
    approveDevice: (userCode, accountId = DEFAULT_ACCOUNT) => approveDeviceCode(provider, userCode, accountId),
    driveDeviceApproval: (userCode, accountId = DEFAULT_ACCOUNT) => approveDeviceInBrowser(url, userCode, accountId),
    completeBrowserLogin: (authorizationUrl, accountId = DEFAULT_ACCOUNT) =>
      loginInBrowser(url, authorizationUrl, accountId),
    introspect: (token) => introspect(url, token),
    close: () => close(server),
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

// Grant outcomes come only from provider events: the token endpoint answers every invalid_grant with the
// same 'grant request is invalid'; the reason ('refresh token already used') is only in grant.error's
// err.error_detail. grant.error also fires for every authorization_pending poll.
function countGrants(provider: Provider): OidcServerStats {
  const stats: OidcServerStats = {
    refreshGrants: 0,
    successfulRefreshes: 0,
    invalidGrants: 0,
    grantsRevoked: 0,
    deviceGrants: 0,
    authCodeGrants: 0,
    clientCredentialsGrants: 0,
    deviceAuthorizations: 0,
  }
  provider.on('grant.success', (ctx) => {
    const type = grantType(ctx)
    if (type === 'refresh_token') {
      stats.refreshGrants++
      stats.successfulRefreshes++
    }
    if (type === DEVICE_CODE_GRANT) stats.deviceGrants++
    if (type === 'authorization_code') stats.authCodeGrants++
    if (type === 'client_credentials') stats.clientCredentialsGrants++
  })
  provider.on('grant.error', (ctx, err) => {
    if (grantType(ctx) === 'refresh_token') stats.refreshGrants++
    if (err.error === 'invalid_grant') stats.invalidGrants++
  })
  provider.on('device_authorization.success', () => stats.deviceAuthorizations++)
  // Emitted for reuse detection and for revoking a refresh token alike: both drop the whole grant.
  provider.on('grant.revoked', () => stats.grantsRevoked++)
  provider.on('server_error', (_ctx, err) => console.error('oidc-server: server_error', err))
  return stats
}

function grantType(ctx: KoaContextWithOIDC): unknown {
  return ctx.oidc?.params?.grant_type
}

async function introspect(issuer: string, token: string): Promise<{ active: boolean; [k: string]: unknown }> {
  const { client_id: id, client_secret: secret } = RESOURCE_SERVER_CLIENT
  const response = await fetch(new URL('/token/introspection', issuer), {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ token }),
  })
  if (!response.ok) throw new Error(`introspection answered ${response.status}: ${await response.text()}`)
  return (await response.json()) as { active: boolean; [k: string]: unknown }
}

// undici keeps idle connections open; close them, or server.close() waits for their keep-alive timeout.
function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()))
    server.closeAllConnections()
  })
}
