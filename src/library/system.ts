import { homedir } from 'node:os'
import { Readable } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import { userDirs } from '../config/user-dirs.ts'
import type { Deps } from '../session/deps.ts'
import { openBrowser } from '../loopback/open-browser.ts'
import type { ClientOptions } from './options.ts'

/**
 * The library's real edges, the counterpart of cli/system.ts and, with it, the only code under src/ allowed to touch
 * `process`, the clock, timers and the global fetch. Unlike the CLI it never prints (the streams are inert), never
 * reads stdin, reads no environment but the `env` it is given, and waits on contended locks in a child process that
 * can be killed, since a library cannot end its host with process.exit.
 */
export function libraryDeps(options: ClientOptions): Deps {
  return {
    clock: { now: () => Date.now() },
    sleep: (ms, signal) => delay(ms, undefined, { signal }),
    // The default reads globalThis.fetch at call time, so an application's own instrumentation of it applies.
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    env: options.env ?? {},
    io: {
      stdout: { write: () => true },
      stderr: { write: () => true },
      stdin: Readable.from([]),
      isStdoutTTY: false,
      isStderrTTY: false,
      isStdinTTY: false,
    },
    browser: { open: openBrowser },
    paths: { config: options.configDir ?? systemDirs().config, cache: options.cacheDir ?? systemDirs().cache },
    cwd: options.cwd ?? process.cwd(),
    pid: process.pid,
    uid: process.geteuid?.(),
    platform: process.platform,
    lockWaiter: 'process',
    signal: options.signal,
  }
}

/** The same directories as the CLI, so a library client and `authgate login` share their sessions. */
function systemDirs(): { config: string; cache: string } {
  return userDirs(process.env, process.platform, homedir)
}
