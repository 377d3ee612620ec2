import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { spawnCli, type CliHome, type CliProcess } from './cli.ts'

/** A running `authgate agent` (a real process) and the socket it printed on stdout. */
export interface AgentProcess {
  readonly process: CliProcess
  readonly socket: string
  /** SIGTERM, then the exit. */
  stop(): Promise<number | null>
}

/** `<home>/run/authgate/agent.sock` (mode 0700 dir), as under $XDG_RUNTIME_DIR. */
export function agentSocketPath(home: CliHome): string {
  mkdirSync(join(home.dir, 'run'), { mode: 0o700, recursive: true })
  return join(home.dir, 'run', 'authgate', 'agent.sock')
}

/** Starts `authgate agent` with `args` and waits for the socket line on stdout. */
export async function startAgent(
  home: CliHome,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<AgentProcess> {
  const process = spawnCli(['agent', ...args], { home, env, timeoutMs: 600_000 })
  await Promise.race([
    process.waitForStderr(/authgate agent: serving/),
    process.exited.then((r) => Promise.reject(new Error(`agent exited ${r.code}: ${r.stderr}`))),
  ])
  const socket = process.stdout().trim()
  return {
    process,
    socket,
    stop: async () => {
      process.child.kill('SIGTERM')
      return (await process.exited).code
    },
  }
}

/** A "container": an empty HOME, no token store, only the socket (and which session it wants). */
export function containerEnv(socket: string): Record<string, string> {
  return { AUTHGATE_AGENT_SOCK: socket }
}
