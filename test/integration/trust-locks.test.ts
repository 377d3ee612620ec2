import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { chmodSync, chownSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { after, before, describe, test, type TestContext } from 'node:test'
import { createCliHome, killAllClis, requireBuild, runCli, type CliHome } from '../support/cli.ts'
import { startLoggingServer, type LoggingServer } from '../support/logging-server.ts'
import { sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * Issue 9, attack 3: lock files and the directories they live in. Whoever can plant a link where authgate opens a
 * lock file could have a refresh truncate any file of the user's; whoever can write the lock dir can plant one.
 * Every refusal must come before any request to the server, and leave the victim file byte for byte as it was.
 */

before(requireBuild)
after(killAllClis)

const CLIENT = 'cli-locks'
const VICTIM_TEXT = 'precious: the user’s own file\n'

interface Setup {
  home: CliHome
  victim: string
  sessionLock: string
  storeLock: string
}

function signedIn(t: TestContext, server: LoggingServer): Setup {
  const home = createCliHome('authgate-locks-')
  t.after(home.remove)
  const tokens = { access_token: 'AT-locks-0123456789', refresh_token: 'RT-locks-0123456789', token_type: 'Bearer' }
  writeTokenFile(home.tokenFile, sessionAccount(server.url, CLIENT), { ...tokens, expires_in: 3600 }, { expired: true })
  mkdirSync(home.lockDir, { mode: 0o700 })
  const victim = join(home.dir, 'victim.txt')
  writeFileSync(victim, VICTIM_TEXT)
  const hash = createHash('sha256').update(`${server.url}\n${CLIENT}`).digest('hex')
  return { home, victim, sessionLock: join(home.lockDir, `${hash}.lock`), storeLock: `${home.tokenFile}.lock` }
}

const refresh = (s: Setup, server: LoggingServer) =>
  runCli(['refresh', '--force', '--server-url', server.url, '--client-id', CLIENT, ...s.home.flags], { home: s.home })

describe('lock files and their directories', () => {
  let server: LoggingServer
  before(async () => void (server = await startLoggingServer()))
  after(() => server.close())

  const planted: Array<{ name: string; plant: (s: Setup) => void; want: RegExp; lock: (s: Setup) => string }> = [
    {
      name: 'a session lock that is a symlink to a file of the user’s',
      plant: (s) => symlinkSync(s.victim, s.sessionLock),
      lock: (s) => s.sessionLock,
      want: /it is a symbolic link/,
    },
    {
      name: 'a session lock that is a hard link to a file of the user’s',
      plant: (s) => linkSync(s.victim, s.sessionLock),
      lock: (s) => s.sessionLock,
      want: /it has 2 links/,
    },
    {
      name: 'a store lock (<token file>.lock) that is a symlink to a file of the user’s',
      plant: (s) => symlinkSync(s.victim, s.storeLock),
      lock: (s) => s.storeLock,
      want: /it is a symbolic link/,
    },
  ]
  for (const c of planted) {
    test(`${c.name}: refused (exit 1, naming it) before any request; the victim is unchanged`, async (t) => {
      const s = signedIn(t, server)
      c.plant(s)
      const before = server.requests.length
      const out = await refresh(s, server)
      assert.equal(out.code, 1, out.stderr)
      assert.ok(out.stderr.includes(`refusing the lock file ${c.lock(s)}`), out.stderr)
      assert.match(out.stderr, c.want)
      assert.equal(readFileSync(s.victim, 'utf8'), VICTIM_TEXT)
      assert.equal(server.requests.length, before, 'no request reached the server')
    })
  }

  const dirs: Array<{ name: string; dir: (s: Setup) => string; spoil: (dir: string) => void; want: RegExp }> = [
    { name: 'a group-writable lock dir', dir: (s) => s.home.lockDir, spoil: (d) => chmodSync(d, 0o770), want: /group/ },
    {
      name: 'a world-writable lock dir (sticky, as /tmp)',
      dir: (s) => s.home.lockDir,
      spoil: (d) => chmodSync(d, 0o1777),
      want: /group and others/,
    },
    {
      name: 'a token file directory writable by others',
      dir: (s) => dirname(s.home.tokenFile),
      spoil: (d) => chmodSync(d, 0o702),
      want: /others/,
    },
    {
      name: 'a lock dir owned by another user (nobody)',
      dir: (s) => s.home.lockDir,
      spoil: (d) => chownSync(d, 65534, 65534),
      want: /belongs to uid 65534, not to you/,
    },
  ]
  for (const c of dirs) {
    test(`${c.name}: refused with exit 1 naming the directory, before any request`, async (t) => {
      if (c.name.includes('nobody') && process.getuid?.() !== 0) return t.skip('chown needs root')
      const s = signedIn(t, server)
      c.spoil(c.dir(s))
      const before = server.requests.length
      const out = await refresh(s, server)
      assert.equal(out.code, 1, out.stderr)
      assert.ok(out.stderr.includes(`refusing to use the directory ${c.dir(s)}: `), out.stderr)
      assert.match(out.stderr, c.want)
      assert.equal(server.requests.length, before, 'no request reached the server')
    })
  }

  test('`token` with a fresh token (the fast lane, no lock needed) refuses a shared lock dir all the same', async (t) => {
    const s = signedIn(t, server)
    writeTokenFile(s.home.tokenFile, sessionAccount(server.url, CLIENT), {
      access_token: 'AT-fresh-0123456789',
      token_type: 'Bearer',
      expires_in: 3600,
    })
    chmodSync(s.home.lockDir, 0o777)
    const out = await runCli(['token', '--server-url', server.url, '--client-id', CLIENT, ...s.home.flags], {
      home: s.home,
    })
    assert.deepEqual([out.code, out.stdout], [1, ''], out.stderr)
    assert.ok(out.stderr.includes(`refusing to use the directory ${s.home.lockDir}: `), out.stderr)
  })

  test('a private lock dir and a token file linked by the user: the refresh goes through the link', async (t) => {
    const s = signedIn(t, server)
    const target = join(s.home.dir, 'dotfiles', 'tokens.json')
    mkdirSync(dirname(target), { mode: 0o700 })
    writeFileSync(target, readFileSync(s.home.tokenFile))
    const linked = join(s.home.dir, 'store', 'linked.json')
    symlinkSync(target, linked)
    const flags = ['--token-store', 'file', '--token-file', linked, '--lock-dir', s.home.lockDir]
    const out = await runCli(['refresh', '--force', '--server-url', server.url, '--client-id', CLIENT, ...flags], {
      home: s.home,
    })
    assert.equal(out.code, 0, out.stderr)
    assert.match(readFileSync(target, 'utf8'), /AT-issued-/)
  })
})
