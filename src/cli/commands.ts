import type { Command } from 'commander'
import type { CommandEnv } from '../commands/command-env.ts'
import { registerAgent } from '../commands/agent/agent.ts'
import { registerApi } from '../commands/api/api.ts'
import { registerCompletion } from '../commands/completion/completion.ts'
import { registerCredential } from '../commands/credential/credential.ts'
import { registerExec } from '../commands/exec/exec.ts'
import { registerImport } from '../commands/import/import.ts'
import { addLoginOption } from '../commands/login/interactive.ts'
import { registerLogin } from '../commands/login/login.ts'
import { registerLogout } from '../commands/logout/logout.ts'
import { runRefresh } from '../commands/refresh/refresh.ts'
import { runStatus } from '../commands/status/status.ts'
import { runStatusAll } from '../commands/status/status-all.ts'
import { runToken } from '../commands/token/token.ts'

type MakeEnv = (cmd: Command) => CommandEnv

/** Every command, in the order `--help` lists them. Each parses its own options, then calls its run function. */
export function registerCommands(program: Command, makeEnv: MakeEnv): void {
  registerLogin(program, makeEnv)
  addLoginOption(
    program
      .command('token')
      .description('print a valid access token, refreshing it first if it is expiring (interactive only with --login)'),
  ).action(async (o: { login?: boolean }, cmd: Command) => {
    const env = makeEnv(cmd)
    await runToken({ json: env.json, login: o.login === true }, env)
  })
  program
    .command('refresh')
    .description('refresh now if the token is expiring (always with --force), under the same lock as `token`')
    .option('--force', 'refresh even if the access token is still valid')
    .action(async (o: { force?: boolean }, cmd: Command) => runRefresh({ force: o.force === true }, makeEnv(cmd)))
  program
    .command('status')
    .description('who is signed in, where the tokens live, expiry and scopes')
    .option('--offline', 'do not ask the server')
    .option('--all', 'list every stored session with its backend and expiry (offline)')
    .action(async (o: { offline?: boolean; all?: boolean }, cmd: Command) => {
      const env = makeEnv(cmd)
      if (o.all) return runStatusAll({ json: env.json }, env)
      await runStatus({ json: env.json, offline: o.offline === true }, env)
    })
  registerLogout(program, makeEnv)
  registerApi(program, makeEnv)
  registerExec(program, makeEnv)
  registerCredential(program, makeEnv)
  registerImport(program, makeEnv)
  registerCompletion(program, makeEnv)
  registerAgent(program, makeEnv)
}
