import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/**
 * The real CLI (`node bin/authgate.js`) as a person or a script runs it: its own process, a clean environment and a
 * temporary HOME, so nothing from the machine running the tests (AUTHGATE_*, SSH_*, DISPLAY, NODE_OPTIONS, a real
 * ~/.config/authgate) leaks in. `npm test` builds dist/ first; `requireBuild()` says so when it is missing.
 */

export const ROOT = resolve(import.meta.dirname, '../..')
/** AUTHGATE_TEST_BIN runs the tests against another build, e.g. a deliberately broken one, to see them fail. */
export const BIN = process.env.AUTHGATE_TEST_BIN ?? join(ROOT, 'bin/authgate.js')

export function requireBuild(): void {
  if (!existsSync(join(BIN, '../../dist/cli.cjs')))
    throw new Error('dist/cli.cjs is missing: run `npm run build` first (npm test does)')
}

/** A throw-away HOME with XDG dirs inside it, and the paths the CLI will use there. */
export interface CliHome {
  readonly dir: string
  /** `$XDG_CONFIG_HOME/authgate`: config.json lives here, and tokens.json by default. */
  readonly configDir: string
  /** `$XDG_CACHE_HOME/authgate`: the default lock dir is `locks/` inside it. */
  readonly cacheDir: string
  /** Where `flags` put the token file and the session locks (inside `dir`). */
  readonly tokenFile: string
  readonly lockDir: string
  /** PATH plus HOME and the XDG dirs, nothing else. */
  readonly env: Record<string, string>
  /** `--token-store file --token-file … --lock-dir …`: every file of the test stays in `dir`. */
  readonly flags: string[]
  remove(): void
}

export function createCliHome(prefix = 'authgate-cli-'): CliHome {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const config = join(dir, 'config')
  const cache = join(dir, 'cache')
  mkdirSync(config, { mode: 0o700 })
  mkdirSync(cache, { mode: 0o700 })
  const tokenFile = join(dir, 'store', 'tokens.json')
  const lockDir = join(dir, 'locks')
  return {
    dir,
    configDir: join(config, 'authgate'),
    cacheDir: join(cache, 'authgate'),
    tokenFile,
    lockDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, XDG_CONFIG_HOME: config, XDG_CACHE_HOME: cache },
    flags: ['--token-store', 'file', '--token-file', tokenFile, '--lock-dir', lockDir],
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

export interface CliOptions {
  /** Added to the home's clean environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>
  /** Defaults to a fresh home that is removed when the process ends. */
  home?: CliHome
  /** Defaults to the home directory, so a stray `.env` in the repository is never read. */
  cwd?: string
  /** Written to stdin, which is then closed. Without it stdin is closed at once (an empty pipe, never a TTY). */
  input?: string
  /** Aborting kills the process (SIGKILL). */
  signal?: AbortSignal
  /** Hang guard: SIGKILL after this long and report `timedOut` (default 120 s). Not a speed assertion. */
  timeoutMs?: number
  /** Extra node flags before the script, e.g. `--require` of an argv recorder. */
  nodeArgs?: string[]
  /** A session of its own, with no controlling terminal: signals reach it only when sent to it. */
  detached?: boolean
  /** Run as another user (tests running as root): the home must be theirs. */
  user?: { uid: number; gid: number }
}

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly pid: number
  /** The hang guard fired. */
  readonly timedOut: boolean
  /** From spawn to exit, for reports only: tests never assert it. */
  readonly elapsedMs: number
}

export interface CliProcess {
  readonly child: ChildProcess
  readonly pid: number
  stdout(): string
  stderr(): string
  /** Resolves with the first match of `re` on stderr; rejects if the CLI exits first. */
  waitForStderr(re: RegExp): Promise<RegExpExecArray>
  readonly exited: Promise<CliResult>
}

const running = new Set<ChildProcess>()

/** For `after()`: a failed test must not leave a CLI behind (a stopped one is continued, or SIGKILL waits). */
export function killAllClis(): void {
  for (const child of running) {
    child.kill('SIGKILL')
    child.kill('SIGCONT')
  }
}

function environment(home: CliHome, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = { ...home.env, ...extra }
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))
}

/** Starts the CLI and returns at once; for processes the test signals, stops or races. */
export function spawnCli(args: readonly string[], options: CliOptions = {}): CliProcess {
  const ownHome = options.home === undefined
  const home = options.home ?? createCliHome()
  const started = performance.now()
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
    cwd: options.cwd ?? home.dir,
    env: environment(home, options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: options.detached === true,
    ...options.user,
  })
  running.add(child)
  child.stdin!.on('error', () => {}) // the CLI may exit before reading what we send
  child.stdin!.end(options.input ?? '')
  let out = ''
  let err = ''
  const listeners = new Set<() => void>()
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')))
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString('utf8')
    for (const listener of listeners) listener()
  })
  let timedOut = false
  const guard = setTimeout(() => {
    timedOut = true
    child.kill('SIGCONT')
    child.kill('SIGKILL')
  }, options.timeoutMs ?? 120_000)
  const onAbort = () => child.kill('SIGKILL')
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const exited = new Promise<CliResult>((done) => {
    child.once('close', (code, signal) => {
      clearTimeout(guard)
      options.signal?.removeEventListener('abort', onAbort)
      running.delete(child)
      if (ownHome) home.remove()
      for (const listener of listeners) listener()
      done({
        code,
        signal,
        stdout: out,
        stderr: err,
        pid: child.pid ?? -1,
        timedOut,
        elapsedMs: performance.now() - started,
      })
    })
  })
  const waitForStderr = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolveMatch, reject) => {
      const check = () => {
        const m = re.exec(err)
        if (m) {
          listeners.delete(check)
          resolveMatch(m)
        } else if (child.exitCode !== null || child.signalCode !== null) {
          listeners.delete(check)
          reject(new Error(`the CLI exited before ${re} appeared on stderr:\n${err}`))
        }
      }
      listeners.add(check)
      check()
    })
  return { child, pid: child.pid ?? -1, stdout: () => out, stderr: () => err, waitForStderr, exited }
}

/** Runs the CLI to the end and returns its exit code and everything it printed. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return spawnCli(args, options).exited
}
