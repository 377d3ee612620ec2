import type { Command } from 'commander'
import { resolve } from 'node:path'
import type { Settings } from '../../config/settings.ts'
import { AuthgateError, UsageError } from '../../errors.ts'
import type { Answerer } from '../../agent/server.ts'
import type { TokenStore } from '../../stores/types.ts'
import { loadSettings, openSession, type GlobalFlags } from '../../session/open.ts'
import type { CommandEnv } from '../command-env.ts'

export interface AgentOptions {
  /** As given; resolved against the working directory because the user typed it. */
  socket: string | undefined
  /** Profile names or `<client id>@<server URL>`; empty = the configured session. */
  expose: readonly string[]
}

/** Bounds on what a client can make the agent hold (README "Containers and remote hosts"). */
const AGENT_LIMITS = { idleMs: 30_000, maxConnections: 128 }

export function parseAgent(flags: { socket?: string; expose?: string[] }): AgentOptions {
  return { socket: flags.socket, expose: flags.expose ?? [] }
}

export function registerAgent(program: Command, makeEnv: (cmd: Command) => CommandEnv, run = runAgent): void {
  program
    .command('agent')
    .description('serve access tokens of your sessions on a Unix socket, for containers and remote hosts')
    .option('--socket <path>', 'the socket (default $XDG_RUNTIME_DIR/authgate/agent.sock)')
    .option(
      '--expose <session>',
      'a profile name or <client id>@<server URL> to serve (repeatable; default the configured session)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(async (flags: { socket?: string; expose?: string[] }, cmd: Command) => run(parseAgent(flags), makeEnv(cmd)))
}

/** `<client id>@<server URL>` when what follows the last `@http` is a URL; anything else names a profile. */
export function exposedFlags(spec: string, flags: GlobalFlags): GlobalFlags {
  const at = Math.max(spec.lastIndexOf('@http://'), spec.lastIndexOf('@https://'))
  if (at > 0) return { ...flags, clientId: spec.slice(0, at), serverUrl: spec.slice(at + 1), profile: undefined }
  if (spec === '' || spec.includes('@')) {
    throw new UsageError(
      `invalid --expose ${JSON.stringify(spec)}: expected a profile name or <client id>@<server URL>`,
    )
  }
  return { profile: spec, agentSock: flags.agentSock }
}

/**
 * Runs in the foreground until SIGINT/SIGTERM: prints the socket path on stdout, then answers. The socket is removed
 * on the way out, so a supervisor's restart finds the path free.
 */
export async function runAgent(options: AgentOptions, env: CommandEnv): Promise<void> {
  const { deps } = env
  const sessions = exposedSessions(options, env)
  const [dir, { listenAgent }] = await Promise.all([
    import('../../agent/socket-dir.ts'),
    import('../../agent/server.ts'),
  ])
  const socketPath = options.socket
    ? resolve(deps.cwd, options.socket)
    : dir.defaultSocketPath(deps.env, deps.paths.cache)
  dir.prepareSocketDir(socketPath, deps.uid)
  dir.clearStaleSocket(socketPath, await dir.isListening(socketPath))
  const server = await listenAgent(socketPath, await answerer(sessions, env), { sleep: deps.sleep, ...AGENT_LIMITS })
  try {
    dir.restrictSocket(socketPath)
    deps.io.stdout.write(`${socketPath}\n`)
    env.say(`authgate agent: serving ${[...sessions.keys()].join(', ')}`)
    await (deps.untilStopped?.() ?? new Promise(() => {}))
  } finally {
    server.close()
    dir.removeSocket(socketPath)
  }
}

/** Each exposed session's settings, by account; the agent itself never asks another agent. */
function exposedSessions(options: AgentOptions, env: CommandEnv): Map<string, Settings> {
  const specs = options.expose.length > 0 ? options.expose.map((s) => exposedFlags(s, env.flags)) : [env.flags]
  const sessions = new Map<string, Settings>()
  for (const flags of specs) {
    const settings: Settings = { ...loadSettings(flags, env.deps), agentSock: undefined }
    env.secret(settings.clientSecret)
    if (!settings.clientId) throw new UsageError('no client id configured for the session to expose')
    sessions.set(`${settings.clientId}@${settings.serverUrl}`, settings)
  }
  return sessions
}

/** Answers from the engine: one refresh at a time per session in this process, under the session lock as always. */
async function answerer(sessions: Map<string, Settings>, env: CommandEnv): Promise<Answerer> {
  const [{ SingleFlight }, { normaliseServerUrl }, { openStore }] = await Promise.all([
    import('../../session/refresh-engine.ts'),
    import('../../session-key.ts'),
    import('../../session/stores.ts'),
  ])
  const flight = new SingleFlight()
  // The store is opened once per session (it holds no tokens between calls: every request reads it anew); the rest
  // of the session, its retry budget included, is built per request, as for each CLI command.
  const stores = new Map<Settings, Promise<TokenStore>>()
  const storeOf = (settings: Settings) => {
    const store = stores.get(settings) ?? openStore(settings, env.deps)
    stores.set(settings, store)
    store.catch(() => stores.delete(settings)) // a keyring that was down is tried again next time
    return store
  }
  return async (request) => {
    let settings: Settings | undefined
    try {
      settings = sessions.get(`${request.clientId}@${normaliseServerUrl(request.serverUrl)}`)
    } catch {
      settings = undefined
    }
    if (!settings) return { error: `session ${request.clientId}@${request.serverUrl} is not exposed`, exit: 4 }
    try {
      const session = await openSession(settings, env.deps, {
        trace: env.trace,
        secret: env.secret,
        store: await storeOf(settings),
      })
      const tokens = await flight.run(session.context, { force: request.force, rejected: request.rejected })
      env.secret(tokens.accessToken)
      env.secret(tokens.refreshToken)
      return { accessToken: tokens.accessToken, expiresAtMs: tokens.expiresAtMs }
    } catch (err) {
      if (err instanceof AuthgateError && err.exitCode === 4) return { error: err.message, exit: 4 }
      return { error: err instanceof Error ? err.message : 'internal error', exit: 5 }
    }
  }
}
