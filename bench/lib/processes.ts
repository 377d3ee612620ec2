import { spawn, type ChildProcess } from 'node:child_process'

/** One finished process, timed by the parent from spawn() to its exit. */
export interface Timed {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

export interface Command {
  readonly argv: readonly string[]
  readonly env: Record<string, string>
  readonly cwd: string
}

const live = new Set<ChildProcess>()

/** For an interrupted bench: leave nothing behind. */
export function killLive(): void {
  for (const child of live) child.kill('SIGKILL')
}

export function timedRun(command: Command): Promise<Timed> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint()
    const child = spawn(command.argv[0]!, command.argv.slice(1), {
      env: command.env,
      cwd: command.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    live.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => (stdout += d))
    child.stderr!.on('data', (d: Buffer) => (stderr += d))
    child.once('exit', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      child.once('close', (code, signal) => {
        live.delete(child)
        resolve({ code, signal, stdout, stderr, ms })
      })
    })
  })
}

/** Starts all at once; the wall time runs from the first spawn to the last exit. */
export async function concurrently(commands: readonly Command[]): Promise<{ wallMs: number; runs: Timed[] }> {
  const started = process.hrtime.bigint()
  const runs = await Promise.all(commands.map(timedRun))
  return { wallMs: Number(process.hrtime.bigint() - started) / 1e6, runs }
}
