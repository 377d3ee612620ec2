import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import type { CliProcess } from './cli.ts'

/**
 * Real store faults for issue 15: a tmpfs of our own (filled up, or remounted read-only) and another user. They need
 * root, which tests have here and in CI; elsewhere they skip, naming why, and under CI=true a skip is a failure.
 */
export function needsRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true
  const reason = 'needs root (mount -t tmpfs, running the CLI as nobody): run the tests as root, as CI does'
  if (process.env.CI === 'true') throw new Error(`CI=true and this test ${reason}`)
  t.skip(reason)
  return false
}

/** A fresh tmpfs of `sizeKiB`, unmounted and removed after the test. */
export function mountTmpfs(t: TestContext, sizeKiB: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-tmpfs-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0700`, 'tmpfs', dir])
  t.after(() => {
    execFileSync('umount', [dir])
    rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

/** Fills the file system of `dir` to the last byte; returns the filler's path (remove it to free the space). */
export function fillUp(dir: string): string {
  const filler = join(dir, 'filler')
  try {
    writeFileSync(filler, Buffer.alloc(64 * 1024 * 1024))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
  }
  return filler
}

export function remount(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir])
}

/** The names in `dir` (sorted): no temp file may be left behind. */
export function namesIn(dir: string): string[] {
  return readdirSync(dir).sort()
}

/** uid and gid of `nobody`, for spawn's `uid`/`gid`. */
export function nobody(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim())
  return { uid: id('-u'), gid: id('-g') }
}

/**
 * Waits until a CLI run with AUTHGATE_TEST_PAUSE_AFTER_PREFLIGHT=1 has stopped itself: its stderr line comes just
 * before its SIGSTOP, and a SIGCONT sent in between is lost (the CLI then stops for good). Linux's /proc says when.
 */
export async function pausedAfterPreflight(run: CliProcess): Promise<void> {
  await run.waitForStderr(/paused after the pre-flight/)
  for (let waited = 0; waited < 10_000; waited += 5) {
    const stat = readFileSync(`/proc/${run.child.pid}/stat`, 'utf8')
    if ('Tt'.includes(stat.charAt(stat.lastIndexOf(')') + 2))) return
    await delay(5)
  }
  throw new Error(`pid ${run.child.pid} never stopped at the pre-flight test seam`)
}
