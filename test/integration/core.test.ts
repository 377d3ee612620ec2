import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { sessionKey } from '../../src/session-key.ts'
import { createLockFile } from '../../src/lock/kernel-lock.ts'
import { FileStore } from '../../src/stores/file-store.ts'
import type { TokenSet } from '../../src/stores/types.ts'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { startOidcServer, type OidcTestServer } from '../support/oidc-server.ts'
import { runMain, tempHome } from '../support/run-main.ts'

const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code'

async function form(url: string, body: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(body) })
  return (await res.json()) as Record<string, unknown>
}

/** A real device grant, approved through the server's backdoor: the tokens a signed-in person would hold. */
async function deviceTokens(
  deviceUrl: string,
  tokenUrl: string,
  clientId: string,
  approve: (code: string) => unknown,
  scope = 'email profile',
): Promise<TokenSet> {
  const da = await form(deviceUrl, { client_id: clientId, scope })
  await approve(String(da.user_code))
  const t = await form(tokenUrl, { grant_type: DEVICE, device_code: String(da.device_code), client_id: clientId })
  assert.equal(typeof t.access_token, 'string', JSON.stringify(t))
  return {
    accessToken: String(t.access_token),
    tokenType: 'Bearer',
    refreshToken: String(t.refresh_token),
    scope: String(t.scope ?? scope),
  }
}

function storeFor(home: ReturnType<typeof tempHome>) {
  return new FileStore(`${home.config}/tokens.json`, {
    lockFile: createLockFile({ pid: process.pid, sleep: async () => {} }),
    lockTimeoutMs: 5000,
    now: () => Date.now(),
  })
}

