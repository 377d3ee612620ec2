import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import { createClient } from 'authgate-cli'
import { sessionKey } from '../../src/session-key.ts'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { createCliHome, runCli, spawnCli, type CliHome } from '../support/cli.ts'
import { seedExpiredSession } from '../support/fleet.ts'
import { readSession, seedSession, usePostgres, TEST_STORE_KEY, type PgServer } from '../support/postgres.ts'

/** `--token-store postgres` for every command and the library, and its answers to bad input, on a real PostgreSQL. */

const postgres = usePostgres()

interface Setup {
  pg: PgServer
  server: AuthGateTestServer
  database: string
  home: CliHome
  env: Record<string, string>
  args: string[]
}

async function setup(t: TestContext): Promise<Setup | undefined> {
  const pg = postgres(t)
  if (pg === undefined) return undefined
  const server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })
  t.after(() => server.close())
  const home = createCliHome('authgate-pg-')
  t.after(() => home.remove())
  const database = await pg.createDatabase()
  const env = { AUTHGATE_DATABASE_URL: pg.url(database), AUTHGATE_STORE_KEY: TEST_STORE_KEY }
  const args = ['--server-url', server.url, '--client-id', server.publicClientId, '--token-store', 'postgres']
  return { pg, server, database, home, env, args: [...args, '--lock-dir', home.lockDir] }
}

const run = (s: Setup, command: string[], env: Record<string, string | undefined> = {}) =>
  runCli([...command, ...s.args], { home: s.home, env: { ...s.env, ...env } })

async function sealedRow(s: Setup): Promise<Buffer | undefined> {
  const rows = await s.pg.query<{ sealed: Buffer }>(s.database, 'SELECT sealed FROM authgate_sessions')
  return rows[0]?.sealed
}

