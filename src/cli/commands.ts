import type { Command } from 'commander'
import type { CommandEnv } from '../commands/command-env.ts'
import { registerAgent } from '../commands/agent/agent.ts'
import { registerApi } from '../commands/api/api.ts'
import { registerCompletion } from '../commands/completion/completion.ts'
import { registerCredential } from '../commands/credential/credential.ts'
import { registerExec } from '../commands/exec/exec.ts'
import { registerImport } from '../commands/import/import.ts'
import { registerLogin } from '../commands/login/login.ts'
import { registerLogout } from '../commands/logout/logout.ts'
import { registerRefresh } from '../commands/refresh/refresh.ts'
import { registerStatus } from '../commands/status/status.ts'
import { registerToken } from '../commands/token/token.ts'

type MakeEnv = (cmd: Command) => CommandEnv

/** Every command, in the order `--help` lists them. Each parses its own options, then calls its run function. */
export function registerCommands(program: Command, makeEnv: MakeEnv): void {
  registerLogin(program, makeEnv)
  registerToken(program, makeEnv)
  registerRefresh(program, makeEnv)
  registerStatus(program, makeEnv)
  registerLogout(program, makeEnv)
  registerApi(program, makeEnv)
  registerExec(program, makeEnv)
  registerCredential(program, makeEnv)
  registerImport(program, makeEnv)
  registerCompletion(program, makeEnv)
  registerAgent(program, makeEnv)
}
