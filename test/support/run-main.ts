import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { main } from '../../src/cli/main.ts'
import type { Deps } from '../../src/session/deps.ts'

export interface MainResult {
  code: number
  stdout: string
  stderr: string
}

/** Temp config/cache dirs and a cwd with no .env: a clean machine for one test. */
export function tempHome(): { config: string; cache: string; cwd: string; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'authgate-it-'))
  return { root, config: join(root, 'config', 'authgate'), cache: join(root, 'cache', 'authgate'), cwd: root }
}

/**
 * Runs the whole CLI in-process with real fetch, real files and the real kernel lock; only the streams, env and
 * directories are test-owned (STYLE: the whole app runs with only the edges faked).
 */
export async function runMain(
  argv: string[],
  home: ReturnType<typeof tempHome>,
  over: Partial<Deps> = {},
): Promise<MainResult> {
  let stdout = ''
  let stderr = ''
  const deps: Deps = {
    clock: { now: () => Date.now() },
    sleep: (ms, signal) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(resolve, ms)
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(t)
            reject(signal.reason)
          },
          { once: true },
        )
      }),
    fetch: (input, init) => globalThis.fetch(input, init),
    env: {},
    io: {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      stdin: new PassThrough(),
      isStdoutTTY: false,
      isStderrTTY: false,
      isStdinTTY: false,
    },
    browser: {
      open: async () => {
        throw new Error('no browser in this test')
      },
    },
    paths: { config: home.config, cache: home.cache },
    cwd: home.cwd,
    pid: process.pid,
    platform: process.platform,
    lockWaiter: 'thread',
    ...over,
  }
  const code = await main(argv, deps)
  return { code, stdout, stderr }
}
