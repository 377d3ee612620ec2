import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { sessionKey } from '../session-key.ts'
import { createLockFile } from '../lock/kernel-lock.ts'
import { sessionLockPath } from '../session-key.ts'
import { buildProtocol } from '../session/protocol-client.ts'
import { FileStore } from '../stores/file-store.ts'
import { fastToken, type FastDeps } from './fast-token.ts'

const SERVER = 'https://auth.example'
const NOW = 2_000_000_000_000
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function setup(env: Record<string, string> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'authgate-fast-'))
  const paths = { config: join(root, 'config'), cache: join(root, 'cache') }
  const lockFile = createLockFile({ pid: 4242, sleep, waiter: 'thread' })
  const store = new FileStore(join(paths.config, 'tokens.json'), { lockFile, lockTimeoutMs: 5000, now: () => NOW })
  let out = ''
  let err = ''
  const requests: string[] = []
  const deps: FastDeps = {
    env: { AUTHGATE_SERVER_URL: SERVER, AUTHGATE_CLIENT_ID: 'cli', AUTHGATE_TOKEN_STORE: 'file', ...env },
    cwd: root,
    paths,
    clock: { now: () => NOW },
    pid: 4242,
    platform: 'linux',
    lockWaiter: 'thread',
    buildProtocol,
    sleep,
    fetch: async (input) => {
      const url = String(input instanceof Request ? input.url : input)
      requests.push(url)
      if (!url.endsWith('/oauth/token')) return new Response('not found', { status: 404 })
      return Response.json({ access_token: 'AT-new', token_type: 'Bearer', refresh_token: 'RT-new', expires_in: 3600 })
    },
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
  }
  const lockPath = sessionLockPath(join(paths.cache, 'locks'), sessionKey(SERVER, 'cli'))
  return { root, paths, store, deps, lockPath, requests, key: sessionKey(SERVER, 'cli'), output: () => ({ out, err }) }
}
const fresh = {
  accessToken: 'AT-fresh',
  tokenType: 'Bearer',
  refreshToken: 'RT1',
  expiresAtMs: NOW + 3600_000,
  obtainedAtMs: NOW,
}
const stale = { ...fresh, accessToken: 'AT-stale', expiresAtMs: NOW - 1000, obtainedAtMs: NOW - 3600_000 }

/** The session lock is free: nothing was left held. */
async function assertLockFree(lockPath: string) {
  const other = createLockFile({ pid: 1, sleep, waiter: 'thread' })
  ;(await other(lockPath, { timeoutMs: 0 })).release()
}

test('a fresh token: printed, exit 0, no request', async () => {
  const s = setup()
  await s.store.write(s.key, fresh)
  assert.deepEqual(await fastToken(['token'], s.deps), { code: 0, fresh: true })
  assert.deepEqual(await fastToken(['token', '--json'], s.deps), { code: 0, fresh: true })
  const [plain, json] = s.output().out.split('\n')
  assert.equal(plain, 'AT-fresh')
  assert.deepEqual(JSON.parse(json!), {
    access_token: 'AT-fresh',
    token_type: 'Bearer',
    expires_at: '2033-05-18T04:33:20Z',
    scope: null,
  })
  assert.deepEqual(s.requests, [])
})

test('left to the full program: other commands, --verbose, another backend, auto with no entry in the file', async () => {
  const s = setup()
  for (const argv of [['status'], ['token', '--verbose'], ['token', '--token-store', 'keyring']]) {
    assert.equal(await fastToken(argv, s.deps), undefined, argv.join(' '))
  }
  const auto = setup({ AUTHGATE_TOKEN_STORE: 'auto' })
  assert.equal(await fastToken(['token'], auto.deps), undefined, 'auto may find it in the keyring')
  await auto.store.writePointer(auto.key, 'keyring')
  assert.equal(await fastToken(['token'], auto.deps), undefined, 'a pointer to the keyring')
  assert.equal(s.output().out + auto.output().out, '')
})

test('errors are reported as the full program reports them: no session → exit 4 with the hint', async () => {
  const s = setup()
  assert.deepEqual(await fastToken(['token'], s.deps), { code: 4, fresh: false })
  assert.match(s.output().err, /^authgate: not signed in to https:\/\/auth\.example\/? as client cli/)
})

test('a stale token nobody is refreshing: refreshed by the engine here, saved, and the lock released', async () => {
  const s = setup()
  await s.store.write(s.key, stale)
  assert.deepEqual(await fastToken(['token'], s.deps), { code: 0, fresh: false })
  assert.equal(s.output().out, 'AT-new\n')
  assert.equal((await s.store.read(s.key))?.refreshToken, 'RT-new')
  assert.equal(s.requests.filter((u) => u.endsWith('/oauth/token')).length, 1)
  await assertLockFree(s.lockPath)
})

test('a peer refreshing: its token is adopted when it releases, with no request and nothing left held', async () => {
  const s = setup()
  await s.store.write(s.key, stale)
  const peer = createLockFile({ pid: 7, sleep, waiter: 'thread' })
  const peerLock = await peer(s.lockPath, { timeoutMs: 1000 })
  const pending = fastToken(['token'], s.deps)
  await sleep(50)
  await s.store.write(s.key, { ...fresh, accessToken: 'AT-peer', refreshToken: 'RT2' })
  peerLock.release()
  assert.deepEqual(await pending, { code: 0, fresh: false })
  assert.equal(s.output().out, 'AT-peer\n')
  assert.deepEqual(s.requests, [])
  await assertLockFree(s.lockPath)
})
