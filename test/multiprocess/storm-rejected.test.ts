import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { killAllClis, requireBuild, runCli } from '../support/cli.ts'
import { expiredAuthGateSession, revokeAtServer } from '../support/storm.ts'
import { readTokenEntry } from '../support/tokens.ts'

/**
 * Issue 14: N real `authgate token` processes on an expired session whose refresh token the server rejects with an
 * empty 400 (no JSON). One of them sends the refresh grant, learns the token is dead and clears the entry; every other
 * one then finds no session. Nobody re-sends the dead token, which a rotating server would log as reuse. Sized for 2
 * cores; no time is asserted (the lock timeout and the CLI helper's 120 s are hang guards).
 */

const N = 30

before(requireBuild)
after(killAllClis)

test(
  `${N} processes, an expired token whose refresh the server rejects without JSON → all exit 4, one refresh grant, the entry cleared once`,
  { timeout: 300_000 },
  async (t) => {
    const { server, home: h, key, issued, args } = await expiredAuthGateSession(t, 'authgate-storm-rejected-')
    await revokeAtServer(server, issued.refresh_token!)
    server.quirks.refreshRejection = { status: 400, body: '' }
    const argv = [...args(['token']), '--lock-timeout', '90']

    const results = await Promise.all(Array.from({ length: N }, () => runCli(argv, { home: h })))

    for (const r of results) {
      assert.equal(r.code, 4, `pid ${r.pid} exited ${r.code ?? r.signal}: ${r.stderr}`)
      assert.equal(r.stdout, '', `pid ${r.pid} printed something`)
    }
    const rejected = results.filter((r) => r.stderr.startsWith('authgate: the server rejected the refresh token: '))
    const notSignedIn = results.filter((r) => r.stderr.startsWith('authgate: not signed in to '))
    assert.equal(rejected.length, 1, 'exactly one process saw the rejection and cleared the entry')
    assert.match(rejected[0]!.stderr, /token endpoint \S+\/oauth\/token answered 400 Bad Request with an empty body/)
    assert.equal(notSignedIn.length, N - 1, 'every other process found the entry already cleared')
    assert.equal(server.stats.refreshGrants, 1, 'the server saw more than one refresh attempt')
    assert.equal(readTokenEntry(h.tokenFile, key), undefined)
  },
)
