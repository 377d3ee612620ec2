import { hostname } from 'node:os'
import type { Client, QueryResult, QueryResultRow } from 'pg'
import { InterruptedError, StoreError, TemporaryError } from '../errors.ts'

export interface ConnectionOptions {
  /** `--database-url` / `AUTHGATE_DATABASE_URL`; undefined = libpq's `PG*` variables. */
  readonly databaseUrl: string | undefined
  readonly env: Readonly<Record<string, string | undefined>>
  readonly pid: number
  /** Bounds connecting and every statement but the lock wait (which `--lock-timeout` bounds). */
  readonly timeoutMs: number
}

/** SQLSTATEs that mean "try again later": too many connections, starting up or shutting down, connection failures. */
const TEMPORARY_STATES = /^(53300|53000|57P01|57P02|57P03|08...)$/

/**
 * One connection per process: it holds the session lock and does the save, so a holder whose connection is cut can
 * never write (the driver does not reconnect). The socket keeps the event loop alive only while a statement is in
 * flight, so a library user's process exits when its work is done, without a close call.
 */
export class PgConnection {
  readonly where: string
  readonly #client: Client
  readonly #timeoutMs: number
  #busy = 0
  #alive = true

  private constructor(client: Client, where: string, timeoutMs: number) {
    this.#client = client
    this.where = where
    this.#timeoutMs = timeoutMs
  }

  /**
   * `meanwhile` runs once the start-up message is on its way, while the server starts a backend for it: work the
   * first statement needs that would otherwise delay the handshake. Whatever it throws is left for that work to throw.
   * @throws TemporaryError naming the host (never the password) when the server cannot be reached or refuses.
   */
  static async open(o: ConnectionOptions, meanwhile?: () => void): Promise<PgConnection> {
    const pg = await import('pg')
    const Pg = (pg.default ?? pg) as typeof import('pg')
    const where = describeTarget(o)
    const client = new Pg.Client({
      ...(o.databaseUrl !== undefined ? { connectionString: o.databaseUrl } : fromEnv(o.env)),
      application_name: applicationName(o.pid),
      connectionTimeoutMillis: o.timeoutMs,
    })
    // An idle connection that the server drops must not crash the process: the next statement reports it.
    client.on('error', () => {})
    const connecting = client.connect()
    // After the driver's own listener, which writes the start-up message (or the TLS request).
    client.connection.once('connect', () => {
      try {
        meanwhile?.()
      } catch {
        // the caller does the same work again and reports it there
      }
    })
    try {
      await connecting
    } catch (err) {
      throw classify(err, where, 'connect to')
    }
    const connection = new PgConnection(client, where, o.timeoutMs)
    const dead = () => void (connection.#alive = false)
    client.on('error', dead)
    client.on('end', dead)
    connection.#socket()?.unref()
    return connection
  }

  /**
   * The driver's text protocol for a parameterless multi-statement string; otherwise an extended-protocol query.
   * Bounded by `timeoutMs` (default: the connection's), so a server that stops answering is a TemporaryError.
   */
  async query<R extends QueryResultRow>(
    text: string,
    values: readonly unknown[] = [],
    o: { timeoutMs?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<QueryResult<R>> {
    if (o.signal?.aborted) throw new InterruptedError()
    const onAbort = () => this.#socket()?.destroy()
    o.signal?.addEventListener('abort', onAbort, { once: true })
    if (this.#busy++ === 0) this.#socket()?.ref()
    try {
      return await this.#client.query<R>({
        text,
        values: [...values],
        query_timeout: o.timeoutMs ?? this.#timeoutMs,
      } as never)
    } catch (err) {
      if (o.signal?.aborted) throw new InterruptedError()
      throw classify(err, this.where, 'use')
    } finally {
      o.signal?.removeEventListener('abort', onAbort)
      if (--this.#busy === 0) this.#socket()?.unref()
    }
  }

  /** False once the server or the network ended it: the store opens another (its writes are fenced by the lock). */
  get alive(): boolean {
    return this.#alive
  }

  /** Frees the connection, and with it any advisory lock it holds. Never throws. */
  close(): void {
    this.#client.end().catch(() => {})
  }

  #socket(): { ref(): void; unref(): void; destroy(): void } | undefined {
    return (this.#client as unknown as { connection?: { stream?: { ref(): void; unref(): void; destroy(): void } } })
      .connection?.stream
  }
}

/** `authgate pid=<pid> host=<host>`: what a lock timeout reads back from pg_stat_activity to name the holder. */
function applicationName(pid: number): string {
  return `authgate pid=${pid} host=${hostname()}`.slice(0, 63)
}

/** The holder named by an application_name that applicationName wrote, else the raw name. */
export function describeHolder(appName: string | null | undefined, backendPid: number): string {
  const m = /^authgate pid=(\d+) host=(.*)$/.exec(appName ?? '')
  return m ? `held by pid ${m[1]} on host ${m[2]}` : `held by PostgreSQL backend ${backendPid} (${appName ?? '?'})`
}

function fromEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string | number | undefined> {
  return {
    host: env.PGHOST,
    port: env.PGPORT === undefined ? undefined : Number(env.PGPORT),
    user: env.PGUSER,
    password: env.PGPASSWORD,
    database: env.PGDATABASE,
  }
}

/** `host:port/database`, for messages: a URL's user and password are never part of it. */
export function describeTarget(o: Pick<ConnectionOptions, 'databaseUrl' | 'env'>): string {
  let host = o.env.PGHOST ?? 'localhost'
  let port = o.env.PGPORT ?? '5432'
  let database = o.env.PGDATABASE ?? ''
  if (o.databaseUrl !== undefined) {
    try {
      const url = new URL(o.databaseUrl)
      host = decodeURIComponent(url.hostname || url.searchParams.get('host') || 'localhost')
      port = url.port || '5432'
      database = decodeURIComponent(url.pathname.slice(1))
    } catch {
      return 'the PostgreSQL server of --database-url (not a URL)'
    }
  }
  return `PostgreSQL at ${host}:${port}${database ? `/${database}` : ''}`
}

function classify(err: unknown, where: string, verb: string): Error {
  const e = err as { code?: string; message?: string }
  const detail = e.code && !/^[0-9A-Z]{5}$/.test(e.code) ? e.code : (e.message ?? String(err))
  const message = `cannot ${verb} ${where}: ${detail}`
  if (e.code === undefined || !/^[0-9A-Z]{5}$/.test(e.code) || TEMPORARY_STATES.test(e.code)) {
    return new TemporaryError(message, { cause: err, hint: 'try again later' })
  }
  return new StoreError(message, { cause: err })
}

/** The SQLSTATE behind an error from PgConnection.query, if the server sent one. */
export function sqlState(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } }).cause
  return typeof cause?.code === 'string' && /^[0-9A-Z]{5}$/.test(cause.code) ? cause.code : undefined
}