describe('postgres store: commands', () => {
  test('login --device saves a sealed row; token, status --json and logout use it', async (t) => {
    const s = await setup(t)
    if (!s) return
    const login = spawnCli(['login', '--device', ...s.args], { home: s.home, env: s.env })
    const code = (await login.waitForStderr(/\b([A-Z2-9]{4}-[A-Z2-9]{4})\b/))[1]!
    s.server.approveDevice(code)
    const done = await login.exited
    assert.equal(done.code, 0, done.stderr)
    assert.ok(await sealedRow(s).catch(() => undefined), `no row after login: ${done.stderr}`)

    const token = await run(s, ['token'])
    assert.equal(token.code, 0, token.stderr)
    assert.ok(s.server.isTokenActive(token.stdout.trim()))

    const status = await run(s, ['status', '--json', '--offline'])
    assert.equal(status.code, 0, status.stderr)
    const json = JSON.parse(status.stdout) as Record<string, unknown>
    assert.equal(json.store, 'postgres')
    assert.equal(json.signed_in, true)
    assert.equal(json.has_refresh_token, true)

    const logout = await run(s, ['logout'])
    assert.equal(logout.code, 0, logout.stderr)
    assert.equal(await sealedRow(s), undefined, 'logout left the row')
    assert.equal(s.server.isTokenActive(token.stdout.trim()), false, 'logout did not revoke')
    assert.equal((await run(s, ['token'])).code, 4)
  })

  test("the library with tokenStore: 'postgres' refreshes an expired session once for concurrent calls, and survives a dropped connection", async (t) => {
    const s = await setup(t)
    if (!s) return
    const { key } = await seedExpiredSession(s.server, s.pg, s.database)
    const client = createClient({
      serverUrl: s.server.url,
      clientId: s.server.publicClientId,
      tokenStore: 'postgres',
      databaseUrl: s.pg.url(s.database),
      lockDir: s.home.lockDir,
      cwd: s.home.dir,
      env: { AUTHGATE_STORE_KEY: TEST_STORE_KEY },
    })
    const tokens = await Promise.all([1, 2, 3, 4, 5].map(() => client.getAccessToken()))
    assert.equal(new Set(tokens).size, 1)
    assert.equal((await readSession(s.pg, s.database, key))?.accessToken, tokens[0])
    assert.equal(s.server.stats.refreshGrants, 1)
    assert.equal((await client.status({ offline: true })).store, 'postgres')
    // The database drops the client's connection (a restart, a failover): the next call opens another.
    await s.pg.query(
      s.database,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE $2`,
      [s.database, `authgate pid=${process.pid} %`],
    )
    assert.equal(await client.getAccessToken(), tokens[0])
  })
})

describe('postgres store: machine sessions', () => {
  test('--grant client-credentials on 3 machines at once: one grant, one token, kept in the database', async (t) => {
    const s = await setup(t)
    if (!s) return
    const secret = 'ago_fleet-machine-secret'
    const server = await startAuthGateServer({
      clients: [{ clientId: 'ci-bot', clientSecret: secret, type: 'confidential', redirectUris: [], scopes: 'read' }],
    })
    t.after(() => server.close())
    const homes = [1, 2, 3].map(() => createCliHome('authgate-pg-machine-'))
    t.after(() => homes.forEach((h) => h.remove()))
    const args = ['token', '--server-url', server.url, '--client-id', 'ci-bot', '--token-store', 'postgres']
    const env = { ...s.env, AUTHGATE_CLIENT_SECRET: secret, AUTHGATE_GRANT: 'client-credentials' }
    const results = await Promise.all(homes.map((home) => runCli([...args, '--lock-dir', home.lockDir], { home, env })))
    for (const r of results) assert.equal(r.code, 0, r.stderr)
    assert.equal(new Set(results.map((r) => r.stdout)).size, 1, 'the machines printed different tokens')
    assert.equal(server.stats.grantsByType.client_credentials, 1)
    const stored = await readSession(s.pg, s.database, sessionKey(server.url, 'ci-bot'))
    assert.equal(stored?.accessToken, results[0]!.stdout.trim())
  })
})

describe('postgres store: bad input', () => {
  test('an unreachable database: exit 5 naming the host, the password never printed', async (t) => {
    const s = await setup(t)
    if (!s) return
    const url = 'postgres://fleet:hunter2-not-printed@127.0.0.1:1/authgate'
    const r = await run(s, ['token'], { AUTHGATE_DATABASE_URL: url })
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, /PostgreSQL at 127\.0\.0\.1:1\/authgate/)
    assert.doesNotMatch(r.stderr + r.stdout, /hunter2/)
  })

  test('a database that accepts and never answers: exit 5 after --http-timeout, no hang', async (t) => {
    const s = await setup(t)
    if (!s) return
    const silent = createServer(() => {})
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done))
    t.after(() => void silent.close())
    const port = (silent.address() as { port: number }).port
    const url = `postgres://fleet@127.0.0.1:${port}/authgate`
    const r = await run(s, ['token', '--http-timeout', '1'], { AUTHGATE_DATABASE_URL: url })
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port}/authgate`))
  })

  test('a server that refuses the connection (connection limit reached): exit 5', async (t) => {
    const s = await setup(t)
    if (!s) return
    await seedExpiredSession(s.server, s.pg, s.database)
    // Superusers ignore connection limits, so the fleet connects as a role that has none left (SQLSTATE 53300).
    const role = `full_${s.database}`
    await s.pg.query('postgres', `CREATE ROLE ${role} LOGIN CONNECTION LIMIT 0`)
    const url = s.pg.url(s.database).replace('authgate@', `${role}@`)
    const r = await run(s, ['token'], { AUTHGATE_DATABASE_URL: url })
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, /too many connections/)
    assert.equal(s.server.stats.refreshGrants, 0)
  })

  test('a wrong AUTHGATE_STORE_KEY: exit 1 "cannot decrypt", the row byte-for-byte as it was, no refresh', async (t) => {
    const s = await setup(t)
    if (!s) return
    await seedExpiredSession(s.server, s.pg, s.database)
    const before = await sealedRow(s)
    for (const command of [['token'], ['status', '--offline'], ['refresh', '--force']]) {
      const r = await run(s, command, { AUTHGATE_STORE_KEY: Buffer.alloc(32, 9).toString('base64') })
      assert.equal(r.code, 1, `${command.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, /cannot decrypt: wrong AUTHGATE_STORE_KEY\?/)
    }
    assert.deepEqual(await sealedRow(s), before)
    assert.equal(s.server.stats.refreshGrants, 0)
  })

  test('a row moved to another session key fails its tag check (the session hash is authenticated)', async (t) => {
    const s = await setup(t)
    if (!s) return
    const { key } = await seedExpiredSession(s.server, s.pg, s.database)
    const other = createCliHome('authgate-pg-other-')
    t.after(() => other.remove())
    const otherArgs = ['--server-url', s.server.url, '--client-id', 'another-client']
    const moved = await runCli(['token', '--token-store', 'postgres', ...otherArgs], { home: other, env: s.env })
    assert.equal(moved.code, 4, 'no row yet for the other session')
    const otherHash = sessionKey(s.server.url, 'another-client').hash
    await s.pg.query(
      s.database,
      `INSERT INTO authgate_sessions (session_hash, server_url, client_id, sealed)
       SELECT $1, server_url, 'another-client', sealed FROM authgate_sessions WHERE session_hash = $2`,
      [otherHash, key.hash],
    )
    const r = await runCli(['token', '--token-store', 'postgres', ...otherArgs], { home: other, env: s.env })
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /cannot decrypt/)
  })

  test('a table of an unknown schema version: exit 1 for every command, nothing overwritten or deleted', async (t) => {
    const s = await setup(t)
    if (!s) return
    await seedExpiredSession(s.server, s.pg, s.database)
    await s.pg.query(s.database, 'UPDATE authgate_schema SET version = 2')
    const before = await sealedRow(s)
    for (const command of [['token'], ['logout', '--no-revoke'], ['status', '--offline']]) {
      const r = await run(s, command)
      assert.equal(r.code, 1, `${command.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, /schema version 2; this authgate knows version 1/)
    }
    assert.deepEqual(await sealedRow(s), before)
    assert.equal(s.server.stats.refreshGrants, 0)
  })

  test('no store key: exit 2 saying how to make one', async (t) => {
    const s = await setup(t)
    if (!s) return
    const r = await run(s, ['token'], { AUTHGATE_STORE_KEY: undefined })
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /needs AUTHGATE_STORE_KEY or AUTHGATE_STORE_KEY_FILE/)
    const short = await run(s, ['token'], { AUTHGATE_STORE_KEY: 'c2hvcnQ=' })
    assert.equal(short.code, 2, short.stderr)
    const keyFile = join(s.home.dir, 'fleet.key')
    writeFileSync(keyFile, `${TEST_STORE_KEY}\n`, { mode: 0o600 })
    const fromFile = await run(s, ['token'], { AUTHGATE_STORE_KEY: undefined, AUTHGATE_STORE_KEY_FILE: keyFile })
    assert.equal(fromFile.code, 4, fromFile.stderr) // the key is fine; there is just no session yet
  })

  test('a working-directory .env cannot choose the database', async (t) => {
    const s = await setup(t)
    if (!s) return
    await seedExpiredSession(s.server, s.pg, s.database)
    writeFileSync(join(s.home.dir, '.env'), 'AUTHGATE_DATABASE_URL=postgres://evil@127.0.0.1:1/steal\n')
    const r = await run(s, ['token'], { AUTHGATE_DATABASE_URL: undefined, PGHOST: '127.0.0.1', PGPORT: '1' })
    assert.equal(r.code, 5, r.stderr)
    assert.doesNotMatch(r.stderr, /steal/, 'the .env database URL was used')
  })

  test('a fresh `token`: one statement, and pg loads lean (no WebCrypto, no dns: only password sign-ins need them)', async (t) => {
    const s = await setup(t)
    if (!s) return
    const key = sessionKey(s.server.url, s.server.publicClientId)
    const now = Date.now()
    const tokens = { accessToken: 'fresh-access', tokenType: 'Bearer', refreshToken: 'r1', obtainedAtMs: now }
    await seedSession(s.pg, s.database, key, { ...tokens, expiresAtMs: now + 3_600_000 })
    const probe = join(s.home.dir, 'probe.cjs')
    writeFileSync(
      probe,
      "process.on('exit', () => process.stderr.write('loaded: ' + process.moduleLoadList.filter((m) => /webcrypto|^NativeModule (dns|internal\\/deps\\/undici\\/undici)$/.test(m)).join(',') + '\\n'))\n",
    )
    const logBefore = s.pg.log().length
    const r = await runCli(['token', ...s.args], { home: s.home, env: s.env, nodeArgs: ['--require', probe] })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim(), 'fresh-access')
    assert.match(r.stderr, /^loaded: $/m)
    // The server writes its log asynchronously: a backend of an earlier test may log its last statement (an unlock)
    // after logBefore was taken, so only backends that first appear after it count.
    const backend = (line: string) => /\[(\d+)\]/.exec(line)?.[1]
    const earlier = new Set(s.pg.log().slice(0, logBefore).split('\n').map(backend))
    const statements = s.pg
      .log()
      .slice(logBefore)
      .split('\n')
      .filter((line) => /LOG: {2}(statement|execute [^:]*):/.test(line) && !earlier.has(backend(line)))
    assert.equal(statements.length, 1, statements.join('\n'))
  })

  test('the other stores never load pg: `token` with the file store', async (t) => {
    const s = await setup(t)
    if (!s) return
    const probe = join(s.home.dir, 'probe.cjs')
    writeFileSync(
      probe,
      // The CLI bundles load dist/pg.cjs from its code cache, outside require.cache, and keep it under this symbol.
      "process.on('exit', () => process.stderr.write(globalThis[Symbol.for('authgate.pg')] || Object.keys(require.cache).some((p) => /[\\\\/](node_modules[\\\\/]pg[\\\\/]|dist[\\\\/]pg\\.cjs$)/.test(p)) ? 'PG LOADED\\n' : 'pg not loaded\\n'))\n",
    )
    const fileArgs = ['token', '--server-url', s.server.url, '--client-id', s.server.publicClientId, ...s.home.flags]
    const r = await runCli(fileArgs, { home: s.home, nodeArgs: ['--require', probe] })
    assert.equal(r.code, 4, r.stderr) // not signed in: the full program ran, and still no pg
    assert.match(r.stderr, /pg not loaded/)
    const pgRun = await runCli(['token', ...s.args], { home: s.home, env: s.env, nodeArgs: ['--require', probe] })
    assert.match(pgRun.stderr, /PG LOADED/, 'the probe cannot see pg load: it proves nothing')
  })
})
