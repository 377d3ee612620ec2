import assert from 'node:assert/strict'
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test, type TestContext } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { createCliHome, requireBuild, runCli, spawnCli, type CliHome } from '../support/cli.ts'
import { fillUp, mountTmpfs, namesIn, nobody, needsRoot, pausedAfterPreflight, remount } from '../support/faults.ts'
import { launchChromium, signInInBrowser } from '../support/chromium.ts'
import { AUTHORIZATION_URL, freePort, USER_CODE, userCodeOf } from '../support/login-cli.ts'
import { obtainTokensFromAuthGate, sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * Issue 15, "nothing is spent that cannot be saved", with the faults made real: the token file on a tmpfs of the
 * test's own, filled to the last byte or remounted read-only, and a token directory the CLI's user cannot write. The
 * AuthGate test server rotates refresh tokens, so a grant sent and then lost would show up in its counters, and a
 * spent refresh token sent again as a reuse (familyRevocations).
 */

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

before(requireBuild)

let server: AuthGateTestServer
before(async () => {
  server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0, deviceCodeRateLimitPerMinute: 0 })
})
after(() => server.close())

interface Setup {
  home: CliHome
  tokenFile: string
  args: string[]
  env: Record<string, string>
  /** The store's bytes before the fault. */
  bytes: Buffer
}

/** A signed-in session whose access token has expired, in `dir`/tokens.json; locks stay in the home, off the fault. */
async function expiredSession(t: TestContext, dir: string): Promise<Setup> {
  const home = createCliHome()
  t.after(() => home.remove())
  const tokenFile = join(dir, 'tokens.json')
  writeTokenFile(tokenFile, sessionAccount(server.url, server.publicClientId), await obtainTokensFromAuthGate(server), {
    expired: true,
  })
  return {
    home,
    tokenFile,
    args: ['--token-store', 'file', '--token-file', tokenFile, '--lock-dir', home.lockDir],
    env: { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: server.publicClientId },
    bytes: readFileSync(tokenFile),
  }
}

function counters() {
  const s = server.stats
  return {
    refreshGrants: s.refreshGrants,
    deviceGrants: s.grantsByType[DEVICE_GRANT] ?? 0,
    invalidGrants: s.invalidGrants,
    familyRevocations: s.familyRevocations,
  }
}

/** `authgate token` after the fault is gone: one refresh, no reuse, no sign-in. */
async function recovers(s: Setup, before: ReturnType<typeof counters>): Promise<void> {
  const token = await runCli(['token', ...s.args], { home: s.home, env: s.env })
  assert.equal(token.code, 0, token.stderr)
  assert.ok(server.isTokenActive(token.stdout.trim()))
  assert.deepEqual(counters(), { ...before, refreshGrants: before.refreshGrants + 1 })
}

/** `authgate login --device`, approved at once: a poll that was sent would redeem the code. */
async function deviceLogin(s: Setup) {
  const run = spawnCli(['login', '--device', ...s.args], { home: s.home, env: s.env })
  server.approveDevice(userCodeOf(await run.waitForStderr(USER_CODE)))
  return run.exited
}

const faults = {
  'disk full': {
    apply: (dir: string) => fillUp(dir),
    remove: (_dir: string, filler: string) => unlinkSync(filler),
    says: /no space left on device.*; nothing was spent: free space and run again/,
  },
  'read-only': {
    apply: (dir: string) => remount(dir, 'ro'),
    remove: (dir: string) => remount(dir, 'rw'),
    says: /read-only file system.*; nothing was spent: make the file system writable and run again/,
  },
}

/** An expired session on a tmpfs of its own, then the fault; undefined when the test was skipped (not root). */
async function faulted(t: TestContext, fault: (typeof faults)[keyof typeof faults]) {
  if (!needsRoot(t)) return undefined
  const dir = mountTmpfs(t, 256)
  const s = await expiredSession(t, dir)
  const before = counters()
  return { dir, s, before, applied: fault.apply(dir) }
}

for (const [name, fault] of Object.entries(faults)) {
  describe(`the token file's file system is ${name}`, () => {
    test('token: exit 5, no refresh grant, the store unchanged; once fixed, one refresh and no sign-in', async (t) => {
      const f = await faulted(t, fault)
      if (!f) return
      const { dir, s, before } = f
      const token = await runCli(['token', ...s.args], { home: s.home, env: s.env })
      assert.equal(token.code, 5, token.stderr)
      assert.equal(token.stdout, '')
      assert.match(token.stderr, fault.says)
      assert.ok(token.stderr.includes(dir), `the message names the path: ${token.stderr}`)
      assert.deepEqual(counters(), before, 'nothing reached the token endpoint')
      assert.deepEqual(readFileSync(s.tokenFile), s.bytes, 'the store is byte-for-byte unchanged')
      assert.ok(!namesIn(dir).some((n) => n.endsWith('.tmp')), `no temp file is left: ${namesIn(dir)}`)

      fault.remove(dir, f.applied as string)
      await recovers(s, before)
    })

    test('login --device: the approved code is not redeemed, the store unchanged; the old session still refreshes', async (t) => {
      const f = await faulted(t, fault)
      if (!f) return
      const { dir, s, before } = f
      const login = await deviceLogin(s)
      assert.equal(login.code, 5, login.stderr)
      assert.match(login.stderr, fault.says)
      assert.deepEqual(counters(), before, 'no device-code poll was sent')
      assert.deepEqual(readFileSync(s.tokenFile), s.bytes)

      fault.remove(dir, f.applied as string)
      await recovers(s, before)
    })
  })
}

