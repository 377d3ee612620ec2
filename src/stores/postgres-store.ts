import { sessionKey, type SessionKey } from '../session-key.ts'
import { StoreError, TemporaryError } from '../errors.ts'
import {
  describeHolder,
  describeTarget,
  PgConnection,
  sqlState,
  type ConnectionOptions,
} from './postgres-connection.ts'
import {
  advisoryLockId,
  advisoryLockIdFor,
  loadStoreKey,
  openTokens,
  refreshDigest,
  sealTokens,
} from './postgres-codec.ts'
import type { PreparedSave, StoredSession, TokenSet, TokenStore } from './types.ts'

/** The schema this authgate reads and writes; a table of another version is never written (README, "Schema"). */
const SCHEMA_VERSION = 1
/** Serialises the CREATE TABLEs of many first-time writers (concurrent CREATE TABLE IF NOT EXISTS can fail). */
const SCHEMA_LOCK_ID = '7233616710295842816'

const CREATE_SCHEMA = `SELECT pg_advisory_xact_lock(${SCHEMA_LOCK_ID});
CREATE TABLE IF NOT EXISTS authgate_schema (version integer NOT NULL);
INSERT INTO authgate_schema (version) SELECT ${SCHEMA_VERSION} WHERE NOT EXISTS (SELECT FROM authgate_schema);
CREATE TABLE IF NOT EXISTS authgate_sessions (
  session_hash text PRIMARY KEY CHECK (session_hash ~ '^[0-9a-f]{64}$'),
  server_url text NOT NULL,
  client_id text NOT NULL,
  sealed bytea NOT NULL,
  refresh_digest text,
  updated_at timestamptz NOT NULL DEFAULT now()
)`

/** True only on the connection that holds the session's advisory lock: the fence every write and delete carries. */
const HOLDS_LOCK = `EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
  AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $LOCK::bigint)`
const VERSION = `(SELECT max(version) FROM authgate_schema)`

const READ = `SELECT ${VERSION} AS version, (SELECT sealed FROM authgate_sessions WHERE session_hash = $1) AS sealed`
const WRITE = `INSERT INTO authgate_sessions (session_hash, server_url, client_id, sealed, refresh_digest)
SELECT $1, $2, $3, $4, $5 WHERE ${VERSION} = ${SCHEMA_VERSION} AND ${HOLDS_LOCK.replace('$LOCK', '$6')}
ON CONFLICT (session_hash) DO UPDATE
  SET sealed = EXCLUDED.sealed, refresh_digest = EXCLUDED.refresh_digest, updated_at = now()`
/** Compare-and-clear in one statement: the refresh token is compared by its keyed digest. */
const DELETE = `DELETE FROM authgate_sessions WHERE session_hash = $1 AND ($2::text IS NULL OR refresh_digest = $2)
  AND ${VERSION} = ${SCHEMA_VERSION} AND ${HOLDS_LOCK.replace('$LOCK', '$3')}`
/** Issue 15's proof before a grant: the table's version, that this connection holds the lock, that the role may write. */
const PROOF = `SELECT ${VERSION} AS version, ${HOLDS_LOCK.replace('$LOCK', '$1')} AS holds,
  has_table_privilege('authgate_sessions', 'INSERT, UPDATE') AS may_write`
const HOLDER = `SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`

export interface PostgresStoreOptions extends ConnectionOptions {
  readonly storeKey: Buffer
}

/** The session lock of this store: a held PostgreSQL session-level advisory lock. */
export interface AdvisoryLockHandle {
  readonly path: string
  release(): void
}

/**
 * Fleet sessions: one row per session in `authgate_sessions`, sealed with AES-256-GCM under the fleet's key. The
 * refresh lock is `pg_advisory_lock` on the same connection as the save, so the server frees it when a holder dies,
 * and a holder whose connection was cut cannot write at all (the fence in WRITE also checks the lock is still held).
 */
export class PostgresStore implements TokenStore {
  readonly kind = 'postgres' as const
  readonly location: string
  readonly #o: PostgresStoreOptions
  #connection: Promise<PgConnection> | undefined
  /** Per advisory lock id: the tail of this process's queue for it. */
  readonly #queue = new Map<string, Promise<void>>()

  constructor(o: PostgresStoreOptions) {
    this.#o = o
    this.location = `${describeTarget(o)}, table authgate_sessions`
  }

