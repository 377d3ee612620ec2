import assert from 'node:assert/strict'
import {
  chmodSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { scheduler } from 'node:timers/promises'
import { after, describe, test } from 'node:test'
import { sessionKey } from '../session-key.ts'
import { InterruptedError, StoreError, TemporaryError } from '../errors.ts'
import { createLockFile } from './kernel-lock.ts'
import { sessionLockPath } from '../session-key.ts'

const root = mkdtempSync(join(tmpdir(), 'authgate-kernel-lock-'))
after(() => rmSync(root, { recursive: true, force: true }))
let counter = 0
const freshDir = () => join(root, `case-${++counter}`)

// scheduler.wait, not the timer global: src/ is grepped for it, tests included.
const delay = (ms: number, signal?: AbortSignal) => scheduler.wait(ms, signal ? { signal } : {})
const realSleep = delay
/** Times out at once, so that a timeout test waits on nothing but the worker's start. */
const instantSleep = async () => {}
const lockFile = createLockFile({ pid: 4242, sleep: realSleep, platform: 'linux' })

describe('sessionLockPath', () => {
  test('is <lock dir>/<session hash>.lock, absolute, whatever the client id holds', () => {
    const key = sessionKey('https://auth.example.com', '../../etc/passwd')
    assert.equal(sessionLockPath('/var/locks', key), `/var/locks/${key.hash}.lock`)
    assert.match(sessionLockPath('relative/dir', key), /^\/.+\/relative\/dir\/[0-9a-f]{64}\.lock$/)
  })
})

describe('createLockFile', () => {
  test('the opener itself refuses links, foreign files and shared directories; the victim stays byte for byte', async () => {
    const uid = statSync(root).uid
    const strict = createLockFile({ pid: 4242, uid, sleep: realSleep, platform: 'linux' })
    const cases: Array<{ name: string; plant: (dir: string, lock: string, victim: string) => void; want: RegExp }> = [
      { name: 'symlink', plant: (_d, lock, victim) => symlinkSync(victim, lock), want: /symbolic link/ },
      { name: 'hard link', plant: (_d, lock, victim) => linkSync(victim, lock), want: /2 links/ },
      { name: 'a directory', plant: (_d, lock) => mkdirSync(lock), want: /not a regular file|EISDIR/ },
      { name: 'group-writable dir', plant: (dir) => chmodSync(dir, 0o770), want: /refusing to use the directory/ },
      { name: 'foreign owner', plant: () => {}, want: /belongs to uid/ },
    ]
    for (const c of cases) {
      const dir = freshDir()
      mkdirSync(dir, { mode: 0o700 })
      const victim = join(root, `victim-${counter}`)
      writeFileSync(victim, 'precious')
      const lock = join(dir, 'x.lock')
      c.plant(dir, lock, victim)
      const opener = c.name === 'foreign owner' ? createLockFile({ pid: 1, uid: uid + 1, sleep: realSleep }) : strict
      await assert.rejects(
        opener(lock, { timeoutMs: 0 }),
        (e: unknown) => e instanceof StoreError && c.want.test(e.message),
        c.name,
      )
      assert.equal(readFileSync(victim, 'utf8'), 'precious', c.name)
    }
  })

  test('creates a 0700 directory and a 0600 lock file holding the pid', async () => {
    const path = join(freshDir(), 'nested', 'a.lock')
    const handle = await lockFile(path, { timeoutMs: 1000 })
    assert.equal(handle.path, path)
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700)
    assert.equal(statSync(path).mode & 0o777, 0o600)
    // Right-aligned in 10 columns and never truncated, so a lock is an overwrite in place (kernel-lock.ts stampHolder).
    assert.equal(readFileSync(path, 'utf8'), '      4242\n')
    handle.release()
  })

  test('an already aborted signal is an InterruptedError even when the lock is free', async () => {
    const path = join(freshDir(), 'g.lock')
    await assert.rejects(lockFile(path, { timeoutMs: 1000, signal: AbortSignal.abort() }), InterruptedError)
    const handle = await lockFile(path, { timeoutMs: 1000 })
    handle.release()
  })

  test('release is idempotent and never throws', async () => {
    const path = join(freshDir(), 'h.lock')
    const handle = await lockFile(path, { timeoutMs: 1000 })
    handle.release()
    handle.release()
    const again = await lockFile(path, { timeoutMs: 1000 })
    again.release()
  })

  test('a lock directory that cannot be created is a StoreError naming it', async () => {
    const blocker = join(freshDir(), 'not-a-dir')
    await lockFile(join(blocker, 'x.lock'), { timeoutMs: 1000 }).then((h) => h.release())
    const lockDir = join(blocker, 'x.lock', 'locks')
    await assert.rejects(lockFile(join(lockDir, 'y.lock'), { timeoutMs: 1000 }), (error: unknown) => {
      assert.ok(error instanceof StoreError)
      assert.ok(error.message.startsWith(`cannot create the lock directory ${lockDir}:`), error.message)
      return true
    })
  })

  test('a bad timeout is a TypeError', async () => {
    await assert.rejects(lockFile(join(freshDir(), 'i.lock'), { timeoutMs: Number.NaN }), TypeError)
  })
})