/**
 * The CLI as `nobody`, whose home and lock dir are its own, against a token file it owns in a directory root owns
 * (0755): readable, not writable. The checkout and node are world-readable here and in CI.
 */
async function nobodySetup(t: TestContext): Promise<Setup & { user: { uid: number; gid: number }; dir: string }> {
  const user = nobody()
  const base = mkdtempSync(join(tmpdir(), 'authgate-nobody-'))
  t.after(() => rmSync(base, { recursive: true, force: true }))
  chmodSync(base, 0o755)
  const dir = join(base, 'store')
  mkdirSync(dir, { mode: 0o755 })
  const s = await expiredSession(t, dir)
  chownSync(s.tokenFile, user.uid, user.gid)
  for (const path of [s.home.dir, ...['config', 'cache'].map((d) => join(s.home.dir, d))])
    chownSync(path, user.uid, user.gid)
  return { ...s, user, dir }
}

/** Nothing may be sent: the pre-flight's exit 5 (EACCES), or the contract's check that the user owns the directory (exit 1). */
function refusedForNobody(r: { code: number | null; stderr: string; stdout: string }, dir: string): void {
  if (r.code === 1) assert.ok(r.stderr.includes(dir), r.stderr)
  else {
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, /permission denied.*; nothing was spent: make the directory writable/i)
    assert.ok(r.stderr.includes(dir), r.stderr)
  }
  assert.equal(r.stdout, '')
}

describe('a token directory the user cannot write (the CLI runs as nobody)', () => {
  test('token: no refresh grant, the store unchanged; once writable, one refresh', async (t) => {
    if (!needsRoot(t)) return
    const s = await nobodySetup(t)
    const before = counters()
    refusedForNobody(await runCli(['token', ...s.args], { home: s.home, env: s.env, user: s.user }), s.dir)
    assert.deepEqual(counters(), before, 'nothing reached the token endpoint')
    assert.deepEqual(readFileSync(s.tokenFile), s.bytes)

    chownSync(s.dir, s.user.uid, s.user.gid)
    chmodSync(s.dir, 0o700)
    const again = await runCli(['token', ...s.args], { home: s.home, env: s.env, user: s.user })
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(counters(), { ...before, refreshGrants: before.refreshGrants + 1 })
  })

  test('login --device: the approved code is not redeemed, the store unchanged', async (t) => {
    if (!needsRoot(t)) return
    const s = await nobodySetup(t)
    const before = counters()
    const run = spawnCli(['login', '--device', ...s.args], { home: s.home, env: s.env, user: s.user })
    // The directory check (the contract's trust rules) refuses before any request, so no code may be shown at all.
    const prompt = await run.waitForStderr(USER_CODE).catch(() => undefined)
    if (prompt) server.approveDevice(userCodeOf(prompt))
    refusedForNobody(await run.exited, s.dir)
    assert.deepEqual(counters(), before, 'no device-code poll was sent')
    assert.deepEqual(readFileSync(s.tokenFile), s.bytes)
  })
})

test('login --browser on a full disk: the callback arrives, the code is not exchanged; the old session still refreshes', async (t) => {
  if (!needsRoot(t)) return
  const browser = await launchChromium(t)
  if (!browser) return
  const port = await freePort()
  const redirectUri = `http://localhost:${port}/callback`
  const own = await startAuthGateServer({
    rotation: true,
    tokenRateLimitPerMinute: 0,
    clients: [{ clientId: 'cli-browser', type: 'public', redirectUris: [redirectUri], scopes: 'email profile' }],
  })
  t.after(() => own.close())
  const dir = mountTmpfs(t, 256)
  const home = createCliHome()
  t.after(() => home.remove())
  const tokenFile = join(dir, 'tokens.json')
  const tokens = await obtainTokensFromAuthGate(own, { clientId: 'cli-browser' })
  writeTokenFile(tokenFile, sessionAccount(own.url, 'cli-browser'), tokens, { expired: true })
  const bytes = readFileSync(tokenFile)
  const args = ['--token-store', 'file', '--token-file', tokenFile, '--lock-dir', home.lockDir]
  const env = { AUTHGATE_SERVER_URL: own.url, AUTHGATE_CLIENT_ID: 'cli-browser', DISPLAY: ':99' }
  const filler = fillUp(dir)

  const login = spawnCli(['login', '--browser', '--no-open', '--callback-port', String(port), ...args], { home, env })
  const url = (await login.waitForStderr(AUTHORIZATION_URL))[1]!
  await signInInBrowser(await browser.newPage(), url, { username: 'admin', password: 'admin-password' }, (u) =>
    u.pathname.endsWith('/callback'),
  )
  const failed = await login.exited
  assert.equal(failed.code, 5, failed.stderr)
  assert.match(failed.stderr, /no space left on device.*; nothing was spent: free space and run again/)
  assert.equal(own.stats.grantsByType.authorization_code ?? 0, 0, 'the code was never exchanged')
  assert.deepEqual(readFileSync(tokenFile), bytes)

  unlinkSync(filler)
  const token = await runCli(['token', ...args], { home, env })
  assert.equal(token.code, 0, token.stderr)
  assert.equal(own.stats.refreshGrants, 1)
})

