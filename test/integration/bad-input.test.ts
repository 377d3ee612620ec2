import assert from 'node:assert/strict'
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test, type TestContext } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli, type CliHome } from '../support/cli.ts'
import { obtainTokensFromAuthGate, readTokenEntry, sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * Issue 6 item 5: bad local input. The CLI must fail with a clear message naming the file (by absolute path) and the
 * right exit code, and never change a file it could not use.
 */

before(requireBuild)
after(killAllClis)

/** Nothing listens on port 9 (discard): a command that reaches the network fails fast with exit 5. */
const NOWHERE = 'http://127.0.0.1:9'
const FAKE = {
  access_token: 'fake-access-token-abcdefghijklmnop',
  token_type: 'Bearer',
  refresh_token: 'fake-refresh-token-abcdefghijklmnop',
  expires_in: 3600,
}

function home(t: TestContext): CliHome {
  const h = createCliHome('authgate-bad-')
  t.after(() => h.remove())
  return h
}

async function authgate(t: TestContext, clients: string[] = []): Promise<AuthGateTestServer> {
  const server = await startAuthGateServer({
    rotation: true,
    tokenRateLimitPerMinute: 0,
    deviceCodeRateLimitPerMinute: 0,
    clients: clients.map((clientId) => ({
      clientId,
      type: 'public' as const,
      redirectUris: ['http://localhost:8888/callback'],
      scopes: 'email profile',
    })),
  })
  t.after(() => server.close())
  return server
}

describe('unusable token stores', () => {
  const valid = `${JSON.stringify({ version: 1, sessions: { [sessionAccount(NOWHERE, 'cli')]: { access_token: FAKE.access_token, refresh_token: FAKE.refresh_token, expires_at: '2000-01-01T00:00:00Z' } } }, null, 2)}\n`
  const stores: Array<[string, string | Buffer, RegExp]> = [
    ['garbage', Buffer.from([0xff, 0xfe, 0x00, 0x42, 0x13, 0x37]), /not valid JSON/],
    ['truncated', valid.slice(0, valid.length - 20), /not valid JSON/],
    ['empty', '', /empty/],
    ['a JSON array', '[1,2,3]', /not a JSON object/],
    ['sessions that is not an object', '{"version":1,"sessions":[]}', /"sessions" is not an object/],
    [
      'an entry with the wrong types',
      JSON.stringify({ version: 1, sessions: { [sessionAccount(NOWHERE, 'cli')]: { access_token: 42 } } }),
      /access_token/,
    ],
    ['a newer format version', JSON.stringify({ version: 2, sessions: {} }), /version 2/],
  ]
  for (const [name, content, why] of stores) {
    test(`${name}: token, refresh --force and status exit 1 naming the file, which stays byte-for-byte the same`, async (t) => {
      const h = home(t)
      mkdirSync(join(h.tokenFile, '..'), { recursive: true, mode: 0o700 })
      writeFileSync(h.tokenFile, content, { mode: 0o600 })
      const before = readFileSync(h.tokenFile)
      const flags = ['--server-url', NOWHERE, '--client-id', 'cli', ...h.flags]
      for (const command of [['token'], ['refresh', '--force'], ['status', '--offline']]) {
        const r = await runCli([...command, ...flags], { home: h })
        assert.equal(r.code, 1, `${command.join(' ')}: ${r.stderr}`)
        assert.ok(r.stderr.includes(h.tokenFile), `${command.join(' ')} does not name ${h.tokenFile}: ${r.stderr}`)
        assert.match(r.stderr, why)
        assert.ok(
          !r.stderr.includes(FAKE.access_token) && !r.stderr.includes(FAKE.refresh_token),
          'the message quotes a token',
        )
        assert.deepEqual(readFileSync(h.tokenFile), before, `${command.join(' ')} changed the file`)
      }
    })
  }
})

test('a store readable by other users: status warns, naming the file and the fix', async (t) => {
  const h = home(t)
  writeTokenFile(h.tokenFile, sessionAccount(NOWHERE, 'cli'), FAKE)
  chmodSync(h.tokenFile, 0o644)
  const r = await runCli(['status', '--offline', '--server-url', NOWHERE, '--client-id', 'cli', ...h.flags], {
    home: h,
  })
  assert.equal(r.code, 0, r.stderr)
  assert.match(
    r.stderr,
    new RegExp(`${h.tokenFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*(other users|readable)`),
    `no warning about the mode: ${r.stderr}`,
  )
  assert.match(r.stderr, /chmod 600/)
  assert.equal(statSync(h.tokenFile).mode & 0o777, 0o644, "status changed the mode behind the user's back")
})

test('a token file that is a symbolic link: read through it, written to its target, the link stays a link', async (t) => {
  const server = await authgate(t)
  const h = home(t)
  const target = join(h.dir, 'dotfiles', 'authgate-tokens.json')
  const key = sessionAccount(server.url, server.publicClientId)
  writeTokenFile(target, key, await obtainTokensFromAuthGate(server), { expired: true })
  mkdirSync(join(h.tokenFile, '..'), { recursive: true, mode: 0o700 })
  symlinkSync('../dotfiles/authgate-tokens.json', h.tokenFile)

  const r = await runCli(['token', '--server-url', server.url, '--client-id', server.publicClientId, ...h.flags], {
    home: h,
  })
  assert.equal(r.code, 0, r.stderr)
  assert.ok(lstatSync(h.tokenFile).isSymbolicLink(), 'the link was replaced by a file')
  assert.equal(readTokenEntry(target, key)?.access_token, r.stdout.trim(), 'the target does not hold the new token')
  assert.ok(server.isTokenActive(r.stdout.trim()))
  assert.equal(statSync(target).mode & 0o777, 0o600)
  assert.ok(existsSync(`${target}.lock`), 'the store lock is not beside the target')
  assert.deepEqual(readdirSync(join(h.tokenFile, '..')), ['tokens.json'], 'files were left beside the link')

  const again = await runCli(['token', '--server-url', server.url, '--client-id', server.publicClientId, ...h.flags], {
    home: h,
  })
  assert.equal(again.stdout, r.stdout, 'the next run did not read the new token through the link')
  assert.equal(server.stats.refreshGrants, 1)
})

test('a lock directory that cannot be created: exit 1 naming it, the store untouched, no refresh sent', async (t) => {
  const server = await authgate(t)
  const h = home(t)
  const blocker = join(h.dir, 'not-a-directory')
  writeFileSync(blocker, 'a regular file where the lock dir should be\n')
  const lockDir = join(blocker, 'locks') // ENOTDIR, even for root
  const key = sessionAccount(server.url, server.publicClientId)
  const tokens = await obtainTokensFromAuthGate(server)
  const flags = [
    '--server-url',
    server.url,
    '--client-id',
    server.publicClientId,
    '--token-store',
    'file',
    '--token-file',
    h.tokenFile,
    '--lock-dir',
    lockDir,
  ]

  writeTokenFile(h.tokenFile, key, tokens, { expired: true })
  const before = readFileSync(h.tokenFile)
  const r = await runCli(['token', ...flags], { home: h })
  assert.equal(r.code, 1, r.stderr)
  assert.equal(r.stdout, '')
  assert.ok(r.stderr.includes(lockDir), `the message does not name ${lockDir}: ${r.stderr}`)
  assert.match(r.stderr, /ENOTDIR|not a directory/i)
  assert.deepEqual(readFileSync(h.tokenFile), before)
  assert.equal(server.stats.refreshGrants, 0)

  // A fresh token needs no lock, so the broken lock dir does not get in the way.
  writeTokenFile(h.tokenFile, key, tokens)
  const fresh = await runCli(['token', ...flags], { home: h })
  assert.equal(fresh.code, 0, fresh.stderr)
  assert.equal(fresh.stdout, `${tokens.access_token}\n`)
})

describe('client ids are opaque: never part of a path', () => {
  const ids: Array<[string, string]> = [
    ['path separators and dot-dots', '../../../etc/passwd/..\\..\\windows'],
    ['unicode', 'ünïcødé 客户端 🚀 \u202e'],
    ['a name every object inherits', 'constructor'],
    ['1 KB of text', `k${'Lorem ipsum dolor sit amet, '.repeat(40)}`.slice(0, 1024)],
  ]
  for (const [name, clientId] of ids) {
    test(`${name}: refreshes and prints a valid token, the lock file is named by a hash`, async (t) => {
      const server = await authgate(t, [clientId])
      const h = home(t)
      const key = sessionAccount(server.url, clientId)
      writeTokenFile(h.tokenFile, key, await obtainTokensFromAuthGate(server, { clientId }), { expired: true })
      const flags = ['--server-url', server.url, '--client-id', clientId, ...h.flags]

      const r = await runCli(['token', ...flags], { home: h })
      assert.equal(r.code, 0, r.stderr)
      assert.ok(server.isTokenActive(r.stdout.trim()))
      assert.equal(server.stats.refreshGrants, 1)
      assert.deepEqual(
        readdirSync(h.lockDir).map((f) => /^[0-9a-f]{64}\.lock$/.test(f)),
        [true],
        `lock dir: ${readdirSync(h.lockDir).join(', ')}`,
      )
      assert.deepEqual(
        readdirSync(h.dir).sort(),
        ['cache', 'config', 'locks', 'store'],
        'a file was created outside the known places',
      )
      const status = await runCli(['status', '--json', '--offline', ...flags], { home: h })
      assert.equal(status.code, 0, status.stderr)
      assert.equal(JSON.parse(status.stdout).client_id, clientId)
    })
  }
})

describe('a garbage config file: exit 2 naming it', () => {
  const configs: Array<[string, string]> = [
    ['not JSON', '{ "profiles": { "default": { server_url: nope } }'],
    ['a JSON array', '[]'],
    ['"profiles" not an object', '{"profiles":"default"}'],
    ['a profile that is not an object', '{"profiles":{"default":["https://auth.example.com"]}}'],
  ]
  for (const [name, text] of configs) {
    test(name, async (t) => {
      const h = home(t)
      mkdirSync(h.configDir, { recursive: true })
      const path = join(h.configDir, 'config.json')
      writeFileSync(path, text)
      writeTokenFile(h.tokenFile, sessionAccount(NOWHERE, 'cli'), FAKE)
      for (const command of [['token'], ['status', '--offline']]) {
        const r = await runCli([...command, '--server-url', NOWHERE, '--client-id', 'cli', ...h.flags], { home: h })
        assert.equal(r.code, 2, `${command[0]}: ${r.stderr}`)
        assert.equal(r.stdout, '')
        assert.ok(r.stderr.includes(path), `${command[0]} does not name ${path}: ${r.stderr}`)
      }
      assert.equal(readFileSync(path, 'utf8'), text)
    })
  }
})