// 'linux' waits in a child process (every POSIX system), 'win32' on a thread; both run on any OS, so both are tested.
for (const platform of ['linux', 'win32'] as const) {
  describe(`waiting for a held lock (${platform} waiter)`, () => {
    const waitingLock = createLockFile({ pid: 4242, sleep: realSleep, platform })
    test('a second holder in the same process waits until the first releases', async () => {
      const path = join(freshDir(), 'b.lock')
      const first = await waitingLock(path, { timeoutMs: 1000 })
      let secondAcquired = false
      const second = waitingLock(path, { timeoutMs: 10_000 }).then((handle) => {
        secondAcquired = true
        return handle
      })
      await delay(200)
      assert.equal(secondAcquired, false, 'acquired while the first holder still held the lock')
      first.release()
      ;(await second).release()
      assert.equal(secondAcquired, true)
    })

    test('a lock the waiter was granted stays ours once the waiter is gone, until we release it', async () => {
      const path = join(freshDir(), 'g.lock')
      const first = await waitingLock(path, { timeoutMs: 1000 })
      const second = waitingLock(path, { timeoutMs: 10_000 })
      await delay(100)
      first.release()
      const held = await second
      await delay(300) // the child waiter has exited by now: the open file description still holds the lock
      await assert.rejects(waitingLock(path, { timeoutMs: 0 }), TemporaryError)
      held.release()
      ;(await waitingLock(path, { timeoutMs: 0 })).release()
    })

    test('times out with a TemporaryError naming the lock file and the holder pid', async () => {
      const path = join(freshDir(), 'c.lock')
      const holder = await createLockFile({ pid: 777, sleep: realSleep, platform })(path, { timeoutMs: 1000 })
      const impatient = createLockFile({ pid: 1, sleep: instantSleep, platform })
      await assert.rejects(impatient(path, { timeoutMs: 2500 }), (error: unknown) => {
        assert.ok(error instanceof TemporaryError)
        assert.equal(error.exitCode, 5)
        assert.equal(error.message, `timed out after 2.5s waiting for the lock ${path} (held by pid 777)`)
        return true
      })
      holder.release()
    })

    test('a waiter that gave up frees the lock as soon as the kernel grants it', async () => {
      const path = join(freshDir(), 'd.lock')
      const holder = await waitingLock(path, { timeoutMs: 1000 })
      const impatient = createLockFile({ pid: 1, sleep: instantSleep, platform })
      await assert.rejects(impatient(path, { timeoutMs: 0 }), TemporaryError)
      holder.release()
      // The abandoned waiter now gets the lock and must let go of it, or this times out.
      const next = await waitingLock(path, { timeoutMs: 10_000 })
      assert.equal(readFileSync(path, 'utf8').trim(), '4242')
      next.release()
    })

    test('says "another process" when the holder wrote no pid', async () => {
      const path = join(freshDir(), 'e.lock')
      const holder = await waitingLock(path, { timeoutMs: 1000 })
      writeFileSync(path, '')
      const impatient = createLockFile({ pid: 1, sleep: instantSleep, platform })
      await assert.rejects(impatient(path, { timeoutMs: 1000 }), /\(held by another process\)$/)
      holder.release()
    })

    test('an abort while waiting is an InterruptedError', async () => {
      const path = join(freshDir(), 'f.lock')
      const holder = await waitingLock(path, { timeoutMs: 1000 })
      const controller = new AbortController()
      const waiting = waitingLock(path, { timeoutMs: 60_000, signal: controller.signal })
      await delay(50)
      controller.abort()
      await assert.rejects(
        waiting,
        (error: unknown) => error instanceof InterruptedError && error.message.includes(path),
      )
      holder.release()
    })
  })
}