  async read(key: SessionKey): Promise<TokenSet | undefined> {
    // The session hash (node:crypto's first use) is computed while the server starts the connection's backend.
    const connection = await this.#connect(() => void key.hash)
    const rows = await this.#orMissing(() => connection.query<{ version: number; sealed: Buffer }>(READ, [key.hash]))
    if (rows === undefined) return undefined
    const row = rows.rows[0]!
    this.#checkVersion(row.version)
    return row.sealed === null ? undefined : openTokens(key, row.sealed, this.#o.storeKey, this.location)
  }

  /**
   * Proves, before a grant spends a credential, that its answer can be saved: the tables exist (created now when
   * missing) at this authgate's version, this connection holds the session lock, and the role may write the row.
   * The commit is the fenced write itself, so a connection cut in between still cannot overwrite a newer token.
   */
  async prepareSave(key: SessionKey): Promise<PreparedSave> {
    const connection = await this.#connect()
    const prove = () =>
      connection.query<{ version: number; holds: boolean; may_write: boolean }>(PROOF, [advisoryLockId(key)])
    let proof = await this.#orMissing(prove)
    if (proof === undefined) {
      await connection.query(CREATE_SCHEMA)
      proof = await prove()
    }
    const row = proof.rows[0]!
    this.#checkVersion(row.version)
    if (!row.may_write) throw new StoreError(`this database role may not write ${this.location}`)
    if (!row.holds) await this.#refused(connection, key, 'prepared')
    return { commit: (tokens) => this.write(key, tokens), abort: async () => {} }
  }

  async write(key: SessionKey, tokens: TokenSet): Promise<void> {
    const connection = await this.#connect()
    const sealed = sealTokens(key, tokens, this.#o.storeKey)
    const values = [key.hash, key.serverUrl, key.clientId, sealed, refreshDigest(tokens.refreshToken, this.#o.storeKey)]
    const run = () => connection.query(WRITE, [...values, advisoryLockId(key)])
    let result = await this.#orMissing(run)
    if (result === undefined) {
      await connection.query(CREATE_SCHEMA)
      result = await run()
    }
    if (result.rowCount === 0) await this.#refused(connection, key, 'saved')
  }

  async delete(key: SessionKey, ifRefreshToken?: string): Promise<boolean> {
    const connection = await this.#connect()
    const digest = ifRefreshToken === undefined ? null : refreshDigest(ifRefreshToken, this.#o.storeKey)
    const run = () => connection.query(DELETE, [key.hash, digest, advisoryLockId(key)])
    const result = await this.#orMissing(run)
    if (result === undefined || result.rowCount === 1) return result !== undefined
    const { rows } = await connection.query<{ version: number | null; holds: boolean }>(
      `SELECT ${VERSION} AS version, ${HOLDS_LOCK.replace('$LOCK', '$1')} AS holds`,
      [advisoryLockId(key)],
    )
    if (rows[0]!.holds) this.#checkVersion(rows[0]!.version)
    else await this.#refused(connection, key, 'deleted')
    return false
  }

  async list(): Promise<StoredSession[]> {
    const connection = await this.#connect()
    const sql = `SELECT ${VERSION} AS version, server_url, client_id, sealed FROM authgate_sessions`
    const result = await this.#orMissing(() =>
      connection.query<{ version: number; server_url: string; client_id: string; sealed: Buffer }>(sql),
    )
    if (result === undefined) return []
    return result.rows.map((row) => {
      this.#checkVersion(row.version)
      const key = sessionKey(row.server_url, row.client_id)
      return { key, tokens: openTokens(key, row.sealed, this.#o.storeKey, this.location), store: this.kind }
    })
  }

  /**
   * The session's locks in the engine's LockFile shape: the path names which one (the refresh lock `<hash>.lock`, the
   * login lock `<hash>.login.lock`), each an advisory lock of its own, so both span the fleet.
   */
  sessionLock(key: SessionKey) {
    return (path: string, o: { timeoutMs: number; shared?: boolean | undefined; signal?: AbortSignal | undefined }) =>
      this.lock(key, o, advisoryLockIdFor(key, path))
  }

  /**
   * Waits at most `timeoutMs` for pg_advisory_lock (the server's lock_timeout, so no polling). An advisory lock is
   * re-entrant on its connection, so callers in this process (the library's concurrent calls) queue here first.
   * @throws TemporaryError naming the holder's pid and host (from pg_stat_activity) on timeout; InterruptedError.
   */
  async lock(
    key: SessionKey,
    o: { timeoutMs: number; shared?: boolean | undefined; signal?: AbortSignal | undefined },
    id = advisoryLockId(key),
  ): Promise<AdvisoryLockHandle> {
    const previous = this.#queue.get(id) ?? Promise.resolve()
    let free!: () => void
    const tail = previous.then(() => new Promise<void>((resolve) => (free = resolve)))
    this.#queue.set(id, tail)
    const done = () => {
      free()
      if (this.#queue.get(id) === tail) this.#queue.delete(id)
    }
    await previous
    let unlock: () => void
    try {
      unlock = await this.#acquire(id, o)
    } catch (err) {
      done()
      throw err
    }
    let released = false
    return {
      path: `advisory lock ${id} on ${this.location}`,
      release: () => {
        if (released) return
        released = true
        unlock()
        done()
      },
    }
  }

  async #acquire(
    id: string,
    o: { timeoutMs: number; shared?: boolean | undefined; signal?: AbortSignal | undefined },
  ): Promise<() => void> {
    const connection = await this.#connect()
    const waitMs = Math.max(1, Math.round(o.timeoutMs))
    // Shared for the engine's waiters, as with the kernel lock: they all wake when the refresher unlocks.
    const kind = o.shared ? 'pg_advisory_lock_shared' : 'pg_advisory_lock'
    const sql = `SET lock_timeout = ${waitMs}; SELECT ${kind}(${id}); SET lock_timeout = 0`
    try {
      await connection.query(sql, [], { timeoutMs: waitMs + this.#o.timeoutMs, signal: o.signal })
    } catch (err) {
      if (sqlState(err) !== '55P03') throw err
      const { rows } = await connection.query<{ pid: number; application_name: string }>(HOLDER, [id])
      const holder = rows[0] ? describeHolder(rows[0].application_name, rows[0].pid) : 'its holder just left'
      throw new TemporaryError(
        `timed out after ${o.timeoutMs / 1000}s waiting for the session lock (advisory lock ${id} on ${connection.where}), ${holder}`,
        { hint: 'try again later; raise --lock-timeout if refreshes are slow' },
      )
    }
    const unlock = o.shared ? 'pg_advisory_unlock_shared' : 'pg_advisory_unlock'
    return () => void connection.query(`SELECT ${unlock}($1::bigint)`, [id]).catch(() => {})
  }

  /** Ends the connection (and frees any lock it holds). */
  close(): void {
    void this.#connection?.then((c) => c.close()).catch(() => {})
  }

  /**
   * The process's connection, opened anew when the last one failed or died (a library client outlives a database
   * restart). Safe because every write and delete is fenced: a new connection holds no lock, so it cannot save what a
   * dead lock holder computed.
   */
  async #connect(meanwhile?: () => void): Promise<PgConnection> {
    const current = this.#connection
    if (current !== undefined) {
      const connection = await current.catch(() => undefined)
      if (connection?.alive) return connection
      if (this.#connection !== current) return this.#connect(meanwhile)
    }
    this.#connection = PgConnection.open(this.#o, meanwhile)
    return this.#connection
  }

  /** undefined when the tables do not exist yet: nobody has signed in through this database. */
  async #orMissing<T>(run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run()
    } catch (err) {
      if (sqlState(err) === '42P01') return undefined
      throw err
    }
  }

  #checkVersion(version: number | null): void {
    if (version === null || version === SCHEMA_VERSION) return
    throw new StoreError(
      `${this.location} has schema version ${version}; this authgate knows version ${SCHEMA_VERSION}: nothing was read or written`,
      { hint: 'upgrade authgate on this machine' },
    )
  }

  /** A write or delete that matched nothing: a newer schema, or this connection no longer holds the lock. */
  async #refused(connection: PgConnection, key: SessionKey, what: string): Promise<never> {
    const { rows } = await connection.query<{ version: number | null }>(`SELECT ${VERSION} AS version`)
    this.#checkVersion(rows[0]!.version)
    throw new TemporaryError(
      `the tokens for ${key.account} were not ${what}: this process does not hold the session lock on ${connection.where}`,
    )
  }
}

/** The store for `--token-store postgres`: the database from the settings (or `PG*`), the key from the environment. */
export function openPostgresStore(
  settings: { readonly databaseUrl: string | undefined; readonly httpTimeoutMs: number },
  deps: { readonly env: Readonly<Record<string, string | undefined>>; readonly pid: number; readonly cwd: string },
): PostgresStore {
  return new PostgresStore({
    databaseUrl: settings.databaseUrl,
    env: deps.env,
    pid: deps.pid,
    timeoutMs: settings.httpTimeoutMs,
    storeKey: loadStoreKey(deps.env, deps.cwd),
  })
}