test('between the pre-flight and the save the file system cannot be made read-only: the reserved file holds it', async (t) => {
  if (!needsRoot(t)) return
  const dir = mountTmpfs(t, 256)
  const s = await expiredSession(t, dir)
  const before = counters()
  const run = spawnCli(['token', ...s.args], {
    home: s.home,
    env: { ...s.env, AUTHGATE_TEST_PAUSE_AFTER_PREFLIGHT: '1' },
  })
  await pausedAfterPreflight(run)
  assert.throws(() => remount(dir, 'ro'), /busy/, 'the kernel refuses while the temp file is open for writing')
  run.child.kill('SIGCONT')
  const done = await run.exited
  assert.equal(done.code, 0, done.stderr)
  assert.ok(server.isTokenActive(done.stdout.trim()))
  assert.deepEqual(counters(), { ...before, refreshGrants: before.refreshGrants + 1 })
})

/** Runs `args` paused after its pre-flight, fills the tmpfs to the last byte, and lets it go on. */
async function diskFillsAfterPreflight(s: Setup, dir: string, args: string[], approve = false) {
  const run = spawnCli(args, { home: s.home, env: { ...s.env, AUTHGATE_TEST_PAUSE_AFTER_PREFLIGHT: '1' } })
  if (approve) server.approveDevice(userCodeOf(await run.waitForStderr(USER_CODE)))
  await pausedAfterPreflight(run)
  const filler = fillUp(dir)
  run.child.kill('SIGCONT')
  return { done: await run.exited, filler }
}

test('the disk fills between the pre-flight and the save of a refresh: the reserved bytes take the new tokens', async (t) => {
  if (!needsRoot(t)) return
  const dir = mountTmpfs(t, 256)
  const s = await expiredSession(t, dir)
  const before = counters()
  const { done } = await diskFillsAfterPreflight(s, dir, ['token', ...s.args])
  assert.equal(done.code, 0, done.stderr)
  const saved = JSON.parse(readFileSync(s.tokenFile, 'utf8')).sessions[
    sessionAccount(server.url, server.publicClientId)
  ]
  assert.equal(saved.access_token, done.stdout.trim(), 'the new tokens are in the store, on a full disk')
  assert.deepEqual(counters(), { ...before, refreshGrants: before.refreshGrants + 1 })
  assert.ok(!namesIn(dir).some((n) => n.endsWith('.tmp')), `no temp file is left: ${namesIn(dir)}`)
})

test('the disk fills between the pre-flight and the save of a device sign-in: the sign-in is saved where it was reserved', async (t) => {
  if (!needsRoot(t)) return
  const dir = mountTmpfs(t, 256)
  const s = await expiredSession(t, dir)
  const before = counters()
  const { done, filler } = await diskFillsAfterPreflight(s, dir, ['login', '--device', ...s.args], true)
  assert.equal(done.code, 0, done.stderr)
  assert.deepEqual(counters(), { ...before, deviceGrants: before.deviceGrants + 1 }, 'one device grant, no refresh')
  assert.ok(!namesIn(dir).some((n) => n.endsWith('.tmp')), `no temp file is left: ${namesIn(dir)}`)
  const saved = JSON.parse(readFileSync(s.tokenFile, 'utf8')).sessions[
    sessionAccount(server.url, server.publicClientId)
  ]
  assert.ok(server.isTokenActive(saved.access_token), 'the store holds the new sign-in')

  // Still full: the session is usable as saved, with no refresh and no new sign-in.
  const token = await runCli(['token', ...s.args], { home: s.home, env: s.env })
  assert.equal(token.code, 0, token.stderr)
  assert.equal(token.stdout.trim(), saved.access_token)
  unlinkSync(filler)
  assert.deepEqual(counters(), { ...before, deviceGrants: before.deviceGrants + 1 })
})