describe('against the AuthGate test server in rotation mode', () => {
  let server: AuthGateTestServer
  before(async () => {
    server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })
  })
  after(() => server.close())

  test('token refreshes an expired token once, then serves it from the store; refresh --force rotates again', async () => {
    const home = tempHome()
    const args = ['--server-url', server.url, '--client-id', server.publicClientId, '--token-store', 'file']
    const key = sessionKey(server.url, server.publicClientId)
    const initial = await deviceTokens(
      `${server.url}/oauth/device/code`,
      `${server.url}/oauth/token`,
      server.publicClientId,
      (c) => server.approveDevice(c),
    )
    await storeFor(home).write(key, { ...initial, expiresAtMs: Date.now() - 1000, obtainedAtMs: Date.now() - 3600_000 })
    const before = server.stats.refreshGrants

    const first = await runMain(['token', ...args], home)
    assert.equal(first.code, 0, first.stderr)
    const token = first.stdout.trim()
    assert.notEqual(token, initial.accessToken)
    assert.ok(server.isTokenActive(token))
    assert.equal(server.stats.refreshGrants - before, 1)
    assert.equal(first.stderr, '')

    const second = await runMain(['token', ...args], home)
    assert.equal(second.stdout.trim(), token)
    assert.equal(server.stats.refreshGrants - before, 1, 'a fresh token needs no request')

    const forced = await runMain(['refresh', '--force', ...args], home)
    assert.equal(forced.code, 0, forced.stderr)
    assert.equal(forced.stdout, '')
    assert.match(forced.stderr, /access token refreshed/)
    assert.equal(server.stats.refreshGrants - before, 2)
    const stored = await storeFor(home).read(key)
    assert.notEqual(stored?.accessToken, token)
    assert.ok(server.isTokenActive(stored!.refreshToken!))
    assert.equal(server.stats.familyRevocations, 0)
  })

  test('status asks tokeninfo and never prints a token; --offline does not ask', async () => {
    const home = tempHome()
    const args = ['--server-url', server.url, '--client-id', server.publicClientId, '--token-store', 'file']
    const tokens = await deviceTokens(
      `${server.url}/oauth/device/code`,
      `${server.url}/oauth/token`,
      server.publicClientId,
      (c) => server.approveDevice(c),
    )
    await storeFor(home).write(sessionKey(server.url, server.publicClientId), {
      ...tokens,
      expiresAtMs: Date.now() + 3600_000,
      obtainedAtMs: Date.now(),
    })
    const json = await runMain(['status', '--json', ...args], home)
    assert.equal(json.code, 0, json.stderr)
    const report = JSON.parse(json.stdout)
    assert.equal(report.signed_in, true)
    assert.equal(report.verified, true)
    assert.equal(report.store, 'file')
    assert.equal(report.store_path, `${home.config}/tokens.json`)
    assert.equal(report.has_refresh_token, true)
    assert.equal(report.issuer, server.url)
    assert.ok(typeof report.subject === 'string' && report.subject.length > 0)
    assert.equal(report.username, 'admin', 'tokeninfo gives an id; userinfo names the user')
    assert.ok(report.expires_in > 3500 && report.expires_in <= 3600)
    assert.ok(!json.stdout.includes(tokens.accessToken) && !json.stdout.includes(tokens.refreshToken!))
    const offline = JSON.parse((await runMain(['status', '--json', '--offline', ...args], home)).stdout)
    assert.equal(offline.verified, null)
    const human = await runMain(['status', ...args], home)
    assert.match(human.stdout, /Signed in to http:\/\/127\.0\.0\.1:\d+/)
    assert.match(human.stdout, /verified: yes \(tokeninfo\)/)
  })

  test('a refresh token the server rejects: exit 4, the entry deleted, and status exits 4', async () => {
    const home = tempHome()
    const args = ['--server-url', server.url, '--client-id', server.publicClientId, '--token-store', 'file']
    const key = sessionKey(server.url, server.publicClientId)
    const tokens = await deviceTokens(
      `${server.url}/oauth/device/code`,
      `${server.url}/oauth/token`,
      server.publicClientId,
      (c) => server.approveDevice(c),
    )
    await storeFor(home).write(key, { ...tokens, expiresAtMs: Date.now() - 1000 })
    await fetch(`${server.url}/oauth/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token: tokens.refreshToken! }),
    })
    const res = await runMain(['token', ...args], home)
    assert.equal(res.code, 4)
    assert.match(res.stderr, /rejected the refresh token/)
    assert.match(res.stderr, /authgate login/)
    assert.equal(res.stdout, '')
    assert.ok(!res.stderr.includes(tokens.refreshToken!))
    assert.equal(await storeFor(home).read(key), undefined)
    assert.equal((await runMain(['status', '--offline', ...args], home)).code, 4)
  })

  test('a corrupt store: exit 1 naming the file, which stays byte-for-byte unchanged', async () => {
    const home = tempHome()
    const path = `${home.config}/tokens.json`
    await storeFor(home).write(sessionKey('https://x.example', 'y'), { accessToken: 'a', tokenType: 'Bearer' })
    const corrupt = readFileSync(path, 'utf8').slice(0, 40)
    writeFileSync(path, corrupt)
    for (const cmd of ['token', 'refresh', 'status']) {
      const res = await runMain([cmd, '--server-url', server.url, '--client-id', server.publicClientId], home)
      assert.equal(res.code, 1, `${cmd}: ${res.stderr}`)
      assert.ok(res.stderr.includes(path), res.stderr)
      assert.equal(readFileSync(path, 'utf8'), corrupt)
    }
  })
})

describe('against oidc-provider (rotation with reuse detection)', () => {
  let server: OidcTestServer
  before(async () => {
    server = await startOidcServer({ quiet: true })
  })
  after(() => server.close())

  test('token refreshes through discovery, status verifies through userinfo', async () => {
    const home = tempHome()
    const args = [
      '--server-url',
      server.url,
      '--client-id',
      'cli',
      '--scope',
      'openid email profile',
      '--token-store',
      'file',
    ]
    const key = sessionKey(server.url, 'cli')
    const initial = await deviceTokens(
      `${server.url}/device/auth`,
      `${server.url}/token`,
      'cli',
      (c) => server.approveDevice(c),
      'openid email profile',
    )
    await storeFor(home).write(key, { ...initial, expiresAtMs: Date.now() - 1000 })
    const res = await runMain(['token', ...args], home)
    assert.equal(res.code, 0, res.stderr)
    assert.notEqual(res.stdout.trim(), initial.accessToken)
    assert.equal(server.stats.successfulRefreshes, 1)
    assert.equal((await server.introspect(res.stdout.trim())).active, true)
    const stored = await storeFor(home).read(key)
    assert.notEqual(stored?.refreshToken, initial.refreshToken, 'the rotated refresh token was saved')
    const status = JSON.parse((await runMain(['status', '--json', ...args], home)).stdout)
    assert.equal(status.verified, true)
    assert.equal(status.subject, 'alice')
  })
})
