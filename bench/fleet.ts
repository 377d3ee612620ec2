import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { sessionKey } from '../src/session-key.ts'
import { startAuthGateServer, type AuthGateTestServer } from '../test/support/authgate-server/index.ts'
import { createCliHome, spawnCli, type CliHome } from '../test/support/cli.ts'
import { holdingProxy, seedExpiredSession } from '../test/support/fleet.ts'
import { advisoryWaiters, readSession, seedSession, TEST_STORE_KEY, type PgServer } from '../test/support/postgres.ts'
import { concurrently, timedRun, type Command } from './lib/processes.ts'
import { startServerProcess, type ServerProcess } from './lib/server-process.ts'
import { median, percentile } from './lib/stats.ts'

/**
 * The fleet section (issue 13): `--token-store postgres` on a real PostgreSQL. (a) a storm of `processes` token
 * commands over `machines` simulated machines (own HOME, XDG dirs and lock dir each, one database) on an expired
 * token against the same fleet on a fresh one; (b) the lock takeover after a SIGKILLed holder, from the kill to the
 * moment PostgreSQL grants the waiter's pg_advisory_lock (polled on a connection of our own); (c) `authgate token`
 * on a fresh token against `node -e 0`, both in a clean environment.
 */

export interface FleetStormRun {
  kind: 'expired' | 'fresh'
  wallMs: number
  refreshGrants: number
  failed: number
}

export interface FleetResult {
  processes: number
  machines: number
  storms: FleetStormRun[]
  stormRatio: number
  takeoverMs: number[]
  hot: { pairs: number; tokenMedianMs: number; nodeMedianMs: number; overMs: number }
}

interface Bench {
  pg: PgServer
  /** The AuthGate double (for the storms a process of its own). */
  server: { readonly url: string; readonly publicClientId: string }
  database: string
  bin: string
}

function machineCommand(b: Bench, home: CliHome, serverUrl: string): Command {
  return {
    argv: [process.execPath, b.bin, 'token'],
    env: {
      ...home.env,
      AUTHGATE_SERVER_URL: serverUrl,
      AUTHGATE_CLIENT_ID: b.server.publicClientId,
      AUTHGATE_TOKEN_STORE: 'postgres',
      AUTHGATE_DATABASE_URL: b.pg.url(b.database),
      AUTHGATE_STORE_KEY: TEST_STORE_KEY,
      AUTHGATE_LOCK_DIR: home.lockDir,
      AUTHGATE_LOCK_TIMEOUT: '120',
    },
    cwd: home.dir,
  }
}

async function stormOnce(
  b: Bench,
  server: ServerProcess,
  homes: CliHome[],
  processes: number,
  kind: FleetStormRun['kind'],
): Promise<FleetStormRun> {
  const commands = Array.from({ length: processes }, (_, i) =>
    machineCommand(b, homes[i % homes.length]!, b.server.url),
  )
  const grantsBefore = (await server.stats()).refreshGrants
  const { wallMs, runs } = await concurrently(commands)
  const failed = runs.filter((r) => r.code !== 0)
  if (failed.length) process.stderr.write(`  ${failed.length} failed, e.g.: ${failed[0]!.stderr.trim()}\n`)
  return { kind, wallMs, refreshGrants: (await server.stats()).refreshGrants - grantsBefore, failed: failed.length }
}

/**
 * Alternates expired and fresh storms, so load on the machine stretches both alike; the ratio is of the medians. The
 * AuthGate double runs in a process of its own (bench/lib/server-child.ts): 200 children's pipes would starve it here.
 */
