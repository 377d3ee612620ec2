import assert from 'node:assert/strict'
import type { AuthGateTestServer } from './authgate-server/index.ts'
import type { CliResult } from './cli.ts'

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
  for (const r of results) assert.equal(r.code, 0, `pid ${r.pid} exited ${r.code ?? r.signal}: ${r.stderr}`)
  for (const r of results) assert.equal(r.stderr, '', `pid ${r.pid} wrote to stderr`)
  const printed = new Set(results.map((r) => r.stdout))
  assert.equal(printed.size, 1, `the processes printed ${printed.size} different answers`)
  const token = [...printed][0]!
  assert.match(token, /^\S+\n$/, 'stdout is the token and a newline, nothing else')
  assert.notEqual(token.trim(), expiredAccessToken, 'the expired token was printed')
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
  assert.ok(server.isTokenActive(token.trim()), 'the printed token is not active at the server')
  return token.trim()
}
