import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { after, before, describe, test, type TestContext } from 'node:test'
import { sessionKey } from '../../src/session-key.ts'
import { createLockFile } from '../../src/lock/kernel-lock.ts'
import { loginLockPath } from '../../src/session-key.ts'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { launchChromium, signInInBrowser } from '../support/chromium.ts'
import { createCliHome, killAllClis, runCli, spawnCli, type CliHome, type CliProcess } from '../support/cli.ts'
import { blockedLockWaiters } from '../support/hostile-server.ts'
import { freePort, requireBuild, userCodeOf, USER_CODE } from '../support/login-cli.ts'
import { startOidcServer } from '../support/oidc-server.ts'
import { assertOneTokenForAll } from '../support/storm.ts'
import { obtainTokensFromAuthGate, readTokenEntry, sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * The login lock (issue 12 item 4) with real CLIs, the real kernel lock and real servers: one sign-in per session at a
 * time, shared by whoever waited for it; `--login` on `token`; and a refresh that never waits for a sign-in.
 */

before(requireBuild)
after(killAllClis)

const WAITING = /^waiting for the sign-in in progress \(pid (\d+)\)$/m
const ADMIN = { username: 'admin', password: 'admin-password' }
const holdLock = createLockFile({ pid: process.pid, sleep: (ms, signal) => delay(ms, undefined, { signal }) })

function home(t: TestContext): CliHome {
  const h = createCliHome('authgate-login-lock-')
  t.after(() => h.remove())
  return h
}

async function authgate(t: TestContext, options: Parameters<typeof startAuthGateServer>[0] = {}) {
  const server = await startAuthGateServer(options)
  t.after(() => server.close())
  return server
}

/** Resolves once `count` processes are blocked on the kernel lock at `path` (fails if one of `procs` ends first). */
async function blockedOn(path: string, count: number, procs: readonly CliProcess[]): Promise<void> {
  for (;;) {
    try {
      if (blockedLockWaiters(path) >= count) return
    } catch {
      // the lock file does not exist yet
    }
    const early = procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null)
    assert.equal(
      early,
      undefined,
      `pid ${early?.pid} ended (${early?.child.exitCode ?? early?.child.signalCode}) before the sign-in: ${early?.stderr()} / ${early?.stdout()}`,
    )
    await delay(20)
  }
}

describe('two `login --device` at once: one device code, both signed in', { timeout: 120_000 }, () => {
  const servers = {
    AuthGate: async (t: TestContext) => {
      const server = await authgate(t)
      return { url: server.url, clientId: server.publicClientId, server, approve: server.approveDevice }
    },
    'oidc-provider': async (t: TestContext) => {
      const server = await startOidcServer({ quiet: true })
      t.after(() => server.close())
      return { url: server.url, clientId: 'cli', server, approve: (code: string) => server.approveDevice(code) }
    },
  }
  for (const [name, start] of Object.entries(servers)) {
    test(name, async (t) => {
      const s = await start(t)
      const h = home(t)
      const env = { AUTHGATE_SERVER_URL: s.url, AUTHGATE_CLIENT_ID: s.clientId }
      const first = spawnCli(['login', '--device', ...h.flags], { home: h, env })
      const userCode = userCodeOf(await first.waitForStderr(USER_CODE))
      const second = spawnCli(['login', '--device', ...h.flags], { home: h, env })
      assert.equal(Number((await second.waitForStderr(WAITING))[1]), first.pid, 'the waiter names the signing-in pid')
      await s.approve(userCode)
      const [a, b] = await Promise.all([first.exited, second.exited])
      assert.deepEqual([a.code, b.code], [0, 0], `${a.stderr}\n---\n${b.stderr}`)
      assert.doesNotMatch(b.stderr, USER_CODE, 'the waiter showed a device code of its own')
      assert.match(b.stderr, /^Signed in to /m)
      assert.equal(s.server.stats.deviceAuthorizations, 1, 'device authorization requests')
    })
  }

  test('AuthGate: the first sign-in is interrupted; the waiter then signs in itself', async (t) => {
    const server = await authgate(t)
    const h = home(t)
    const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: server.publicClientId }
    const first = spawnCli(['login', '--device', ...h.flags], { home: h, env })
    await first.waitForStderr(USER_CODE)
    const second = spawnCli(['login', '--device', ...h.flags], { home: h, env })
    await second.waitForStderr(WAITING)
    first.child.kill('SIGINT')
    assert.equal((await first.exited).code, 130)
    server.approveDevice(userCodeOf(await second.waitForStderr(USER_CODE)))
    const b = await second.exited
    assert.equal(b.code, 0, b.stderr)
    assert.equal(server.stats.deviceAuthorizations, 2)
  })
})

