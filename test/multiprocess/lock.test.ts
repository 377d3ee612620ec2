import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { after, describe, test } from 'node:test'
import { killAll, startFixture } from './fixtures/child.ts'

// Real processes and the real kernel lock. Sized for 2 cores; nothing here asserts how fast anything is: the bounds
// are hang guards, far above what a slow machine needs.
const root = mkdtempSync(join(tmpdir(), 'authgate-mp-lock-'))
after(() => {
  killAll()
  rmSync(root, { recursive: true, force: true })
})

describe('kernel lock across processes', { timeout: 180_000 }, () => {
  test('8 processes × 25 locked read-increment-write cycles lose no increment', async () => {
    const lockPath = join(root, 'counter', 'counter.lock')
    const counterPath = join(root, 'counter.txt')
    writeFileSync(counterPath, '0')
    const children = Array.from({ length: 8 }, () => startFixture('lock-counter', [lockPath, counterPath, '25']))
    const exits = await Promise.all(children.map((child) => child.exited))
    for (const exit of exits) assert.equal(exit.code, 0, exit.stderr)
    assert.equal(readFileSync(counterPath, 'utf8'), '200')
  })

  test('a SIGKILLed holder frees the lock for a waiter, well before its 10 s timeout', async () => {
    const lockPath = join(root, 'killed', 'session.lock')
    const holder = startFixture('lock-hold', [lockPath])
    await holder.next((r) => r.locked)
    const waiter = startFixture('lock-wait', [lockPath, '10000'])
    await waiter.next((r) => r.waiting)
    await delay(300)
    assert.equal(
      waiter.reports.length,
      1,
      `the waiter got an answer while the holder lived: ${JSON.stringify(waiter.reports)}`,
    )
    holder.process.kill('SIGKILL')
    const outcome = await waiter.next((r) => r.acquired || r.error)
    assert.deepEqual(outcome, { acquired: true })
    assert.equal((await waiter.exited).code, 0)
  })

  test('a timed-out waiter names the lock and the holder pid, exits 5, and exits by itself', async () => {
    const lockPath = join(root, 'busy', 'session.lock')
    const holder = startFixture('lock-hold', [lockPath])
    const { pid } = await holder.next((r) => r.locked)
    const waiter = startFixture('lock-wait', [lockPath, '1000'])
    const outcome = await waiter.next((r) => r.acquired || r.error)
    assert.deepEqual(outcome.error, {
      name: 'TemporaryError',
      code: 'AUTHGATE_TEMPORARY',
      message: `timed out after 1s waiting for the lock ${lockPath} (held by pid ${pid})`,
    })
    // The holder never lets go, so the waiter can only exit if the wait it abandoned does not keep it alive. The
    // 30 s bound is a hang guard that turns a hang into a clear failure, not a measure of speed.
    const exit = await Promise.race([waiter.exited, delay(30_000, undefined, { ref: false })])
    assert.ok(exit, 'the waiter still ran 30 s after it timed out: the abandoned wait keeps it alive')
    assert.equal(exit.code, 5, exit.stderr)
    assert.equal(holder.process.exitCode, null, 'the holder ended, which could have let the waiter go')
    assert.equal(holder.process.signalCode, null)
    holder.process.kill('SIGKILL')
  })
})
