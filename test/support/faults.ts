import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'

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
