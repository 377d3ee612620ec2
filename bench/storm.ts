import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readTokenEntry, sessionAccount, writeTokenFile } from '../test/support/tokens.ts'
import { concurrently, type Command } from './lib/processes.ts'
import { startServerProcess } from './lib/server-process.ts'
import { median, percentile } from './lib/stats.ts'

/**
 * (a) The refresh storm: N processes start at once on one expired session against the AuthGate test server in
 * rotation mode (reuse detection on, rate limit off), in a process of its own (bench/lib/server-child.ts). Every strategy gets a server, a session and a token file of
 * its own, and a baseline: the same N processes of the same program with a valid token, which is the cost of
 * starting N processes on this machine. The storm's overhead ratio is its wall time over that baseline's.
 */

export type Strategy = 'authgate' | 'proper-lockfile' | 'none'
export const STRATEGIES: readonly Strategy[] = ['authgate', 'proper-lockfile', 'none']

export interface StormResult {
  strategy: Strategy
  n: number
  refreshGrants: number
  invalidGrants: number
  /** Reuse detections at the server: each one revokes the whole grant. */
  reuseDetections: number
  /** The session is gone (revoked, or deleted after invalid_grant): the person must sign in again. */
  forcedRelogin: boolean
  failed: number
  distinctTokens: number
  wallMs: number
  p50Ms: number
  p99Ms: number
  baselineWallMs: number
  ratio: number
  /** First stderr line of a failed process, to say why. */
  sampleError: string | undefined
}

export interface StormPaths {
  root: string
  bin: string
  client: string
}

function command(
  strategy: Strategy,
  paths: StormPaths,
  dir: string,
  serverUrl: string,
  clientId: string,
  tokenFile: string,
): Command {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }
  if (strategy === 'authgate') {
    const argv = [
      process.execPath,
      paths.bin,
      'token',
      '--server-url',
      serverUrl,
      '--client-id',
      clientId,
      '--token-store',
      'file',
      '--token-file',
      tokenFile,
      '--lock-dir',
      join(dir, 'locks'),
    ]
    return { argv, env, cwd: dir }
  }
  return { argv: [process.execPath, paths.client, strategy, tokenFile, serverUrl, clientId], env, cwd: dir }
}

export async function runStorm(strategy: Strategy, n: number, paths: StormPaths): Promise<StormResult> {
  const dir = mkdtempSync(join(tmpdir(), `authgate-bench-${strategy}-`))
  const server = await startServerProcess()
  try {
    const clientId = server.publicClientId
    const key = sessionAccount(server.url, clientId)
    const tokenFile = join(dir, 'tokens.json')
    const cmd = command(strategy, paths, dir, server.url, clientId, tokenFile)
    const issued = server.issued

    writeTokenFile(tokenFile, key, issued) // valid: the baseline
    const baseline = await concurrently(Array.from({ length: n }, () => cmd))
    const baselineFailed = baseline.runs.filter((r) => r.code !== 0)
    if (baselineFailed.length)
      throw new Error(`${strategy}: the valid-token baseline failed: ${baselineFailed[0]!.stderr}`)

    writeTokenFile(tokenFile, key, issued, { expired: true })
    const before = await server.stats()
    const storm = await concurrently(Array.from({ length: n }, () => cmd))
    const failedRuns = storm.runs.filter((r) => r.code !== 0)
    const stored = safeEntry(tokenFile, key)
    const alive = stored?.refresh_token !== undefined && (await server.isTokenActive(stored.refresh_token))
    const after = await server.stats()
    const times = storm.runs.map((r) => r.ms)
    return {
      strategy,
      n,
      refreshGrants: after.refreshGrants - before.refreshGrants,
      invalidGrants: after.invalidGrants - before.invalidGrants,
      reuseDetections: after.familyRevocations - before.familyRevocations,
      forcedRelogin: !alive,
      failed: failedRuns.length,
      distinctTokens: new Set(storm.runs.filter((r) => r.code === 0).map((r) => r.stdout)).size,
      wallMs: storm.wallMs,
      p50Ms: median(times),
      p99Ms: percentile(times, 99),
      baselineWallMs: baseline.wallMs,
      ratio: storm.wallMs / baseline.wallMs,
      sampleError: failedRuns[0]?.stderr.split('\n')[0],
    }
  } finally {
    await server.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

function safeEntry(path: string, key: string): Record<string, string> | undefined {
  try {
    return readTokenEntry(path, key)
  } catch {
    return undefined
  }
}
