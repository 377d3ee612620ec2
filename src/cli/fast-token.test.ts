import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { sessionKey } from '../config/session-key.ts'
import { createLockFile, sessionLockPath } from '../lock/kernel-lock.ts'
import type { Deps } from '../session/deps.ts'
import { openSession } from '../session/open.ts'
import { loadSettings } from '../config/load.ts'
import { FileStore } from '../stores/file-store.ts'
import { fastToken, type FastDeps } from './fast-token.ts'

const SERVER = 'https://auth.example'
const NOW = 2_000_000_000_000

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'authgate-fast-'))
  const paths = { config: join(root, 'config'), cache: join(root, 'cache') }
  const lockFile = createLockFile({ pid: 4242, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), waiter: 'thread' })
  const store = new FileStore(join(paths.config, 'tokens.json'), { lockFile, lockTimeoutMs: 5000, now: () => NOW })
  let out = ''
  let err = ''
  const deps: FastDeps = {
    env: { AUTHGATE_SERVER_URL: SERVER, AUTHGATE_CLIENT_ID: 'cli', AUTHGATE_TOKEN_STORE: 'file' },
    cwd: root,
    paths,
    clock: { now: () => NOW },
    pid: 4242,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    io: { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
  }
  return { root, paths, store, deps, key: sessionKey(SERVER, 'cli'), output: () => ({ out, err }) }
}
const fresh = {
  accessToken: 'AT-fresh',
  tokenType: 'Bearer',
  refreshToken: 'RT1',
  expiresAtMs: NOW + 3600_000,
  obtainedAtMs: NOW,
}
const stale = { ...fresh, accessToken: 'AT-stale', expiresAtMs: NOW - 1000, obtainedAtMs: NOW - 3600_000 }

test('a fresh token: printed, exit 0, no lock taken', async () => {
  const s = setup()
  await s.store.write(s.key, fresh)
  assert.deepEqual(await fastToken(['token'], s.deps), { code: 0 })
  assert.equal(s.output().out, 'AT-fresh\n')
})

test('not handled: other commands, --json, --verbose, no session, another backend', async () => {
  const s = setup()
  for (const argv of [
    ['status'],
    ['token', '--json'],
    ['token', '--verbose'],
    ['token', '--token-store', 'keyring'],
    ['token'],
  ]) {
    assert.deepEqual(await fastToken(argv, s.deps), {}, argv.join(' '))
  }
  assert.equal(s.output().out, '')
})

test('a stale token nobody refreshed: the session lock is handed over still held, and openSession reuses it once', async () => {
  const s = setup()
  await s.store.write(s.key, stale)
  const outcome = await fastToken(['token'], s.deps)
  assert.ok(outcome.heldLock, 'the lock was released instead of handed over')
  const lockPath = sessionLockPath(join(s.paths.cache, 'locks'), s.key)
  assert.equal(outcome.heldLock.path, lockPath)
  // Held for real: another descriptor cannot take it.
  const other = createLockFile({ pid: 1, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), waiter: 'thread' })
  await assert.rejects(other(lockPath, { timeoutMs: 0 }), /timed out/)

  const deps = { ...s.deps, fetch, env: s.deps.env, heldLock: outcome.heldLock } as unknown as Deps
  const session = await openSession(loadSettings({}, deps), deps)
  const first = await session.context.lockFile(lockPath, { timeoutMs: 0 })
  assert.equal(first, outcome.heldLock, 'the held lock was not reused')
  first.release()
  const again = await session.context.lockFile(lockPath, { timeoutMs: 1000 })
  assert.notEqual(again, outcome.heldLock, 'a held lock was handed out twice')
  again.release()
})

test('a peer refreshed while we waited: its token is adopted and the lock released', async () => {
  const s = setup()
  await s.store.write(s.key, stale)
  const lockPath = sessionLockPath(join(s.paths.cache, 'locks'), s.key)
  const peer = createLockFile({ pid: 7, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), waiter: 'thread' })
  const peerLock = await peer(lockPath, { timeoutMs: 1000 })
  const pending = fastToken(['token'], s.deps)
  await new Promise((r) => setTimeout(r, 50))
  await s.store.write(s.key, { ...fresh, accessToken: 'AT-peer', refreshToken: 'RT2' })
  peerLock.release()
  assert.deepEqual(await pending, { code: 0 })
  assert.equal(s.output().out, 'AT-peer\n')
  const after = await peer(lockPath, { timeoutMs: 0 })
  after.release()
})