async function storms(pgServer: PgServer, bin: string, o: FleetOptions): Promise<FleetStormRun[]> {
  const server = await startServerProcess()
  const homes = Array.from({ length: o.machines }, (_, i) => createCliHome(`authgate-bench-fleet-m${i}-`))
  const b: Bench = { pg: pgServer, server, database: await pgServer.createDatabase(), bin }
  try {
    const key = sessionKey(server.url, server.publicClientId)
    const runs: FleetStormRun[] = []
    for (let rep = 0; rep < o.reps; rep++) {
      const nowMs = Date.now()
      const tokens = (await readSession(b.pg, b.database, key)) ?? {
        accessToken: server.issued.access_token,
        tokenType: 'Bearer',
        refreshToken: server.issued.refresh_token,
        obtainedAtMs: nowMs - 3_600_000,
      }
      await seedSession(b.pg, b.database, key, { ...tokens, expiresAtMs: nowMs - 1000 })
      runs.push(await stormOnce(b, server, homes, o.processes, 'expired'))
      runs.push(await stormOnce(b, server, homes, o.processes, 'fresh'))
    }
    return runs
  } finally {
    for (const h of homes) h.remove()
    await server.close()
  }
}

/** One takeover: kill the holder while a waiter blocks in pg_advisory_lock; time until the server grants it. */
async function takeoverOnce(b: Bench, server: AuthGateTestServer, poll: pg.Client): Promise<number> {
  const database = await b.pg.createDatabase()
  const held = await holdingProxy(server.url)
  const homes = [createCliHome('authgate-bench-take-'), createCliHome('authgate-bench-take-')]
  try {
    await seedExpiredSession(server, b.pg, database, held.proxy.url)
    const env = { AUTHGATE_DATABASE_URL: b.pg.url(database), AUTHGATE_STORE_KEY: TEST_STORE_KEY }
    const args = ['token', '--server-url', held.proxy.url, '--client-id', b.server.publicClientId]
    const spawn = (home: CliHome) =>
      spawnCli([...args, '--token-store', 'postgres', '--lock-dir', home.lockDir], { home, env })
    const holder = spawn(homes[0]!)
    await held.arrived
    const waiter = spawn(homes[1]!)
    while ((await advisoryWaiters(b.pg, database)) < 1) await new Promise((r) => setTimeout(r, 5))
    await poll.query(`SELECT 1`) // warm
    const killedAt = performance.now()
    holder.child.kill('SIGKILL')
    const grantedAt = await untilGranted(poll, database)
    held.decide('drop')
    held.relay()
    await Promise.all([holder.exited, waiter.exited])
    return grantedAt - killedAt
  } finally {
    await held.proxy.close()
    for (const h of homes) h.remove()
  }
}

async function untilGranted(poll: pg.Client, database: string): Promise<number> {
  for (;;) {
    const { rows } = await poll.query<{ waiting: number; held: number }>(
      `SELECT count(*) FILTER (WHERE NOT granted)::int AS waiting, count(*) FILTER (WHERE granted)::int AS held
       FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = $1`,
      [database],
    )
    if (rows[0]!.waiting === 0 && rows[0]!.held === 1) return performance.now()
  }
}

async function hotPath(b: Bench, pairs: number): Promise<FleetResult['hot']> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-bench-fleet-hot-'))
  try {
    const serverUrl = 'https://auth.example.com'
    const key = sessionKey(serverUrl, 'bench')
    const nowMs = Date.now()
    await seedSession(b.pg, b.database, key, {
      accessToken: 'a'.repeat(800),
      tokenType: 'Bearer',
      refreshToken: 'r'.repeat(64),
      expiresAtMs: nowMs + 3_600_000,
      obtainedAtMs: nowMs,
    })
    const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }
    const token: Command = {
      argv: [process.execPath, b.bin, 'token'],
      env: {
        ...base,
        AUTHGATE_SERVER_URL: serverUrl,
        AUTHGATE_CLIENT_ID: 'bench',
        AUTHGATE_TOKEN_STORE: 'postgres',
        AUTHGATE_DATABASE_URL: b.pg.url(b.database),
        AUTHGATE_STORE_KEY: TEST_STORE_KEY,
      },
      cwd: dir,
    }
    const node: Command = { argv: [process.execPath, '-e', '0'], env: base, cwd: dir }
    for (let i = 0; i < 3; i++) await Promise.all([timedRun(token), timedRun(node)])
    const tokenMs: number[] = []
    const nodeMs: number[] = []
    for (let i = 0; i < pairs; i++) {
      for (const cmd of i % 2 === 0 ? [token, node] : [node, token]) {
        const run = await timedRun(cmd)
        if (run.code !== 0) throw new Error(`fleet hot path: ${cmd.argv.join(' ')} failed: ${run.stderr}`)
        ;(cmd === token ? tokenMs : nodeMs).push(run.ms)
      }
    }
    const tokenMedianMs = median(tokenMs)
    const nodeMedianMs = median(nodeMs)
    return { pairs, tokenMedianMs, nodeMedianMs, overMs: tokenMedianMs - nodeMedianMs }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface FleetOptions {
  processes: number
  machines: number
  reps: number
  takeovers: number
  pairs: number
}

