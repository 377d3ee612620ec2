import type { Command } from 'commander'
import { UsageError } from '../../errors.ts'
import type { Flow } from '../../session/login.ts'
import { toSafeJson } from '../terminal-text.ts'
import { getValidTokens } from '../../session/refresh-engine.ts'
import { type OpenSession } from '../../session/open.ts'
import type { Identity } from '../../session/protocol-types.ts'
import type { TokenSet } from '../../stores/types.ts'
import { commandSession, type CommandEnv } from '../command-env.ts'
import { buildReport, type StatusReport } from '../status/status.ts'
import { stderrLoginUi } from './login-ui.ts'

export interface LoginOptions {
  /** --device / --no-browser, or --browser; undefined = chosen by the contract's rules. */
  flow: Flow | undefined
  /** False with --no-open. */
  open: boolean
  json: boolean
}

/** What commander hands over. `--no-browser` is commander's negation of `--browser`: `browser === false`. */
export interface LoginFlags {
  device?: boolean
  browser?: boolean
  open?: boolean
}

export function parseLogin(flags: LoginFlags, json: boolean): LoginOptions {
  const device = flags.device === true || flags.browser === false
  if (device && flags.browser === true) throw new UsageError('--device and --browser cannot be used together')
  return { flow: device ? 'device' : flags.browser === true ? 'browser' : undefined, open: flags.open !== false, json }
}

/** Parse, then run (gh's NewCmdLogin(f, runF)): tests replace `run` to check the parsing alone. */
export function registerLogin(program: Command, makeEnv: (cmd: Command) => CommandEnv, run = runLogin): void {
  program
    .command('login')
    .description(
      'sign in and save the tokens: browser (Authorization Code + PKCE) or device flow, chosen automatically',
    )
    .option('--device', 'use the device flow: a code to confirm in any browser, on any device (SSH, containers)')
    // --browser first, so that the negation below leaves the default undefined ("choose for me").
    .option('--browser', 'use the browser flow even where the device flow would be chosen')
    .option('--no-browser', 'same as --device')
    .option('--no-open', 'print the sign-in URL instead of opening a browser')
    .action(async (flags: LoginFlags, cmd: Command) => {
      const env = makeEnv(cmd)
      await run(parseLogin(flags, env.json), env)
    })
}

/**
 * Signs in (device or browser flow, chosen as the contract says) and saves the tokens, replacing the session's entry.
 * stderr tells the person what to do and, at the end, who is signed in where; stdout is empty unless --json.
 */
export async function runLogin(options: LoginOptions, env: CommandEnv): Promise<void> {
  const session = await commandSession(env)
  const { settings } = session
  if (settings.grant === 'client_credentials') return machineLogin(session, env, options)
  const ui = stderrLoginUi({
    say: env.say,
    write: (text) => void env.deps.io.stderr.write(text),
    isTTY: env.deps.io.isStderrTTY,
    serverUrl: settings.serverUrl,
    callbackTimeoutMs: settings.callbackTimeoutMs,
  })
  // Loaded here, not at startup: `authgate token` in a shell prompt must not pay for the loopback server.
  const { signIn } = await import('../../session/login.ts')
  const { tokens } = await signIn(session, env.deps, { forced: options.flow, open: options.open }, ui)
  for (const secret of [tokens.accessToken, tokens.refreshToken, tokens.idToken]) env.secret(secret)
  const identity = await identifyQuietly(session, tokens)
  const report = buildReport(settings, session, tokens, identity, tokens.issuer, env.deps.clock.now())
  if (env.flags.profile !== undefined) {
    // `authgate login --profile work --server-url … --client-id …` remembers those flags as the profile.
    const { profileValues, saveProfile } = await import('../../config/profile-save.ts')
    const path = saveProfile(env.deps.paths.config, settings.profile, profileValues(env.flags, env.deps.cwd))
    env.say(`Saved profile "${settings.profile}" in ${path}.`)
  }
  env.say(signedIn(report, session))
  if (options.json) env.deps.io.stdout.write(`${toSafeJson(report)}\n`)
}

/**
 * A machine session has nobody to sign in: say so, and get (or reuse) its token the way `token` does, so that a
 * wrong secret shows up now rather than in the first CI job.
 */
async function machineLogin(session: OpenSession, env: CommandEnv, options: LoginOptions): Promise<void> {
  env.say(
    'No sign-in is needed with --grant client-credentials: `authgate token` (and api, the helpers, the library) get ' +
      'tokens with the client-credentials grant.',
  )
  const tokens = await getValidTokens(session.context)
  for (const secret of [tokens.accessToken, tokens.idToken]) env.secret(secret)
  const report = buildReport(session.settings, session, tokens, undefined, tokens.issuer, env.deps.clock.now())
  env.say(`Checked: the client's credentials work; the token expires ${report.expires_at ?? 'at an unknown time'}.`)
  if (options.json) env.deps.io.stdout.write(`${toSafeJson(report)}\n`)
}

/** The tokens are saved: a server that cannot say who they belong to must not turn the login into a failure. */
async function identifyQuietly(session: OpenSession, tokens: TokenSet): Promise<Identity | undefined> {
  try {
    return await (await session.protocol()).identify(tokens)
  } catch {
    return undefined
  }
}

function signedIn(r: StatusReport, session: OpenSession): string {
  const who = r.username ?? r.subject
  return (
    `Signed in to ${r.server_url}${who ? ` as ${who}` : ''} (client ${r.client_id}). ` +
    `Tokens saved in ${r.store_path ?? session.store.location} (${r.store} store).`
  )
}
