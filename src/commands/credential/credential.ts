import { Argument, type Command } from 'commander'
import { UsageError } from '../../errors.ts'
import type { CommandEnv } from '../command-env.ts'
import { DOCKER_ACTIONS, parseDockerAction, runDockerCredential, type DockerAction } from './docker.ts'
import { addLoginOption } from '../login/interactive.ts'
import { runGitCredential, type GitCredentialOptions } from './git.ts'
import { runKubectlCredential, type KubectlCredentialOptions } from './kubectl.ts'

export const DEFAULT_GIT_USERNAME = 'oauth2'

export interface CredentialRunners {
  git(options: GitCredentialOptions, env: CommandEnv): Promise<void>
  kubectl(options: KubectlCredentialOptions, env: CommandEnv): Promise<void>
  docker(action: DockerAction, env: CommandEnv): Promise<void>
}

export function parseGitCredentialArgs(
  operation: string | undefined,
  flags: { username?: string; login?: boolean },
): GitCredentialOptions {
  if (operation === undefined)
    throw new UsageError('missing operation: git runs the helper as `authgate credential git get` (or store, erase)')
  const username = flags.username ?? DEFAULT_GIT_USERNAME
  if (username === '' || /[\n\r\0]/.test(username))
    throw new UsageError(`invalid --username ${JSON.stringify(username)}`)
  return { operation, username, login: flags.login === true }
}

/** `authgate credential git|kubectl`: parse, then run; tests replace the runners to check the parsing alone. */
export function registerCredential(
  program: Command,
  makeEnv: (cmd: Command) => CommandEnv,
  run: CredentialRunners = { git: runGitCredential, kubectl: runKubectlCredential, docker: runDockerCredential },
): void {
  const credential = program
    .command('credential')
    .description('credential helpers: git (credential-helper protocol), kubectl (ExecCredential), docker')
  const git = credential
    .command('git')
    .description('git credential helper: `get` answers with a valid access token for the configured hosts')
    .argument('[operation]', 'get, store or erase (git passes it)')
    .option('--username <name>', 'username to answer with when git asks for none', DEFAULT_GIT_USERNAME)
  addLoginOption(git).action(
    async (operation: string | undefined, flags: { username?: string; login?: boolean }, cmd: Command) =>
      run.git(parseGitCredentialArgs(operation, flags), makeEnv(cmd)),
  )
  const kubectl = credential
    .command('kubectl')
    .description('kubectl exec credential plugin: prints a client.authentication.k8s.io/v1 ExecCredential')
  addLoginOption(kubectl).action(async (flags: { login?: boolean }, cmd: Command) =>
    run.kubectl({ login: flags.login === true }, makeEnv(cmd)),
  )
  credential
    .command('docker')
    .description('Docker credential helper (also installed as docker-credential-authgate), for --registry hosts only')
    .addArgument(new Argument('[action]', `${DOCKER_ACTIONS.join(', ')} (Docker passes it)`).choices(DOCKER_ACTIONS))
    .action(async (action: string | undefined, _flags: unknown, cmd: Command) =>
      run.docker(parseDockerAction(action), makeEnv(cmd)),
    )
}