export async function runFleet(
  pgServer: PgServer,
  bin: string,
  o: FleetOptions,
  log: (line: string) => void,
): Promise<FleetResult> {
  const runs = await storms(pgServer, bin, o)
  for (const r of runs)
    log(`  ${r.kind}: wall ${(r.wallMs / 1000).toFixed(2)} s, ${r.refreshGrants} grants, ${r.failed} failed`)
  // Totals over the alternating repetitions: with two of each, a nearest-rank median would keep only the faster one.
  const wall = (kind: string) => runs.filter((r) => r.kind === kind).reduce((sum, r) => sum + r.wallMs, 0)
  const server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })
  const b: Bench = { pg: pgServer, server, database: await pgServer.createDatabase(), bin }
  const poll = new pg.Client({ connectionString: pgServer.url() })
  await poll.connect()
  try {
    const takeoverMs: number[] = []
    for (let i = 0; i < o.takeovers; i++) takeoverMs.push(await takeoverOnce(b, server, poll))
    log(
      `  takeover after SIGKILL: median ${median(takeoverMs).toFixed(1)} ms, p90 ${percentile(takeoverMs, 90).toFixed(1)} ms`,
    )
    const hot = await hotPath(b, o.pairs)
    log(`  token (fresh, postgres) ${hot.tokenMedianMs.toFixed(1)} ms vs node -e 0 ${hot.nodeMedianMs.toFixed(1)} ms`)
    const stormRatio = wall('expired') / wall('fresh')
    return { processes: o.processes, machines: o.machines, storms: runs, stormRatio, takeoverMs, hot }
  } finally {
    await poll.end()
    await server.close()
  }
}

export function fleetMarkdown(r: FleetResult): string {
  const walls = (kind: string) =>
    r.storms
      .filter((s) => s.kind === kind)
      .map((s) => `${(s.wallMs / 1000).toFixed(2)} s`)
      .join(', ')
  const grants = r.storms.filter((s) => s.kind === 'expired').map((s) => s.refreshGrants)
  const failed = r.storms.reduce((n, s) => n + s.failed, 0)
  return [
    '| fleet figure | measured | target |',
    '|---|---|---|',
    `| storm: ${r.processes} processes on ${r.machines} machines, expired vs fresh (wall of each run, alternating; ratio of the totals) | ${walls('expired')} vs ${walls('fresh')} = **${r.stormRatio.toFixed(2)}×** | ≤ 1.3× |`,
    `| refresh grants per expired storm | ${grants.join(', ')} | 1 |`,
    `| failed processes (all storms) | ${failed} | 0 |`,
    `| takeover after SIGKILL of the holder (${r.takeoverMs.length} runs) | median **${median(r.takeoverMs).toFixed(1)} ms**, p90 ${percentile(r.takeoverMs, 90).toFixed(1)} ms | ≤ 50 ms |`,
    `| \`authgate token\` fresh (postgres) vs \`node -e 0\` (median of ${r.hot.pairs} pairs) | ${r.hot.tokenMedianMs.toFixed(1)} ms vs ${r.hot.nodeMedianMs.toFixed(1)} ms = **+${r.hot.overMs.toFixed(1)} ms** | ≤ +20 ms |`,
  ].join('\n')
}