/** An `xdg-open` first on PATH (the opener `open` runs on Linux) that hands the URL to the test over HTTP. */
async function scriptedOpener(t: TestContext, h: CliHome, onOpen: (url: string) => Promise<void>) {
  const opened: string[] = []
  const listener = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      opened.push(body)
      res.end()
      void onOpen(body)
    })
  })
  await new Promise<void>((done) => listener.listen(0, '127.0.0.1', done))
  t.after(() => new Promise<void>((done) => listener.close(() => done())))
  const port = (listener.address() as AddressInfo).port
  const bin = join(h.dir, 'bin')
  mkdirSync(bin)
  const script = `#!${process.execPath}\nfetch('http://127.0.0.1:${port}/', { method: 'POST', body: process.argv[2] })\n`
  writeFileSync(join(bin, 'xdg-open'), script)
  chmodSync(join(bin, 'xdg-open'), 0o755)
  return { opened, path: `${bin}:${h.env.PATH}` }
}

/** A session whose access token has expired and whose refresh token the server has revoked: only a sign-in helps. */
async function deadSession(server: AuthGateTestServer, h: CliHome, clientId: string): Promise<void> {
  const issued = await obtainTokensFromAuthGate(server, { clientId })
  await fetch(`${server.url}/oauth/revoke`, {
    method: 'POST',
    body: new URLSearchParams({ token: issued.refresh_token! }),
  })
  writeTokenFile(h.tokenFile, sessionAccount(server.url, clientId), issued, { expired: true })
}

test(
  '20 `token --login` on a dead session: one browser sign-in (Chromium), all 20 print the same token',
  { timeout: 300_000 },
  async (t) => {
    const browser = await launchChromium(t)
    if (!browser) return
    const port = await freePort()
    const redirectUri = `http://localhost:${port}/callback`
    const server = await authgate(t, {
      clients: [{ clientId: 'cli-browser', type: 'public', redirectUris: [redirectUri], scopes: 'email profile' }],
    })
    const h = home(t)
    await deadSession(server, h, 'cli-browser')
    const loginLock = loginLockPath(h.lockDir, sessionKey(server.url, 'cli-browser'))
    const procs: CliProcess[] = []
    let signedIn!: Promise<unknown>
    const opener = await scriptedOpener(t, h, async (url) => {
      // The person only gets to the browser once all 19 others are queued behind this sign-in.
      await blockedOn(loginLock, 19, procs)
      signedIn = signInInBrowser(await browser.newPage(), url, ADMIN, (u) => u.port === String(port))
    })
    const env = {
      PATH: opener.path,
      DISPLAY: ':99',
      AUTHGATE_SERVER_URL: server.url,
      AUTHGATE_CLIENT_ID: 'cli-browser',
      AUTHGATE_CALLBACK_PORT: String(port),
    }
    const args = ['token', '--login', ...h.flags, '--lock-timeout', '120']
    for (let i = 0; i < 20; i++) procs.push(spawnCli(args, { home: h, env }))
    const results = await Promise.all(procs.map((p) => p.exited))
    await signedIn

    const printed = assertOneTokenForAll(results.map((r) => ({ ...r, stderr: '' })))
    assert.equal(opener.opened.length, 1, 'browser tabs opened')
    assert.equal(server.stats.grantsByType.authorization_code, 1, 'authorization-code grants')
    assert.equal(server.stats.deviceAuthorizations, 1, 'no device code but the one that made the dead session')
    assert.equal(printed, readTokenEntry(h.tokenFile, sessionAccount(server.url, 'cli-browser'))?.access_token)
    assert.ok(server.isTokenActive(printed))
    assert.equal(results.filter((r) => WAITING.test(r.stderr)).length >= 19, true, 'the others said they waited')
  },
)

test('a held login lock never delays a refresh: an expired token with a good refresh token is refreshed', async (t) => {
  const server = await authgate(t)
  const h = home(t)
  writeTokenFile(
    h.tokenFile,
    sessionAccount(server.url, server.publicClientId),
    await obtainTokensFromAuthGate(server),
    {
      expired: true,
    },
  )
  const held = await holdLock(loginLockPath(h.lockDir, sessionKey(server.url, server.publicClientId)), {
    timeoutMs: 10_000,
  })
  t.after(() => held.release())
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: server.publicClientId }
  // A lock timeout of 5 s: a refresh that waited for the login lock would end in exit 5, not hang the test.
  for (const args of [['token'], ['token', '--login'], ['credential', 'kubectl', '--login']]) {
    const r = await runCli([...args, ...h.flags, '--lock-timeout', '5'], { home: h, env })
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    assert.equal(r.stderr, '')
  }
  assert.equal(server.stats.refreshGrants, 1)
})

test('`token --login` with nobody to sign in (CI=true, or no terminal and no display): exit 4 as without it', async (t) => {
  const server = await authgate(t)
  const h = home(t)
  const opener = await scriptedOpener(t, h, async () => {})
  const base = { PATH: opener.path, AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: server.publicClientId }
  for (const env of [{ ...base, DISPLAY: ':99', CI: 'true' }, base]) {
    const r = await runCli(['token', '--login', ...h.flags], { home: h, env })
    assert.equal(r.code, 4, r.stderr)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /not signed in/)
  }
  assert.deepEqual(opener.opened, [])
  assert.equal(server.stats.deviceAuthorizations, 0)
})
