/** The edges of the program. Built once in cli/system.ts from the real process; tests pass fakes. */
export interface Streams {
  stdout: { write(chunk: string): unknown }
  stderr: { write(chunk: string): unknown }
  stdin: NodeJS.ReadableStream
  isStdoutTTY: boolean
  isStderrTTY: boolean
  isStdinTTY: boolean
}

/** How a child program ended: its exit code, or the number of the signal that ended it (`exec`). */
export interface ChildExit {
  code: number | null
  signal: number | null
}

/** Starts a program with stdio inherited and SIGINT/SIGTERM forwarded to it; settles when it has ended. */
export type SpawnChild = (command: string, args: readonly string[], env: Record<string, string>) => Promise<ChildExit>

export interface Deps {
  clock: { now(): number }
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  fetch: typeof globalThis.fetch
  /** The HTTP client of OAuth requests, whose answers are bounded (default `fetch`); the CLI's is cli/node-fetch.ts. */
  oauthFetch?: typeof globalThis.fetch | undefined
  env: Readonly<Record<string, string | undefined>>
  io: Streams
  browser: { open(url: string): Promise<void> }
  /** authgate's own directories: `<user config dir>/authgate`, `<user cache dir>/authgate`. */
  paths: { config: string; cache: string }
  cwd: string
  pid: number
  /** The effective uid: lock files and the directories of locks and tokens must belong to it. Undefined on Windows. */
  uid?: number | undefined
  platform: NodeJS.Platform
  /** How a contended lock wait blocks (see lock/kernel-lock.ts). The CLI uses 'thread'; the library 'process'. */
  lockWaiter?: 'process' | 'thread' | undefined
  /** Test seam only (see cli/system.ts): runs between a save's pre-flight and the grant it guards. */
  afterPreflight?: (() => Promise<void>) | undefined
  /** A warning line for stderr (the CLI prints each once per run); the library has none and never prints. */
  warn?: ((line: string) => void) | undefined
  /** Resolves on SIGINT or SIGTERM, for a command that runs until stopped (`authgate agent`). */
  untilStopped?: (() => Promise<void>) | undefined
  /** Aborted on SIGINT: long waits (device polling, the callback listener, lock waits) end with exit 130. */
  signal?: AbortSignal | undefined
  /** `authgate exec` only (the CLI's); the library never starts programs. */
  spawn?: SpawnChild | undefined
}
