import type { Command } from 'commander'
import { CommandFailedError, UsageError } from '../../errors.ts'
import type { ChildExit } from '../../session/deps.ts'
import { validTokens, type CommandEnv } from '../command-env.ts'
import { addLoginOption } from '../login/interactive.ts'

export interface ExecOptions {
  command: string
  args: string[]
  /** Further variables that get the token besides AUTHGATE_TOKEN (`--env`, repeatable). */
  envNames: string[]
  /** --login: sign in interactively (on stderr) first when there is no usable session. */
  login?: boolean
}

/** The variable every `exec`'d command finds its access token in. */
const TOKEN_VARIABLE = 'AUTHGATE_TOKEN'

export function parseExecArgs(operands: readonly string[], flags: { env?: string[]; login?: boolean }): ExecOptions {
  const [command, ...args] = operands
  if (command === undefined || command === '')
    throw new UsageError('missing command: `authgate exec [--env NAME]… -- <command> [args…]`')
  const envNames = flags.env ?? []
  for (const name of envNames) {
    // POSIX names only: `A=B` or an empty name would put part of the token's line somewhere unexpected.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new UsageError(`invalid --env ${JSON.stringify(name)}: expected a variable name such as GITHUB_TOKEN`)
  }
  return flags.login ? { command, args, envNames, login: true } : { command, args, envNames }
}

/** Pure: the child's environment is ours plus the token under each name; the token never goes on its argv. */
export function childEnvironment(
  base: Readonly<Record<string, string | undefined>>,
  accessToken: string,
  names: readonly string[],
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(base)) if (value !== undefined) env[name] = value
  for (const name of [TOKEN_VARIABLE, ...names]) env[name] = accessToken
  return env
}

/** Pure: the status a shell would report for the child: its code, or 128 + n when signal n ended it. */
export function exitStatus(exit: ChildExit): number {
  if (exit.signal !== null) return 128 + exit.signal
  return exit.code ?? 1
}

/**
 * Gets a valid access token exactly as `token` does (refreshing first when expiring) and only then starts the
 * command, so a session that needs a sign-in ends here with exit 4 and the command never runs half-authenticated.
 * The token is fixed for the life of the command, as `aws-vault exec` does; a long job can call `authgate token`.
 */
export async function runExec(options: ExecOptions, env: CommandEnv): Promise<void> {
  const spawn = env.deps.spawn
  if (spawn === undefined) throw new TypeError('runExec: deps.spawn is missing')
  const tokens = await validTokens(env, undefined, { login: options.login === true })
  const childEnv = childEnvironment(env.deps.env, tokens.accessToken, options.envNames)
  let exit: ChildExit
  try {
    exit = await spawn(options.command, options.args, childEnv)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const exitCode = code === 'ENOENT' ? 127 : code === 'EACCES' ? 126 : 1
    throw new CommandFailedError(`cannot run ${JSON.stringify(options.command)}: ${code ?? String(err)}`, exitCode, {
      cause: err,
    })
  }
  const status = exitStatus(exit)
  if (status !== 0) throw new CommandFailedError(`${options.command} exited with ${status}`, status, { silent: true })
}

const collect = (value: string, previous: string[] = []) => [...previous, value]

/** `authgate exec [--env NAME]… -- <command> [args…]`: parse, then run; tests replace `run`. */
export function registerExec(
  program: Command,
  makeEnv: (cmd: Command) => CommandEnv,
  run: (options: ExecOptions, env: CommandEnv) => Promise<void> = runExec,
): void {
  const exec = program
    .command('exec')
    .description('run a command with a valid access token in its environment (AUTHGATE_TOKEN), never on its argv')
    .usage('[--env NAME]... [--login] -- <command> [args...]')
    .option('--env <name>', 'also put the token in this environment variable (repeatable)', collect)
    .argument('<command...>', 'the command and its arguments, after --')
  addLoginOption(exec).action(async (operands: string[], flags: { env?: string[]; login?: boolean }, cmd: Command) =>
    run(parseExecArgs(operands, flags), makeEnv(cmd)),
  )
}
