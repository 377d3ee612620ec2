import type { Settings } from '../config/settings.ts'
import type { OpenSession } from '../session/open.ts'
import type { Identity } from '../session/protocol-types.ts'
import type { TokenSet } from '../stores/types.ts'

/** What `client.status()` and `client.login()` return: the `status --json` object in camelCase. Never a token. */
export interface SessionStatus {
  signedIn: boolean
  serverUrl: string
  issuer: string | undefined
  clientId: string
  /** 'user', or 'client_credentials' for a machine session. */
  grant: 'user' | 'client_credentials'
  /** 'file' | 'keyring' | 'encrypted'. */
  store: string
  /** The token file, for the file-based stores. */
  storePath: string | undefined
  subject: string | undefined
  username: string | undefined
  scope: string | undefined
  expiresAt: Date | undefined
  hasRefreshToken: boolean
  /** True/false after asking the server; undefined offline, or when the server could not say. */
  verified: boolean | undefined
}

export function sessionStatus(
  settings: Settings,
  session: Pick<OpenSession, 'key' | 'store'>,
  tokens: TokenSet | undefined,
  identity: Identity | undefined,
  issuer: string | undefined,
): SessionStatus {
  const fileBased = session.store.kind === 'file' || session.store.kind === 'encrypted'
  return {
    signedIn: tokens !== undefined,
    serverUrl: settings.serverUrl,
    issuer,
    clientId: session.key.clientId,
    grant: settings.grant,
    store: session.store.kind,
    storePath: fileBased ? session.store.location : undefined,
    subject: identity?.subject,
    username: identity?.username,
    scope: tokens?.scope ?? identity?.scope,
    expiresAt: tokens?.expiresAtMs === undefined ? undefined : new Date(tokens.expiresAtMs),
    hasRefreshToken: Boolean(tokens?.refreshToken),
    verified: identity?.verified,
  }
}

/** Who the session belongs to, asking the server unless `offline`. Server failures propagate as typed errors. */
export async function readStatus(settings: Settings, session: OpenSession, offline: boolean): Promise<SessionStatus> {
  const tokens = await session.store.read(session.key)
  const protocol = tokens && !offline ? await session.protocol() : undefined
  const identity = tokens && protocol ? await protocol.identify(tokens) : undefined
  const issuer = tokens?.issuer ?? (protocol ? await protocol.issuer() : undefined)
  return sessionStatus(settings, session, tokens, identity, issuer)
}
