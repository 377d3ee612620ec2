// node worker.mjs <thread|process|proper-lockfile|proper-lockfile-patient> <lock path>
// One side of a lock hand-off. Reads commands on stdin, one per line, and answers one JSON line each on stdout:
//   lock    → {"event":"waiting"} at once, then {"event":"acquired","t":<ns>} (or {"event":"failed",…})
//   release → {"event":"released","t":<ns>}, t read just before the release
// Times are process.hrtime (CLOCK_MONOTONIC), which is one clock for every process of the machine, so the parent can
// subtract a release time in one process from an acquire time in another.
import lockfile from 'proper-lockfile'
import { createInterface } from 'node:readline'
import { setTimeout as delay } from 'node:timers/promises'
import { createLockFile } from '../../src/lock/kernel-lock.ts'
import { POPULAR_LOCK_OPTIONS } from '../strategies/options.ts'

const [mode, lockPath] = process.argv.slice(2) as [
  'thread' | 'process' | 'proper-lockfile' | 'proper-lockfile-patient',
  string,
]
const now = () => process.hrtime.bigint().toString()
const say = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`)

const kernelLock = createLockFile({
  pid: process.pid,
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}),
  waiter: mode === 'process' ? 'process' : 'thread',
})

async function acquire(): Promise<() => unknown> {
  if (mode === 'proper-lockfile') return lockfile.lock(lockPath, { ...POPULAR_LOCK_OPTIONS, realpath: false })
  if (mode === 'proper-lockfile-patient') {
    // The same delays, but retrying long enough to see when a dead holder's lock is taken over at all.
    const retries = { ...POPULAR_LOCK_OPTIONS.retries, retries: 100 }
    return lockfile.lock(lockPath, { ...POPULAR_LOCK_OPTIONS, retries, realpath: false })
  }
  const handle = await kernelLock(lockPath, { timeoutMs: 60_000 })
  return () => handle.release()
}

let release: (() => unknown) | undefined
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'lock') {
    const pending = acquire()
    say({ event: 'waiting' })
    try {
      release = await pending
      say({ event: 'acquired', t: now() })
    } catch (error) {
      say({ event: 'failed', t: now(), message: (error as Error).message })
    }
  } else if (line === 'release') {
    const t = now()
    await release?.()
    release = undefined
    say({ event: 'released', t })
  }
}
process.exit(0)
