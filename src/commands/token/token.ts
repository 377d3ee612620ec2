import type { Command } from 'commander'
import { validTokens, type CommandEnv } from '../command-env.ts'
import { addLoginOption } from '../login/interactive.ts'
import { tokenOutput } from './token-output.ts'

export interface TokenOptions {
  json: boolean
  /** --login: sign in interactively (on stderr) when there is no usable session. */
  login: boolean
}

export function parseToken(flags: { login?: boolean }, json: boolean): TokenOptions {
  return { json, login: flags.login === true }
}

/** Parse, then run (gh's NewCmdToken(f, runF)): tests replace `run` to check the parsing alone. */
export function registerToken(program: Command, makeEnv: (cmd: Command) => CommandEnv, run = runToken): void {
  const token = program
    .command('token')
    .description('print a valid access token, refreshing it first if it is expiring (interactive only with --login)')
  addLoginOption(token).action(async (flags: { login?: boolean }, cmd: Command) => {
    const env = makeEnv(cmd)
    await run(parseToken(flags, env.json), env)
  })
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
