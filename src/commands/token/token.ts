import { validTokens, type CommandEnv } from '../command-env.ts'
import { tokenOutput } from './token-output.ts'

export interface TokenOptions {
  json: boolean
  /** --login: sign in interactively (on stderr) when there is no usable session. */
  login: boolean
}

/**
 * Prints a valid access token, refreshing first when it is expiring. Never interactive unless `--login` asks (and then
 * only on stderr): scripts, prompts and credential helpers call it, so stdout carries the token and a newline. A
 * file-backed session usually never gets here: cli/fast-token.ts runs the same engine from a lean start-up.
 */
export async function runToken(options: TokenOptions, env: CommandEnv): Promise<void> {
  const tokens = await validTokens(env, undefined, { login: options.login })
  env.deps.io.stdout.write(tokenOutput(tokens, options.json))
}
