import { readFileSync, writeSync } from 'node:fs'
import { userDirs } from '../config/user-dirs.ts'
import { builtin } from '../lock/native-binding.ts'
import type { ChildExit, Deps } from '../session/deps.ts'
import { fastToken, type FastDeps } from './fast-token.ts'
import { helperArgv } from './helper-name.ts'

/** OAuth requests, from the full program's bundle (cli/node-fetch.ts): loaded by the first one, never for a fresh token. */
const oauthFetch: typeof globalThis.fetch = async (input, init) => (await import('./main.ts')).oauthFetch(input, init)

/** While `exec` runs a command, SIGINT and SIGTERM go to it instead of ending authgate. */
let forwardSignal: ((signal: NodeJS.Signals) => void) | undefined

/**
 * The real edges, built once per process (kubelogin's NewCmd). This file and bin/authgate.js are the only code that
 * touches `process`, the clock, timers and the global fetch.
 */
export function systemDeps(signal: AbortSignal): Deps {
  const dirs = systemDirs()
  return {
    clock: { now: () => Date.now() },
    sleep,
    fetch: (input, init) => globalThis.fetch(input, init),
    oauthFetch,
    env: process.env,
    io: {
      stdout: process.stdout,
      stderr: process.stderr,
      // process.stdin and its TTY check build a stream (a few ms): only commands that read stdin pay for it.
      get stdin() {
        return process.stdin
      },
      isStdoutTTY: process.stdout.isTTY === true,
      isStderrTTY: process.stderr.isTTY === true,
      get isStdinTTY() {
        return process.stdin.isTTY === true
      },
    },
    browser: {
      async open(url: string) {
        const { openBrowser } = await import('./main.ts')
        await openBrowser(url)
      },
    },
    paths: { config: dirs.config, cache: dirs.cache },
    cwd: process.cwd(),
    pid: process.pid,
    uid: process.geteuid?.(),
    platform: process.platform,
    // The CLI always ends with process.exit, so a timed-out thread waiter cannot keep it alive.
    lockWaiter: 'thread',
    signal,
    spawn: spawnChild,
    afterPreflight: process.env.AUTHGATE_TEST_PAUSE_AFTER_PREFLIGHT === '1' ? pauseAfterPreflight : undefined,
    // SIGTERM is handled only while a command waits for it: every other command keeps the default (exit 143).
    untilStopped: () =>
      new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve())
        if (signal.aborted) resolve()
        signal.addEventListener('abort', () => resolve(), { once: true })
      }),
  }
}

/**
 * `exec`'s command: stdio inherited, no shell. Ctrl+C in a terminal reaches the command from the terminal itself; a
 * signal sent to authgate alone (kill, a CI runner, systemd) reaches it only through this forwarding.
 */
async function spawnChild(command: string, args: readonly string[], env: Record<string, string>): Promise<ChildExit> {
  const { spawn } = await import('node:child_process')
  const { constants } = await import('node:os')
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: 'inherit' })
    const forward = (signal: NodeJS.Signals) => void child.kill(signal)
    const onTerm = () => forward('SIGTERM')
    const done = () => {
      forwardSignal = undefined
      process.off('SIGTERM', onTerm)
    }
    forwardSignal = forward
    process.on('SIGTERM', onTerm)
    child.once('error', (err) => {
      done()
      reject(err)
    })
    child.once('exit', (code, name) => {
      done()
      resolve({ code, signal: name === null ? null : constants.signals[name] })
    })
  })
}

/**
 * TEST SEAM ONLY (AUTHGATE_TEST_PAUSE_AFTER_PREFLIGHT=1; not a setting, never documented for users): the process
 * stops itself between the save's pre-flight and the grant, so a test can break the store (stop the Secret Service)
 * at the one moment the pre-flight cannot see, then continue it with SIGCONT.
 */
