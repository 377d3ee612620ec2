import { sessionKey, type SessionKey } from '../../src/session-key.ts'
import type { TokenSet } from '../../src/stores/types.ts'
import type { AuthGateTestServer } from './authgate-server/index.ts'
import { createCliHome, spawnCli, type CliHome, type CliProcess } from './cli.ts'
import { seedSession, TEST_STORE_KEY, type PgServer } from './postgres.ts'
import { startTokenProxy, type ProxyDecision, type TokenProxy } from './hostile-server.ts'
import { obtainTokensFromAuthGate } from './tokens.ts'

/**
 * Simulated machines of a fleet: each has its own HOME, config and lock dir (nothing on disk is shared), and all of
 * them point `--token-store postgres` at one database, as CI runners or service replicas would.
 */
export interface Machine {
  readonly home: CliHome
  spawnToken(extra?: string[], env?: Record<string, string | undefined>): CliProcess
}

export interface Fleet {
  readonly machines: Machine[]
  readonly key: SessionKey
  readonly database: string
  remove(): void
}

export interface FleetOptions {
  readonly machines: number
  readonly pg: PgServer
  readonly database: string
  /** The OAuth server the machines talk to (a proxy's URL, or the AuthGate double's). */
  readonly serverUrl: string
  readonly clientId: string
  readonly lockTimeoutSeconds?: number
  readonly storeKey?: string
}

export function createFleet(o: FleetOptions): Fleet {
  const machines = Array.from({ length: o.machines }, (_, i) => {
    const home = createCliHome(`authgate-fleet-m${i}-`)
    const args = [
      'token',
      '--server-url',
      o.serverUrl,
      '--client-id',
      o.clientId,
      '--token-store',
      'postgres',
      '--lock-dir',
      home.lockDir,
      '--lock-timeout',
      String(o.lockTimeoutSeconds ?? 90),
    ]
    const env = { AUTHGATE_DATABASE_URL: o.pg.url(o.database), AUTHGATE_STORE_KEY: o.storeKey ?? TEST_STORE_KEY }
    return {
      home,
      spawnToken: (extra: string[] = [], more: Record<string, string | undefined> = {}) =>
        spawnCli([...args, ...extra], { home, env: { ...env, ...more } }),
    }
  })
  return {
    machines,
    key: sessionKey(o.serverUrl, o.clientId),
    database: o.database,
    remove: () => machines.forEach((m) => m.home.remove()),
  }
}

/** A real session from the AuthGate double, stored in the fleet's database as already expired. */
export async function seedExpiredSession(
  authgate: AuthGateTestServer,
  pg: PgServer,
  database: string,
  serverUrl = authgate.url,
): Promise<{ key: SessionKey; tokens: TokenSet }> {
  const issued = await obtainTokensFromAuthGate(authgate)
  const nowMs = Date.now()
  const tokens: TokenSet = {
    accessToken: issued.access_token,
    tokenType: 'Bearer',
    refreshToken: issued.refresh_token,
    expiresAtMs: nowMs - 1000,
    obtainedAtMs: nowMs - 3_600_000,
    scope: issued.scope,
  }
  const key = sessionKey(serverUrl, authgate.publicClientId)
  await seedSession(pg, database, key, tokens)
  return { key, tokens }
}

/** Starts `perMachine` token processes on every machine at once (machine-major order interleaved). */
export function storm(fleet: Fleet, perMachine: number, extra: string[] = []): CliProcess[] {
  const all: CliProcess[] = []
  for (let i = 0; i < perMachine; i++) for (const m of fleet.machines) all.push(m.spawnToken(extra))
  return all
}

/** A proxy that holds the first refresh request until the test says what to do with it. */
export async function holdingProxy(serverUrl: string): Promise<{
  proxy: TokenProxy
  arrived: Promise<void>
  decide(d: ProxyDecision): void
  relayed: Promise<void>
  relay(): void
}> {
  let arrive!: () => void
  const arrived = new Promise<void>((r) => (arrive = r))
  let decide!: (d: ProxyDecision) => void
  const decided = new Promise<ProxyDecision>((r) => (decide = r))
  let relayedNow!: () => void
  const relayed = new Promise<void>((r) => (relayedNow = r))
  let relay!: () => void
  const relayGate = new Promise<void>((r) => (relay = r))
  let first = true
  const proxy = await startTokenProxy(serverUrl, {
    beforeForward: (e) => {
      if (e.grantType !== 'refresh_token' || !first) return 'forward'
      first = false
      arrive()
      return decided
    },
    beforeRelay: async (e) => {
      if (e !== proxy.refreshes()[0]) return
      relayedNow()
      await relayGate
    },
  })
  return { proxy, arrived, decide, relayed, relay }
}
