import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startAuthGateServer } from '../support/authgate-server/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli, spawnCli } from '../support/cli.ts'
import { sessionLockFile, startTokenProxy } from '../support/hostile-server.ts'
import { obtainTokensFromAuthGate, readTokenEntry, sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * Issue 6 item 3: the lock holder is frozen (SIGSTOP: a laptop lid, a debugger, a swap storm) in the middle of its
 * refresh, for longer than the others' lock timeout. A kernel lock stays held by a stopped process, so the waiters
 * must give up with exit 5 and never refresh themselves (that would spend a refresh token the holder is about to
 * replace); when the holder continues it must finish its refresh and save it.
 */

before(requireBuild)
after(killAllClis)

test(
  'a frozen lock holder: waiters exit 5 naming it without refreshing; continued, the holder saves a valid token',
  { timeout: 180_000 },
  async (t) => {
    const server = await startAuthGateServer({
      rotation: true,
      tokenRateLimitPerMinute: 0,
      deviceCodeRateLimitPerMinute: 0,
    })
    t.after(() => server.close())
    const home = createCliHome('authgate-frozen-')
    t.after(() => home.remove())
    let arrived!: () => void
    const holderArrived = new Promise<void>((resolve) => (arrived = resolve))
    let forward!: () => void
    const forwarded = new Promise<void>((resolve) => (forward = resolve))
    let relayed!: () => void
    const answerRelayed = new Promise<void>((resolve) => (relayed = resolve))
    const proxy = await startTokenProxy(server.url, {
      lockDir: home.lockDir,
      beforeForward: (exchange) => {
        if (exchange.grantType !== 'refresh_token') return
        arrived()
        return forwarded.then(() => 'forward' as const)
      },
      beforeRelay: () => relayed(),
    })
    t.after(() => proxy.close())
    const key = sessionAccount(proxy.url, server.publicClientId)
    writeTokenFile(home.tokenFile, key, await obtainTokensFromAuthGate(server), { expired: true })
    const args = ['token', '--server-url', proxy.url, '--client-id', server.publicClientId, ...home.flags]

    const holder = spawnCli(args, { home })
    const ended = holder.exited.then((r): never =>
      assert.fail(`the holder ended before its refresh arrived: ${r.stderr}`),
    )
    ended.catch(() => {})
    await Promise.race([holderArrived, ended])
    assert.equal(proxy.refreshes()[0]!.holderPid, holder.pid, 'the refresh did not come from the lock holder')
    holder.child.kill('SIGSTOP')
    t.after(() => void holder.child.kill('SIGCONT'))

    const waiters = await Promise.all([1, 2].map(() => runCli([...args, '--lock-timeout', '1'], { home })))
    const lockFile = sessionLockFile(home.lockDir)!
    for (const w of waiters) {
      assert.equal(w.code, 5, w.stderr)
      assert.equal(w.stdout, '')
      assert.ok(
        w.stderr.includes(`waiting for the lock ${lockFile}`),
        `the message does not name the lock file: ${w.stderr}`,
      )
      assert.ok(w.stderr.includes(`held by pid ${holder.pid}`), `the message does not name the holder: ${w.stderr}`)
    }
    assert.equal(proxy.refreshes().length, 1, 'a waiter sent a refresh grant while the holder was frozen')
    assert.equal(server.stats.refreshGrants, 0)

    // The server answers while the holder is still stopped; the answer waits in its socket.
    forward()
    await answerRelayed
    holder.child.kill('SIGCONT')
    const done = await holder.exited
    assert.equal(done.code, 0, done.stderr)
    const token = done.stdout.trim()
    assert.equal(readTokenEntry(home.tokenFile, key)?.access_token, token)
    assert.ok(server.isTokenActive(token))
    assert.equal(server.stats.refreshGrants, 1)
    assert.equal(server.stats.invalidGrants, 0)
    assert.equal(server.stats.familyRevocations, 0)

    const again = await runCli(args, { home })
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.stdout, `${token}\n`)
    assert.equal(server.stats.refreshGrants, 1)
  },
)