async function pauseAfterPreflight(): Promise<void> {
  writeSync(2, `authgate test seam: paused after the pre-flight (pid ${process.pid})\n`)
  process.kill(process.pid, 'SIGSTOP')
}

/** node:os is loaded only when $HOME does not say where home is: loading it is most of a millisecond of start-up. */
function systemDirs(): { config: string; cache: string } {
  return userDirs(process.env, process.platform, () => builtin<typeof import('node:os')>('node:os').homedir())
}

/** Just what `token`'s lean start-up uses. stdout is fd 1 written directly: process.stdout loads the stream modules. */
function fastDeps(): FastDeps {
  return {
    env: process.env,
    cwd: process.cwd(),
    paths: systemDirs(),
    clock: { now: () => Date.now() },
    sleep,
    fetch: (input, init) => globalThis.fetch(input, init),
    oauthFetch,
    pid: process.pid,
    uid: process.geteuid?.(),
    platform: process.platform,
    lockWaiter: 'thread',
    afterPreflight: process.env.AUTHGATE_TEST_PAUSE_AFTER_PREFLIGHT === '1' ? pauseAfterPreflight : undefined,
    // From the full program's bundle (see scripts/build.mjs): only a refresh pays for loading protocol code.
    buildProtocol: async (...args) => (await import('./main.ts')).buildProtocol(...args),
    io: { stdout: { write: writeStdout }, stderr: { write: (text: string) => process.stderr.write(text) } },
  }
}

function writeStdout(text: string): void {
  try {
    writeSync(1, text)
  } catch (err) {
    // A non-blocking pipe that is full: let the stream queue it instead.
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
    process.stdout.write(text)
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(done, ms)
    function done() {
      signal?.removeEventListener('abort', abort)
      resolve()
    }
    function abort() {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    signal?.addEventListener('abort', abort, { once: true })
  })
}

/**
 * Ctrl+C in a terminal signals its whole foreground process group, `exec`'s command included: forwarding that SIGINT
 * would deliver it twice, and tools where a second Ctrl+C means "force" (terraform, docker compose) would force. So
 * a SIGINT is forwarded only when authgate is not in a terminal's foreground group (a `kill`, a CI runner).
 * Linux's /proc/self/stat says so (tpgid = pgrp); elsewhere a terminal on stdin stands for it.
 */
function inTerminalForeground(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const [, , pgrp, , , tpgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return pgrp !== undefined && pgrp === tpgid
  } catch {
    return process.stdin.isTTY === true
  }
}

/**
 * The entry point bin/authgate.js calls. `token` starts lean first, with nothing armed (no signal handler, no stdin):
 * a fresh token is printed in a few ms. Everything else gets the full program, Ctrl+C → exit 130, and an exit that
 * does not wait for stray handles.
 */
export async function run(): Promise<void> {
  const argv = helperArgv(process.argv[1] ?? '', process.argv.slice(2))
  const lean = argv.includes('token') ? await fastToken(argv, fastDeps()) : undefined
  // exit, not return, unless the token was fresh: a lock wait that timed out leaves a waiter thread behind (see
  // lock/kernel-lock.ts), a refresh leaves fetch's keep-alive socket.
  if (lean !== undefined) return lean.fresh ? undefined : process.exit(lean.code)
  const controller = new AbortController()
  const deps = systemDeps(controller.signal)
  let interrupted = false
  process.on('SIGINT', () => {
    if (forwardSignal) return inTerminalForeground() ? undefined : forwardSignal('SIGINT')
    if (interrupted) process.exit(130) // a second Ctrl+C never waits
    interrupted = true
    controller.abort(new Error('interrupted'))
  })
  // A separate bundle (see scripts/build.mjs): `token`'s lean start-up above never parses commander.
  const { main } = await import('./main.ts')
  const code = await main(argv, deps)
  // A lock wait that timed out still has its waiter thread; the answer is known, so do not wait for it.
  process.stdout.write('', () => process.exit(code))
}
