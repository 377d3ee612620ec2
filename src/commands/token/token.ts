import { toSafeJson } from '../terminal-text.ts'
import { rfc3339, validTokens, type CommandEnv } from '../command-env.ts'

export interface TokenOptions {
  json: boolean
  /** --login: sign in interactively (on stderr) when there is no usable session. */
  login: boolean
}

/**
 * Prints a valid access token, refreshing first when it is expiring. Never interactive unless `--login` asks (and then
 * only on stderr): scripts, prompts and credential helpers call it, so stdout carries the token and a newline.
 */
export async function runToken(options: TokenOptions, env: CommandEnv): Promise<void> {
  const tokens = await validTokens(env, undefined, { login: options.login })
  if (!options.json) {
    env.deps.io.stdout.write(`${tokens.accessToken}\n`)
    return
  }
  const out = {
    access_token: tokens.accessToken,
    token_type: tokens.tokenType,
    expires_at: rfc3339(tokens.expiresAtMs),
    scope: tokens.scope ?? null,
  }
  env.deps.io.stdout.write(`${toSafeJson(out)}\n`)
}
