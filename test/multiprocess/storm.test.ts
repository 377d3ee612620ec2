import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'
import { after, before, describe, test, type TestContext } from 'node:test'
import { killAllClis, requireBuild, runCli, spawnCli, type CliHome, type CliResult } from '../support/cli.ts'
import { blockedLockWaiters, lockHolderPid, sessionLockFile, startTokenProxy } from '../support/hostile-server.ts'
import { startOidcServer } from '../support/oidc-server.ts'
import { rotatingAuthGate, testHome } from '../support/storm.ts'
import {
  obtainTokensFromAuthGate,
  obtainTokensFromOidc,
  readTokenEntry,
  sessionAccount,
  writeTokenFile,
} from '../support/tokens.ts'

/**
 * Issue 2 item 9: N real `authgate token` processes racing on one expired session. Sized for 2 cores; nothing here
 * asserts speed. The only time bounds are hang guards (the lock timeout, the CLI helper's 120 s), which turn a hang
 * into a failure.
 */

const N = 20

before(requireBuild)
after(killAllClis)

const home = (t: TestContext) => testHome(t)
const authgate = rotatingAuthGate

function tokenArgs(serverUrl: string, clientId: string, h: CliHome, extra: string[] = []): string[] {
  // A lock timeout far above what a loaded CI machine needs: a timeout here would be a false failure, not a finding.
  return ['token', '--server-url', serverUrl, '--client-id', clientId, ...h.flags, '--lock-timeout', '90', ...extra]
}

/** All exited 0 and printed one and the same token, which is the one in the store. */
function assertOneToken(results: CliResult[], h: CliHome, key: string): string {
  for (const r of results) assert.equal(r.code, 0, `pid ${r.pid} exited ${r.code ?? r.signal}: ${r.stderr}`)
  const printed = new Set(results.map((r) => r.stdout))
  assert.equal(printed.size, 1, `the processes printed ${printed.size} different answers`)
  const token = [...printed][0]!
  assert.match(token, /^\S+\n$/, 'stdout is the token and a newline, nothing else')
  assert.equal(token.trim(), readTokenEntry(h.tokenFile, key)?.access_token, 'the printed token is the stored one')
  for (const r of results) assert.equal(r.stderr, '', `pid ${r.pid} wrote to stderr`)
  return token.trim()
}

