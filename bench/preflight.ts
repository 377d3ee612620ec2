import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { sessionKey } from '../src/session-key.ts'
import { createLockFile } from '../src/lock/kernel-lock.ts'
import { getValidTokens } from '../src/session/refresh-engine.ts'
import { prepareSaveOrRefuse, provenOrRefuse, refuseSpent } from '../src/session/preflight.ts'
import type { Protocol } from '../src/session/protocol-types.ts'
import { FileStore } from '../src/stores/file-store.ts'
import { spentMarker } from '../src/stores/spent-marker.ts'
import type { PreparedSave, TokenSet } from '../src/stores/types.ts'
import { memoryContext } from '../test/support/session-context.ts'
import { median, percentile } from './lib/stats.ts'

/**
 * (d) Issue 15's pre-flight, in process on the real file store and kernel lock in the temp dir: what the refresh path
 * now does before its grant (the spent-marker check, the store lock, the re-read, the pre-sized temp file and its
 * flush). The engine starts it before the protocol code loads, and the flush runs on the thread pool meanwhile; so its
 * cost on the refresh path is measured as the engine pays it: the pre-flight with the real protocol bundle
 * (dist/main.cjs, through bin/load-compiled.js as the CLI loads it) against that loading alone, alternating, medians
 * compared. The pre-flight by itself (nothing to overlap, as in the library) and the saves are reported too. The hot
 * path (a fresh token) is run through the engine with the store counting pre-flights: none.
 */
export interface PreflightResult {
  runs: number
  /** median(pre-flight overlapping the protocol's loading) − median(the loading alone). */
  onPathMs: number
  loadAloneMedianMs: number
  withPreflightMedianMs: number
  preflightMedianMs: number
  preflightP90Ms: number
  oldSaveMedianMs: number
  newSaveMedianMs: number
  hotPathRuns: number
  hotPathPreflights: number
}

const ROOT = resolve(import.meta.dirname, '..')
const { loadCompiled } = createRequire(import.meta.url)('../bin/load-compiled.js') as {
  loadCompiled(file: string): unknown
}
const loadProtocolCode = () => void loadCompiled(join(ROOT, 'dist/main.cjs'))

const key = sessionKey('https://auth.example.com', 'bench')
const tokens = (n: number): TokenSet => ({
  accessToken: `${'a'.repeat(800)}${n}`,
  tokenType: 'Bearer',
  refreshToken: `${'r'.repeat(64)}${n}`,
  expiresAtMs: Date.now() + 3_600_000,
  obtainedAtMs: Date.now(),
})

/**
 * Each timing starts after a pause: a refresh follows the last save by minutes, not microseconds, and on ext4 a write
 * right after a rename waits for the journal commit that rename started, which would be charged to the wrong step.
 */
async function timed(run: () => Promise<void>): Promise<number> {
  await delay(25)
  const started = performance.now()
  await run()
  return performance.now() - started
}

export async function runPreflight(runs: number): Promise<PreflightResult> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-bench-preflight-'))
  try {
    const lockFile = createLockFile({ pid: process.pid, sleep: async () => {} })
    const store = new FileStore(join(dir, 'tokens.json'), { lockFile, lockTimeoutMs: 5000, now: () => Date.now() })
    const spent = spentMarker(join(dir, 'session.spent'))
    await store.write(key, tokens(0))
    loadProtocolCode() // the first load pays for the builtins it pulls in, once per process as in the CLI
    const pre: number[] = []
    const oldSave: number[] = []
    const newSave: number[] = []
    const alone: number[] = []
    const overlapped: number[] = []
    for (let i = 1; i <= runs; i++) {
      oldSave.push(await timed(() => store.write(key, tokens(i))))
      // By itself: nothing to overlap the flush with.
      let prepared: PreparedSave | undefined
      const preMs = await timed(async () => {
        await refuseSpent({ store, key, spent }, `${'r'.repeat(64)}${i}`)
        prepared = await prepareSaveOrRefuse(store, key)
        await provenOrRefuse(prepared)
      })
      pre.push(preMs)
      const started = performance.now()
      await prepared!.commit(tokens(i))
      newSave.push(preMs + performance.now() - started)
      // As the engine runs it (refresh-engine.ts refreshAndSave), against the loading alone.
      alone.push(await timed(async () => loadProtocolCode()))
      let onPath: PreparedSave | undefined
      overlapped.push(
        await timed(async () => {
          await refuseSpent({ store, key, spent }, `${'r'.repeat(64)}${i}`)
          onPath = await prepareSaveOrRefuse(store, key)
          loadProtocolCode()
          await provenOrRefuse(onPath)
        }),
      )
      await onPath!.commit(tokens(i))
    }
    return {
      runs,
      onPathMs: median(overlapped) - median(alone),
      loadAloneMedianMs: median(alone),
      withPreflightMedianMs: median(overlapped),
      preflightMedianMs: median(pre),
      preflightP90Ms: percentile(pre, 90),
      oldSaveMedianMs: median(oldSave),
      newSaveMedianMs: median(newSave),
      ...(await hotPath(store, runs)),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A fresh token through the engine, with prepareSave counted: the hot path must never reach it. */
async function hotPath(store: FileStore, runs: number): Promise<{ hotPathRuns: number; hotPathPreflights: number }> {
  let preflights = 0
  const counting = Object.create(store) as FileStore
  counting.prepareSave = async (k) => {
    preflights++
    return store.prepareSave(k)
  }
  const refuse = async (): Promise<never> => {
    throw new Error('the hot path must not refresh')
  }
  const protocol: Protocol = { issuer: refuse, refresh: refuse, identify: refuse }
  const ctx = memoryContext(key, Date.now(), counting, protocol)
  for (let i = 0; i < runs; i++) await getValidTokens(ctx)
  return { hotPathRuns: runs, hotPathPreflights: preflights }
}

export function preflightLines(r: PreflightResult): string[] {
  const f = (v: number) => `${v.toFixed(3)} ms`
  return [
    `pre-flight on the refresh path: +${f(r.onPathMs)} median (the protocol code's loading with the pre-flight overlapping it ${f(r.withPreflightMedianMs)} vs alone ${f(r.loadAloneMedianMs)}, ${r.runs} runs each, alternating) (target ≤ 1 ms median)`,
    `pre-flight by itself (spent check + store lock + re-read + pre-sized temp file + its flush), ${r.runs} runs: median ${f(r.preflightMedianMs)}, p90 ${f(r.preflightP90Ms)}`,
    `save after a refresh: without the pre-flight ${f(r.oldSaveMedianMs)} median, now (pre-flight + commit) ${f(r.newSaveMedianMs)}`,
    `hot path (fresh token), ${r.hotPathRuns} runs through the engine: ${r.hotPathPreflights} pre-flights`,
  ]
}
