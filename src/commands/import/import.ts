import type { Command } from 'commander'
import { resolve } from 'node:path'
import { loadSettings } from '../../session/open.ts'
import type { KeyringReader } from '../../stores/go-sources.ts'
import { commandSession, type CommandEnv } from '../command-env.ts'

export interface ImportGoOptions {
  /** As given; resolved against the working directory only because the user typed it. */
  file: string | undefined
  keyringService: string | undefined
  force: boolean
}

export function parseImportGo(flags: { file?: string; keyringService?: string; force?: boolean }): ImportGoOptions {
  return { file: flags.file, keyringService: flags.keyringService, force: flags.force === true }
}

/** Parse, then run (gh's NewCmdX(f, runF)): tests replace `run` to check the parsing alone. */
export function registerImport(program: Command, makeEnv: (cmd: Command) => CommandEnv, run = runImportGo): void {
  program
    .command('import')
    .description('copy a session from another tool into authgate')
    .command('go')
    .description(
      'copy the Go AuthGate tools’ session for the configured client id into authgate, for the server URL you set',
    )
    .option('--file <path>', 'the Go token file (the SDK’s base path or its .enc file, or the Go CLI’s file)')
    .option(
      '--keyring-service <name>',
      'the keyring service of the Go SDK’s master key (default: authgate-oauth-cli, then authgate)',
    )
    .option('--force', 'replace a session authgate already has')
    .action(async (flags: { file?: string; keyringService?: string; force?: boolean }, cmd: Command) =>
      run(parseImportGo(flags), makeEnv(cmd)),
    )
}

/**
 * Reads the Go session (never changing it) and saves it as authgate's. stdout stays empty; stderr names the source,
 * the session and where the tokens went. `keyring` is for tests only (else the OS keyring, every call bounded).
 */
export async function runImportGo(options: ImportGoOptions, env: CommandEnv, keyring?: KeyringReader): Promise<void> {
  const settings = loadSettings(env.flags, env.deps)
  env.secret(settings.clientSecret)
  const [{ importGoSession, requireExplicitSession }, { goUserConfigDir }, { KeyringClient }] = await Promise.all([
    import('../../session/import-go.ts'),
    import('../../stores/go-sources.ts'),
    import('../../stores/keyring-client.ts'),
  ])
  requireExplicitSession(settings)
  const session = await commandSession(env, settings)
  const { deps } = env
  const input = { ...options, file: options.file === undefined ? undefined : resolve(deps.cwd, options.file) }
  const result = await importGoSession(session, input, {
    sleep: deps.sleep,
    platform: deps.platform,
    keyring: keyring ?? new KeyringClient({ sleep: deps.sleep, platform: deps.platform }),
    goConfigDir: goUserConfigDir(deps.platform, deps.env),
    secret: env.secret,
    say: env.say,
  })
  env.say(
    `Imported the Go session for client ${session.key.clientId} from ${result.source} as authgate's session for ` +
      `${session.key.serverUrl}. It is authgate's alone now: stop using the Go tool for it (both refreshing one ` +
      'rotating session revokes it).',
  )
}
