import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { median, percentile } from './lib/stats.ts'

/**
 * (c) Lock hand-off between processes: the time from the holder letting go (a release, or SIGKILL) to the waiter
 * holding the lock, both read from CLOCK_MONOTONIC, which all processes share. Ours is the kernel lock of
 * src/lock/kernel-lock.ts in both waiter modes ('thread', which the CLI uses, and 'process', the library default);
 * the comparison is proper-lockfile with the options popular CLIs use.
 */

export type LockMode = 'thread' | 'process' | 'proper-lockfile' | 'proper-lockfile-patient'

interface Event {
  event: 'waiting' | 'acquired' | 'released' | 'failed'
  t: string
  message?: string
}

class Worker {
  readonly child: ChildProcess
  readonly #events: Event[] = []
  readonly #wake = new Set<() => void>()
  readonly exited: Promise<void>

  constructor(script: string, mode: LockMode, lockPath: string) {
    this.child = spawn(process.execPath, [script, mode, lockPath], { stdio: ['pipe', 'pipe', 'inherit'] })
    let buffer = ''
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk
      const lines = buffer.split('\n')
      buffer = lines.pop()!
      for (const line of lines) this.#events.push(JSON.parse(line) as Event)
      for (const wake of this.#wake) wake()
    })
    this.exited = new Promise((resolve) =>
      this.child.once('close', () => {
        for (const wake of this.#wake) wake()
        resolve()
      }),
    )
  }

  send(command: 'lock' | 'release'): void {
    this.child.stdin!.write(`${command}\n`)
  }

  /** The next event of one of these kinds, consumed. */
  next(...kinds: Event['event'][]): Promise<Event> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.#events.findIndex((e) => kinds.includes(e.event))
        if (index >= 0) {
          this.#wake.delete(check)
          resolve(this.#events.splice(index, 1)[0]!)
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          this.#wake.delete(check)
          reject(new Error(`lock worker ended while waiting for ${kinds.join('/')}`))
        }
      }
      this.#wake.add(check)
      check()
    })
  }

  stop(): void {
    this.child.kill('SIGKILL')
  }
}

const elapsedMs = (from: string | bigint, to: string): number => Number(BigInt(to) - BigInt(from)) / 1e6

export interface HandoffResult {
  mode: LockMode
  kind: 'release' | 'SIGKILL'
  samples: number[]
  medianMs: number
  p99Ms: number
  /** Waiters that gave up (proper-lockfile's retries ran out) instead of taking the lock. */
  gaveUp: number
}

function summarise(mode: LockMode, kind: HandoffResult['kind'], samples: number[], gaveUp = 0): HandoffResult {
  return { mode, kind, samples, medianMs: median(samples), p99Ms: percentile(samples, 99), gaveUp }
}

/**
 * Two long-lived processes pass the lock back and forth. `settleMs` lets the waiter reach its blocking wait before the
 * holder lets go (a 'process' waiter forks a child first), so the figure is the hand-off, not the waiter's start-up.
 */
export async function releaseHandoff(
  script: string,
  mode: LockMode,
  samples: number,
  settleMs: number,
): Promise<HandoffResult> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-bench-lock-'))
  const lockPath = join(dir, 'session.lock')
  const pair = [new Worker(script, mode, lockPath), new Worker(script, mode, lockPath)]
  try {
    pair[0]!.send('lock')
    await pair[0]!.next('acquired')
    const out: number[] = []
    for (let i = 0; i < samples; i++) {
      const [holder, waiter] = i % 2 === 0 ? [pair[0]!, pair[1]!] : [pair[1]!, pair[0]!]
      waiter.send('lock')
      await waiter.next('waiting')
      await delay(settleMs)
      holder.send('release')
      const released = await holder.next('released')
      const acquired = await waiter.next('acquired', 'failed')
      if (acquired.event === 'failed') throw new Error(`${mode}: the waiter failed: ${acquired.message}`)
      out.push(elapsedMs(released.t, acquired.t))
    }
    return summarise(mode, 'release', out)
  } finally {
    for (const worker of pair) worker.stop()
    await Promise.all(pair.map((w) => w.exited))
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A fresh holder per sample is SIGKILLed while a waiter blocks; the clock starts just before the kill. */
export async function killHandoff(
  script: string,
  mode: LockMode,
  samples: number,
  settleMs: number,
): Promise<HandoffResult> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-bench-kill-'))
  const lockPath = join(dir, 'session.lock')
  const waiter = new Worker(script, mode, lockPath)
  const out: number[] = []
  let gaveUp = 0
  try {
    for (let i = 0; i < samples; i++) {
      const holder = new Worker(script, mode, lockPath)
      holder.send('lock')
      await holder.next('acquired')
      waiter.send('lock')
      await waiter.next('waiting')
      await delay(settleMs)
      const killedAt = process.hrtime.bigint()
      holder.stop()
      const acquired = await waiter.next('acquired', 'failed')
      await holder.exited
      if (acquired.event === 'failed') gaveUp++
      else {
        out.push(elapsedMs(killedAt, acquired.t))
        waiter.send('release')
        await waiter.next('released')
      }
    }
    return summarise(mode, 'SIGKILL', out, gaveUp)
  } finally {
    waiter.stop()
    await waiter.exited
    rmSync(dir, { recursive: true, force: true })
  }
}

/** proper-lockfile's takeover needs the stale window (seconds): independent locks in parallel keep the bench short. */
export async function parallel(count: number, run: () => Promise<HandoffResult>): Promise<HandoffResult> {
  const results = await Promise.all(Array.from({ length: count }, run))
  const first = results[0]!
  return summarise(
    first.mode,
    first.kind,
    results.flatMap((r) => r.samples),
    results.reduce((sum, r) => sum + r.gaveUp, 0),
  )
}
