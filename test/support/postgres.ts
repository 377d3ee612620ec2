import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before } from 'node:test'
import pg from 'pg'
import type { SessionKey } from '../../src/session-key.ts'
import { PostgresStore } from '../../src/stores/postgres-store.ts'
import { killAllClis, requireBuild } from './cli.ts'
import type { TokenSet } from '../../src/stores/types.ts'

/**
 * A real PostgreSQL for the fleet tests: Debian's `postgresql` package (`.ci/run` installs it), a fresh cluster made
 * by initdb in a temp dir, listening on a free 127.0.0.1 port. PostgreSQL refuses to run as root, so as root the
 * cluster belongs to the `postgres` user (else `nobody`) and every server command runs through `runuser`.
 * Every statement is logged (log_statement=all, with its bound parameters), so tests can show no token reaches a log.
 */
export interface PgServer {
  readonly port: number
  readonly logFile: string
  url(database?: string): string
  /** A fresh database of its own, so tests never see each other's rows. */
  createDatabase(): Promise<string>
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    database: string,
    sql: string,
    values?: unknown[],
  ): Promise<R[]>
  log(): string
  stop(): void
}

export const PG_INSTALL = 'apt-get install postgresql'

/** The newest /usr/lib/postgresql/<major>/bin, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const majors = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  return majors[0] === undefined ? undefined : join(root, majors[0], 'bin')
}

/** undefined (after skipping the test) when PostgreSQL is not installed; under CI=true that is a failure instead. */
export function requirePostgres(t: { skip(message: string): void }): string | undefined {
  const bin = postgresBinDir()
  if (bin !== undefined) return bin
  const why = `PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): ${PG_INSTALL}`
  if (process.env.CI === 'true') assert.fail(`${why} (CI=true: the postgres store tests must run)`)
  t.skip(why)
  return undefined
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const port = (server.address() as { port: number }).port
  await new Promise((done) => server.close(done))
  return port
}

/** The non-root user the cluster runs as when we are root. */
function serverUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }))
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }))
      return { name, uid, gid }
    } catch {
      // no such user: try the next
    }
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists: PostgreSQL refuses root')
}

export async function startPostgres(bin: string, options: { maxConnections?: number } = {}): Promise<PgServer> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-pg-'))
  const user = serverUser()
  if (user) chownSync(dir, user.uid, user.gid)
  const run = (tool: string, args: string[]) => {
    const [cmd, argv] = user ? ['runuser', ['-u', user.name, '--', join(bin, tool), ...args]] : [join(bin, tool), args]
    execFileSync(cmd, argv, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 })
  }
  const data = join(dir, 'data')
  const logFile = join(dir, 'server.log')
  run('initdb', ['-D', data, '-U', 'authgate', '--auth=trust', '--no-sync', '-E', 'UTF8'])
  const port = await freePort()
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses='127.0.0.1'",
    `-c max_connections=${options.maxConnections ?? 300}`,
    '-c fsync=off',
    '-c shared_buffers=16MB',
    '-c log_statement=all',
  ].join(' ')
  run('pg_ctl', ['-D', data, '-l', logFile, '-o', settings, '-w', '-t', '60', 'start'])
  const url = (database = 'postgres') => `postgres://authgate@127.0.0.1:${port}/${database}`
  let databases = 0
  const query = async <R extends pg.QueryResultRow>(database: string, sql: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url(database) })
    await client.connect()
    try {
      return (await client.query<R>(sql, values)).rows
    } finally {
      await client.end()
    }
  }
  return {
    port,
    logFile,
    url,
    query,
    async createDatabase() {
      const name = `t${process.pid}_${++databases}`
      await query('postgres', `CREATE DATABASE ${name}`)
      return name
    },
    log: () => readFileSync(logFile, 'utf8'),
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}

/** The authgate process holding the session's advisory lock, read back from its application_name. */
export async function advisoryHolder(
  server: PgServer,
  database: string,
): Promise<{ pid: number; backendPid: number } | undefined> {
  const rows = await server.query<{ pid: number; application_name: string }>(
    database,
    `SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1`,
  )
  const m = /pid=(\d+)/.exec(rows[0]?.application_name ?? '')
  return m && rows[0] ? { pid: Number(m[1]), backendPid: rows[0].pid } : undefined
}

/** A fleet's store key, as `AUTHGATE_STORE_KEY` takes it. */
export const TEST_STORE_KEY = Buffer.alloc(32, 7).toString('base64')

function storeFor(server: PgServer, database: string, storeKey: string): PostgresStore {
  return new PostgresStore({
    databaseUrl: server.url(database),
    env: {},
    pid: process.pid,
    timeoutMs: 10_000,
    storeKey: Buffer.from(storeKey, 'base64'),
  })
}

/** Writes a session row the way authgate does (under the advisory lock, sealed with `storeKey`), then disconnects. */
export async function seedSession(
  server: PgServer,
  database: string,
  key: SessionKey,
  tokens: TokenSet,
  storeKey = TEST_STORE_KEY,
): Promise<void> {
  const store = storeFor(server, database, storeKey)
  const lock = await store.lock(key, { timeoutMs: 10_000 })
  try {
    await store.write(key, tokens)
  } finally {
    lock.release()
    store.close()
  }
}

/** Reads the session the way authgate does. */
export async function readSession(
  server: PgServer,
  database: string,
  key: SessionKey,
  storeKey = TEST_STORE_KEY,
): Promise<TokenSet | undefined> {
  const store = storeFor(server, database, storeKey)
  try {
    return await store.read(key)
  } finally {
    store.close()
  }
}

/** How many connections are blocked in pg_advisory_lock right now. */
export async function advisoryWaiters(server: PgServer, database: string): Promise<number> {
  const rows = await server.query<{ n: number }>(
    database,
    `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
  )
  return rows[0]!.n
}

/**
 * For a test file: builds the CLI check, one server for the whole file (started in `before`, stopped in `after`, CLIs
 * killed first). The returned function gives the server, or undefined after skipping (failing under CI) the test.
 */
export function usePostgres(): (t: { skip(message: string): void }) => PgServer | undefined {
  let server: PgServer | undefined
  const bin = postgresBinDir()
  before(async () => {
    requireBuild()
    if (bin !== undefined) server = await startPostgres(bin)
  })
  after(() => {
    killAllClis()
    server?.stop()
  })
  return (t) => {
    if (server === undefined) requirePostgres(t)
    return server
  }
}
