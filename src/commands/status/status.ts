import type { Command } from 'commander'
import type { Settings } from '../../config/settings.ts'
import { AuthRequiredError } from '../../errors.ts'
import { escapeTerminal, toSafeJson } from '../terminal-text.ts'
import { type OpenSession } from '../../session/open.ts'
import type { Identity } from '../../session/protocol-types.ts'
import { permissionWarnings } from '../../stores/atomic-file.ts'
import type { TokenSet, TokenStore } from '../../stores/types.ts'
import { commandSession, rfc3339, type CommandEnv } from '../command-env.ts'
import { runStatusAll } from './status-all.ts'

export interface StatusOptions {
  json: boolean
  offline: boolean
  /** `--all`: every stored session, offline (status-all.ts). */
  all: boolean
}

export function parseStatus(flags: { offline?: boolean; all?: boolean }, json: boolean): StatusOptions {
  return { json, offline: flags.offline === true, all: flags.all === true }
}

/** Parse, then run: tests replace `run` to check the parsing alone. */
export function registerStatus(program: Command, makeEnv: (cmd: Command) => CommandEnv, run = runStatusCommand): void {
  program
    .command('status')
    .description('who is signed in, where the tokens live, expiry and scopes')
    .option('--offline', 'do not ask the server')
    .option('--all', 'list every stored session with its backend and expiry (offline)')
    .action(async (flags: { offline?: boolean; all?: boolean }, cmd: Command) => {
      const env = makeEnv(cmd)
      await run(parseStatus(flags, env.json), env)
    })
}

async function runStatusCommand(options: StatusOptions, env: CommandEnv): Promise<void> {
  return options.all ? runStatusAll({ json: options.json }, env) : runStatus(options, env)
}

/** The `status --json` object (contract, "status --json"). Never a token. */
export interface StatusReport {
  signed_in: boolean
  server_url: string
  issuer: string | null
  client_id: string
  /** `user`, or `client_credentials` for a machine session (`--grant client-credentials`). */
  grant: 'user' | 'client_credentials'
  store: string
  store_path: string | null
  subject: string | null
  username: string | null
  scope: string | null
  expires_at: string | null
  expires_in: number | null
  has_refresh_token: boolean
  verified: boolean | null
}

/** Who is signed in, where the tokens live, expiry and scopes; asks the server unless --offline. Exit 4 when not signed in. */
export async function runStatus(options: StatusOptions, env: CommandEnv): Promise<void> {
  const session = await commandSession(env)
  const { settings } = session
  const tokens = await session.store.read(session.key)
  if (tokens) {
    env.secret(tokens.accessToken)
    env.secret(tokens.refreshToken)
  }
  const identity = tokens && !options.offline ? await (await session.protocol()).identify(tokens) : undefined
  const issuer = tokens?.issuer ?? (identity ? await (await session.protocol()).issuer() : undefined)
  const report = buildReport(settings, session, tokens, identity, issuer, env.deps.clock.now())
  // Read first: under `auto` the store names the backend this session's tokens were found in only after a read.
  for (const warning of storeWarnings(session.store)) env.say(`warning: ${warning}`)
  env.deps.io.stdout.write(
    options.json
      ? `${toSafeJson(report)}\n`
      : escapeTerminal(describe(report, identity, tokensLine(settings, session.store))),
  )
  if (!tokens) {
    const machine = settings.grant === 'client_credentials'
    throw new AuthRequiredError(
      `${machine ? 'no token yet' : 'not signed in'} for ${settings.serverUrl} as client ${session.key.clientId}`,
      machine
        ? { hint: 'run `authgate token`: a machine session gets its token with the client-credentials grant' }
        : {},
    )
  }
}

export function buildReport(
  settings: Settings,
  session: OpenSession,
  tokens: TokenSet | undefined,
  identity: Identity | undefined,
  issuer: string | undefined,
  nowMs: number,
): StatusReport {
  const fileBased = session.store.kind === 'file' || session.store.kind === 'encrypted'
  return {
    signed_in: tokens !== undefined,
    server_url: settings.serverUrl,
    issuer: issuer ?? null,
    client_id: session.key.clientId,
    grant: settings.grant,
    store: session.store.kind,
    store_path: fileBased ? session.store.location : null,
    subject: identity?.subject ?? null,
    username: identity?.username ?? null,
    scope: tokens?.scope ?? identity?.scope ?? null,
    expires_at: rfc3339(tokens?.expiresAtMs),
    expires_in: tokens?.expiresAtMs === undefined ? null : Math.max(0, Math.floor((tokens.expiresAtMs - nowMs) / 1000)),
    has_refresh_token: Boolean(tokens?.refreshToken),
    verified: identity?.verified ?? null,
  }
}

/** Tokens in a file that other users can read are worth a warning on every `status`, whichever command wrote them. */
function storeWarnings(store: Pick<TokenStore, 'kind' | 'location'>): string[] {
  return store.kind === 'file' || store.kind === 'encrypted' ? permissionWarnings(store.location) : []
}

/** The backend, where it keeps the tokens, and whether `auto` chose it. */
function tokensLine(settings: Pick<Settings, 'tokenStore'>, store: Pick<TokenStore, 'kind' | 'location'>): string {
  return `${store.kind} ${store.location}${settings.tokenStore === 'auto' ? ' (chosen by auto at login)' : ''}`
}

function describe(r: StatusReport, identity: Identity | undefined, tokens: string): string {
  if (!r.signed_in && r.grant === 'client_credentials') {
    return `No token yet for ${r.server_url} (client ${r.client_id}, grant: client_credentials); \`authgate token\` gets one.\n`
  }
  if (!r.signed_in) return `Not signed in to ${r.server_url} (client ${r.client_id}).\n`
  const who = r.username ?? r.subject
  const lines = [
    `Signed in to ${r.server_url}${who ? ` as ${who}` : ''}`,
    r.issuer && r.issuer !== r.server_url ? `  issuer:   ${r.issuer}` : '',
    `  client:   ${r.client_id}`,
    r.grant === 'client_credentials'
      ? '  grant:    client_credentials (a machine session: `authgate token` renews it)'
      : '',
    r.subject && r.username ? `  subject:  ${r.subject}` : '',
    `  scopes:   ${r.scope ?? '(not stated)'}`,
    `  expires:  ${r.expires_at ? `${r.expires_at} (${r.expires_in === 0 ? 'expired; `authgate token` refreshes it' : `in ${duration(r.expires_in!)}`})` : 'unknown'}`,
    r.grant === 'user'
      ? `  refresh:  ${r.has_refresh_token ? 'yes' : 'no (sign in again when the access token expires)'}`
      : '',
    `  tokens:   ${tokens}`,
    `  verified: ${r.verified === null ? (identity ? 'the server could not say' : 'not checked (--offline)') : r.verified ? `yes (${identity?.source})` : `no: the server rejected the access token (${identity?.source})`}`,
  ]
  return `${lines.filter(Boolean).join('\n')}\n`
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`
}
