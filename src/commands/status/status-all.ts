import type { Settings } from '../../config/settings.ts'
import { AuthRequiredError } from '../../errors.ts'
import type { StoredSession, TokenStore } from '../../stores/types.ts'
import { escapeTerminal, toSafeJson } from '../terminal-text.ts'
import { loadSettings } from '../../session/open.ts'
import { openStore } from '../../session/stores.ts'
import { rfc3339, type CommandEnv } from '../command-env.ts'

export interface StatusAllOptions {
  json: boolean
}

/** One stored session in `status --all --json`. Never a token. */
export interface StoredSessionReport {
  server_url: string
  client_id: string
  /** The backend that holds this session's tokens. */
  store: string
  /** The session the current settings (flags, env, profile) select. */
  current: boolean
  issuer: string | null
  scope: string | null
  expires_at: string | null
  expires_in: number | null
  has_refresh_token: boolean
}

/** `status --all --json`: the store and every session in it. */
export interface StatusAllReport {
  store: string
  store_path: string | null
  sessions: StoredSessionReport[]
}

/**
 * Every session in the configured store, with its backend and expiry, offline (one request per session would make a
 * listing slow and noisy). Works without a client id. Exit 4 when the store holds no session, as `status` does.
 */
export async function runStatusAll(options: StatusAllOptions, env: CommandEnv): Promise<void> {
  const settings = loadSettings(env.flags, env.deps)
  // The key only names the configured session; listing reads the whole store whichever session it names.
  const store = await openStore(settings, env.deps)
  const report = buildStatusAll(settings, store, await store.list(), env.deps.clock.now())
  env.deps.io.stdout.write(options.json ? `${toSafeJson(report)}\n` : escapeTerminal(describeAll(report)))
  if (report.sessions.length === 0) throw new AuthRequiredError(`no stored sessions in ${store.location}`)
}

export function buildStatusAll(
  settings: Pick<Settings, 'serverUrl' | 'clientId'>,
  store: Pick<TokenStore, 'kind' | 'location'>,
  sessions: readonly StoredSession[],
  nowMs: number,
): StatusAllReport {
  const fileBased = store.kind === 'file' || store.kind === 'encrypted'
  const ordered = [...sessions].sort((a, b) => a.key.account.localeCompare(b.key.account))
  return {
    store: store.kind,
    store_path: fileBased ? store.location : null,
    sessions: ordered.map(({ key, tokens, store: backend }) => ({
      server_url: key.serverUrl,
      client_id: key.clientId,
      store: backend,
      current: key.serverUrl === settings.serverUrl && key.clientId === settings.clientId,
      issuer: tokens.issuer ?? null,
      scope: tokens.scope ?? null,
      expires_at: rfc3339(tokens.expiresAtMs),
      expires_in:
        tokens.expiresAtMs === undefined ? null : Math.max(0, Math.floor((tokens.expiresAtMs - nowMs) / 1000)),
      has_refresh_token: Boolean(tokens.refreshToken),
    })),
  }
}

function describeAll(r: StatusAllReport): string {
  const where = `${r.store} store${r.store_path ? ` ${r.store_path}` : ''}`
  if (r.sessions.length === 0) return `No stored sessions (${where}).\n`
  const lines = [`${r.sessions.length} stored session${r.sessions.length > 1 ? 's' : ''} (${where}):`]
  for (const s of r.sessions) {
    lines.push(`${s.current ? '*' : ' '} ${s.server_url}  client ${s.client_id}  (${s.store})`)
    lines.push(
      `    expires: ${expiry(s)}; refresh token: ${s.has_refresh_token ? 'yes' : 'no'}; scopes: ${s.scope ?? '(not stated)'}`,
    )
  }
  if (r.sessions.some((s) => s.current)) lines.push('(* = the session the current settings select)')
  return `${lines.join('\n')}\n`
}

function expiry(s: StoredSessionReport): string {
  if (s.expires_at === null) return 'unknown'
  if (s.expires_in === 0)
    return `${s.expires_at} (expired${s.has_refresh_token ? '; the next `authgate token` refreshes it' : ''})`
  const h = Math.floor(s.expires_in! / 3600)
  const m = Math.floor((s.expires_in! % 3600) / 60)
  return `${s.expires_at} (in ${h ? `${h}h ${m}m` : `${m}m`})`
}
