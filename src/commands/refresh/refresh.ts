import type { Command } from 'commander'
import { getValidTokens } from '../../session/refresh-engine.ts'
import { commandSession, rfc3339, type CommandEnv } from '../command-env.ts'

export interface RefreshOptions {
  force: boolean
}

export function parseRefresh(flags: { force?: boolean }): RefreshOptions {
  return { force: flags.force === true }
}

/** Parse, then run: tests replace `run` to check the parsing alone. */
export function registerRefresh(program: Command, makeEnv: (cmd: Command) => CommandEnv, run = runRefresh): void {
  program
    .command('refresh')
    .description('refresh now if the token is expiring (always with --force), under the same lock as `token`')
    .option('--force', 'refresh even if the access token is still valid')
    .action(async (flags: { force?: boolean }, cmd: Command) => run(parseRefresh(flags), makeEnv(cmd)))
}

/** Refreshes now when the token is expiring, always with --force, under the same lock as `token`. Prints nothing on stdout. */
export async function runRefresh(options: RefreshOptions, env: CommandEnv): Promise<void> {
  const session = await commandSession(env)
  let outcome = 'still valid'
  const context = {
    ...session.context,
    observe: (e: string) =>
      void (outcome =
        e === 'fresh'
          ? 'still valid (use --force to refresh anyway)'
          : e === 'adopted'
            ? 'refreshed by another process'
            : 'refreshed'),
  }
  const tokens = await getValidTokens(context, { force: options.force })
  env.say(`access token ${outcome}; expires ${rfc3339(tokens.expiresAtMs) ?? 'never (the server gave no lifetime)'}`)
}
