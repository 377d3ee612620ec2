import type { Command } from 'commander'
import { logOut, type LogoutResult, type RevocationOutcome } from '../../session/logout.ts'
import { commandSession, type CommandEnv } from '../command-env.ts'

export interface LogoutOptions {
  /** False with --no-revoke. */
  revoke: boolean
}

export function parseLogout(flags: { revoke?: boolean }): LogoutOptions {
  return { revoke: flags.revoke !== false }
}

/** Parse, then run (gh's NewCmdLogout(f, runF)): tests replace `run` to check the parsing alone. */
export function registerLogout(program: Command, makeEnv: (cmd: Command) => CommandEnv, run = runLogout): void {
  program
    .command('logout')
    .description('revoke the tokens at the server (RFC 7009) and delete them locally; a failed revocation only warns')
    .option('--no-revoke', 'only delete the local tokens, do not ask the server to revoke them')
    .action(async (flags: { revoke?: boolean }, cmd: Command) => run(parseLogout(flags), makeEnv(cmd)))
}

/**
 * Signs out of the configured session. stdout stays empty; stderr says what was revoked and what was deleted.
 * Logging out of a session that has no tokens is not an error: the wanted state already holds.
 */
export async function runLogout(options: LogoutOptions, env: CommandEnv): Promise<void> {
  const session = await commandSession(env)
  const { settings } = session
  const before = await session.store.read(session.key)
  for (const secret of [before?.accessToken, before?.refreshToken, before?.idToken]) env.secret(secret)
  const result = await logOut(session, options)
  const where = `${settings.serverUrl} (client ${session.key.clientId})`
  if (!result.signedIn) return env.say(`Not signed in to ${where}; nothing to do.`)
  for (const outcome of result.revocations) if (!outcome.revoked) env.say(`warning: ${failure(outcome)}`)
  env.say(
    `Signed out of ${where}: ${revocationSummary(result, options)}; deleted the tokens from ${session.store.location}.`,
  )
}

function failure(outcome: RevocationOutcome & { revoked: false }): string {
  const why = outcome.error instanceof Error ? outcome.error.message : String(outcome.error)
  return `could not revoke the ${outcome.hint === 'refresh_token' ? 'refresh' : 'access'} token (${why}); the local tokens are deleted anyway`
}

export function revocationSummary(result: LogoutResult, options: LogoutOptions): string {
  if (!options.revoke) return 'not revoked at the server (--no-revoke)'
  const revoked = result.revocations
    .filter((o) => o.revoked)
    .map((o) => (o.hint === 'refresh_token' ? 'refresh' : 'access'))
  if (revoked.length === 0) return 'the server did not confirm any revocation'
  return `revoked the ${revoked.join(' and ')} token${revoked.length > 1 ? 's' : ''} at the server`
}