describe('refresh storm across processes', { timeout: 300_000 }, () => {
  test(`AuthGate in rotation mode: ${N} processes on an expired token → one refresh grant, one valid token`, async (t) => {
    const server = await authgate(t)
    const h = home(t)
    const key = sessionAccount(server.url, server.publicClientId)
    const issued = await obtainTokensFromAuthGate(server)
    writeTokenFile(h.tokenFile, key, issued, { expired: true })

    const results = await Promise.all(
      Array.from({ length: N }, () => runCli(tokenArgs(server.url, server.publicClientId, h), { home: h })),
    )

    const token = assertOneToken(results, h, key)
    assert.notEqual(token, issued.access_token, 'the expired token was printed')
    assert.equal(server.stats.refreshGrants, 1)
    assert.equal(server.stats.successfulRefreshes, 1)
    assert.equal(server.stats.invalidGrants, 0)
    assert.equal(server.stats.familyRevocations, 0)
    assert.ok(server.isTokenActive(token), 'the printed token is not active at the server')
    assert.ok(
      server.isTokenActive(readTokenEntry(h.tokenFile, key)!.refresh_token!),
      'the stored refresh token is not active',
    )
  })

  test(`oidc-provider with reuse detection: ${N} processes on an expired token → one refresh grant, one valid token`, async (t) => {
    const server = await startOidcServer({ quiet: true })
    t.after(() => server.close())
    const h = home(t)
    const key = sessionAccount(server.url, 'cli')
    const issued = await obtainTokensFromOidc(server)
    assert.ok(issued.refresh_token, 'oidc-provider issued no refresh token')
    writeTokenFile(h.tokenFile, key, issued, { expired: true })

    const results = await Promise.all(
      Array.from({ length: N }, () => runCli(tokenArgs(server.url, 'cli', h), { home: h })),
    )

    const token = assertOneToken(results, h, key)
    assert.notEqual(token, issued.access_token)
    assert.equal(server.stats.refreshGrants, 1)
    assert.equal(server.stats.invalidGrants, 0)
    assert.equal(server.stats.grantsRevoked, 0)
    assert.equal((await server.introspect(token)).active, true, 'the printed token is not active at the server')
  })

  test('the lock holder SIGKILLed in the middle of its refresh: a waiter takes the lock and refreshes, nobody is logged out', async (t) => {
    const server = await authgate(t)
    const h = home(t)
    // The holder's refresh request is held at the proxy, so it holds the lock for as long as the test wants.
    let arrived!: (pid: number | undefined) => void
    const holderArrived = new Promise<number | undefined>((resolve) => (arrived = resolve))
    let release!: () => void
    const released = new Promise<'drop'>((resolve) => (release = () => resolve('drop')))
    const proxy = await startTokenProxy(server.url, {
      lockDir: h.lockDir,
      beforeForward: (exchange) => {
        if (exchange.grantType !== 'refresh_token' || proxy.refreshes().length > 1) return 'forward'
        arrived(exchange.holderPid)
        return released
      },
    })
    t.after(() => proxy.close())
    const key = sessionAccount(proxy.url, server.publicClientId)
    writeTokenFile(h.tokenFile, key, await obtainTokensFromAuthGate(server), { expired: true })
    const args = tokenArgs(proxy.url, server.publicClientId, h)

    const holder = spawnCli(args, { home: h })
    const ended = holder.exited.then((r): never =>
      assert.fail(`the holder ended before its refresh arrived: ${r.stderr}`),
    )
    ended.catch(() => {}) // only the race below cares
    assert.equal(
      await Promise.race([holderArrived, ended]),
      holder.pid,
      'the refresh came from another process than the one holding the lock',
    )
    const waiters = [spawnCli(args, { home: h }), spawnCli(args, { home: h })]
    const lockFile = sessionLockFile(h.lockDir)!
    while (blockedLockWaiters(lockFile) < 2) {
      const early = waiters.find((w) => w.child.exitCode !== null)
      assert.equal(early, undefined, `a waiter ended while the holder held the lock: ${early?.stderr()}`)
      await delay(20)
    }
    holder.child.kill('SIGKILL')
    assert.equal((await holder.exited).signal, 'SIGKILL')
    release() // the killed holder's request is dropped: the server never saw it

    const results = await Promise.all(waiters.map((w) => w.exited))
    const token = assertOneToken(results, h, key)
    assert.equal(proxy.refreshes().length, 2, 'one waiter refreshes after the holder died, the other adopts its token')
    assert.equal(proxy.refreshes()[0]!.dropped, true)
    assert.equal(server.stats.refreshGrants, 1)
    assert.equal(server.stats.invalidGrants, 0)
    assert.equal(server.stats.familyRevocations, 0)
    assert.ok(server.isTokenActive(token))
    assert.notEqual(lockHolderPid(h.lockDir), holder.pid, 'the lock file still names the dead holder')
  })

  test('a corrupt store: every process exits 1 naming the file, and the file is byte-for-byte unchanged', async (t) => {
    const server = await authgate(t)
    const h = home(t)
    const key = sessionAccount(server.url, server.publicClientId)
    const valid = writeTokenFile(h.tokenFile, key, await obtainTokensFromAuthGate(server), { expired: true })
    const corrupt = Buffer.from(valid.slice(0, Math.floor(valid.length / 2))) // a write cut short
    writeFileSync(h.tokenFile, corrupt, { mode: 0o600 })

    const commands = [
      tokenArgs(server.url, server.publicClientId, h),
      ['refresh', '--force', ...tokenArgs(server.url, server.publicClientId, h).slice(1)],
    ]
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => runCli(commands[i % 2]!, { home: h })))

    for (const r of results) {
      assert.equal(r.code, 1, r.stderr)
      assert.equal(r.stdout, '')
      assert.ok(r.stderr.includes(h.tokenFile), `the message does not name ${h.tokenFile}: ${r.stderr}`)
    }
    assert.deepEqual(readFileSync(h.tokenFile), corrupt)
    assert.equal(server.stats.refreshGrants, 0)
  })
})
