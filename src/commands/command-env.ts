import type { Settings } from '../config/settings.ts'
import type { Deps } from '../session/deps.ts'
import { loadSettings, openSession, type GlobalFlags, type OpenSession } from '../session/open.ts'
import type { TokenSet } from '../stores/types.ts'
import { tokenSourceWithLogin } from './login/interactive.ts'

/** What every command's run function receives besides its own options. */
export interface CommandEnv {
  readonly deps: Deps
  readonly flags: GlobalFlags
  readonly json: boolean
  /** `--verbose` trace sink (already redacted), or undefined. */
  readonly trace: ((line: string) => void) | undefined
  /** Registers a secret so that no message can print it. */
  readonly secret: (value: string | undefined) => void
  /** A progress or info line on stderr, redacted. */
  readonly say: (line: string) => void
}

/** RFC 3339 in UTC without milliseconds, as `status --json` and `token --json` print it. */
export function rfc3339(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

/** The configured session, with its client secret registered first: the preamble of every command that uses one. */
export async function commandSession(
  env: CommandEnv,
  settings: Settings = loadSettings(env.flags, env.deps),
): Promise<OpenSession> {
  env.secret(settings.clientSecret)
  return openSession(settings, env.deps, { trace: env.trace, secret: env.secret })
}

/**
 * The configured session's valid tokens, refreshed first when expiring, by the same engine path as `authgate token`;
 * both tokens and the client secret are registered as secrets before anything can print them. With `login` (the
 * command's `--login`, see login/interactive.ts) a missing or rejected session becomes an interactive sign-in.
 */
export async function validTokens(
  env: CommandEnv,
  settings: Settings = loadSettings(env.flags, env.deps),
  options: { login?: boolean } = {},
): Promise<TokenSet> {
  const session = await commandSession(env, settings)
  const tokens = await tokenSourceWithLogin(session, env, options.login === true)()
  env.secret(tokens.accessToken)
  env.secret(tokens.refreshToken)
  return tokens
}
