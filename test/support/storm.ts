import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { createLockFile } from '../../src/lock/kernel-lock.ts'
import { startAuthGateServer, type AuthGateTestServer } from './authgate-server/index.ts'
import { createCliHome, type CliHome, type CliProcess, type CliResult } from './cli.ts'
import { blockedLockWaiters } from './hostile-server.ts'
import { obtainTokensFromAuthGate, sessionAccount, writeTokenFile } from './tokens.ts'

/** A throw-away CLI home removed when the test ends. */
export function testHome(t: TestContext, prefix = 'authgate-storm-'): CliHome {
  const h = createCliHome(prefix)
  t.after(() => h.remove())
  return h
}

/** AuthGate in rotation mode with no rate limits (a storm is not what its limits are about), closed after the test. */
export async function rotatingAuthGate(t: TestContext): Promise<AuthGateTestServer> {
  const server = await startAuthGateServer({
    rotation: true,
    tokenRateLimitPerMinute: 0,
    deviceCodeRateLimitPerMinute: 0,
  })
  t.after(() => server.close())
  return server
}

/**
 * What every refresh storm against AuthGate in rotation mode must show, whatever the store: all processes exited 0,
 * quietly, printing one and the same new token, which is active; the server saw one refresh grant and no replay.
 * Returns the token, for the store-specific checks.
 */
export function assertOneRefreshForAll(
  results: readonly CliResult[],
  server: AuthGateTestServer,
  expiredAccessToken: string,
): string {
  const token = assertOneTokenForAll(results)
  assert.notEqual(token, expiredAccessToken, 'the expired token was printed')
  assert.deepEqual(
    [
      server.stats.refreshGrants,
      server.stats.successfulRefreshes,
      server.stats.invalidGrants,
      server.stats.familyRevocations,
    ],
    [1, 1, 0, 0],
    'refresh grants, successful refreshes, invalid_grant answers, family revocations',
  )
  assert.ok(server.isTokenActive(token), 'the printed token is not active at the server')
  return token
}

/** All exited 0 and quietly, printing one and the same token and a newline; returns the token. */
export function assertOneTokenForAll(results: readonly CliResult[]): string {
  for (const r of results) assert.equal(r.code, 0, `pid ${r.pid} exited ${r.code ?? r.signal}: ${r.stderr}`)
  for (const r of results) assert.equal(r.stderr, '', `pid ${r.pid} wrote to stderr`)
  const printed = new Set(results.map((r) => r.stdout))
  assert.equal(printed.size, 1, `the processes printed ${printed.size} different answers`)
  const token = [...printed][0]!
  assert.match(token, /^\S+\n$/, 'stdout is the token and a newline, nothing else')
  return token.trim()
}

/**
 * A rotating AuthGate double without rate limits and a CLI home holding an expired session on it (file store), both
 * gone after the test: what every refresh storm and refresh-failure test starts from.
 */
export async function expiredAuthGateSession(t: TestContext, prefix: string) {
  const server = await rotatingAuthGate(t)
  const home = testHome(t, prefix)
  const key = sessionAccount(server.url, server.publicClientId)
  const issued = await obtainTokensFromAuthGate(server)
  writeTokenFile(home.tokenFile, key, issued, { expired: true })
  /** argv for `command` on this session, flags included. */
  const args = (command: string[]) => [
    ...command,
    '--server-url',
    server.url,
    '--client-id',
    server.publicClientId,
    ...home.flags,
  ]
  return { server, home, key, issued, args }
}

/** Makes the server forget a refresh token, as an admin's revocation does: its next use is `invalid_grant`. */
export async function revokeAtServer(server: AuthGateTestServer, token: string): Promise<void> {
  const res = await fetch(`${server.url}/oauth/revoke`, { method: 'POST', body: new URLSearchParams({ token }) })
  assert.equal(res.status, 200, 'the revocation endpoint refused')
}

/**
 * Starts `count` CLIs in waves of `wave` while this test process holds the session's kernel lock, starting each wave
 * only once every process started so far is blocked on that lock. So all of them have started, and all are waiting,
 * before any can finish; then the lock is let go and they race as a real storm does. Waves keep two cores from
 * loading fifty programs at once. A process that ends while the lock is held fails the test (it did not wait).
 */
export async function stormBehindLock(
  count: number,
  wave: number,
  lockPath: string,
  start: () => CliProcess,
): Promise<CliResult[]> {
  const hold = createLockFile({ pid: process.pid, sleep: (ms, signal) => delay(ms, undefined, { signal }) })
  const held = await hold(lockPath, { timeoutMs: 10_000 })
  const started: CliProcess[] = []
  try {
    while (started.length < count) {
      for (let i = 0; i < wave && started.length < count; i++) started.push(start())
      while (blockedLockWaiters(lockPath) < started.length) {
        const early = started.find((p) => p.child.exitCode !== null || p.child.signalCode !== null)
        assert.equal(early, undefined, `pid ${early?.pid} ended while the lock was held: ${early?.stderr()}`)
        await delay(20)
      }
    }
  } finally {
    held.release()
  }
  return Promise.all(started.map((p) => p.exited))
}
