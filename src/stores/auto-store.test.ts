import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { sessionKey } from '../session-key.ts'
import { StoreError, TemporaryError } from '../errors.ts'
import type { LockFile } from '../lock/types.ts'
import { AutoStore } from './auto-store.ts'
import { EncryptedStore, KEY_SERVICE } from './encrypted-store.ts'
import { FileStore } from './file-store.ts'
import { KeyringClient, KeyringUnavailableError } from './keyring-client.ts'
import { KEYRING_SERVICE, KeyringStore } from './keyring-store.ts'
import { MemoryKeyring } from './memory-keyring.ts'
import { type Backends, moveSessionTo } from './placement.ts'
import type { TokenSet } from './types.ts'

const root = realpathSync(mkdtempSync(join(tmpdir(), 'authgate-auto-store-')))
after(() => rmSync(root, { recursive: true, force: true }))
let counter = 0

const NOW = Date.UTC(2030, 0, 1)
const key = sessionKey('https://auth.example.com', 'cli')
const small: TokenSet = { accessToken: 'at-1', tokenType: 'Bearer', refreshToken: 'rt-1', obtainedAtMs: NOW }
const large: TokenSet = { ...small, accessToken: `eyJ${'a'.repeat(6 * 1024)}` }
const freeLock: LockFile = async (path) => ({ path, release: () => {} })
/** Up after one turn of the event loop: the double answers in a microtask, a hanging keyring loses. */
const quickSleep = (_ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setImmediate(resolve)
    signal?.addEventListener('abort', () => (clearImmediate(timer), reject(new Error('aborted'))))
  })

function setup(mode: MemoryKeyring['mode'] = 'ok') {
  const dir = join(root, `case-${++counter}`)
  const api = new MemoryKeyring()
  api.mode = mode
  const client = new KeyringClient({ api, sleep: quickSleep, platform: 'linux', timeoutMs: 1000 })
  const options = { lockFile: freeLock, lockTimeoutMs: 1000, now: () => NOW }
  const file = new FileStore(join(dir, 'tokens.json'), options)
  const keyring = new KeyringStore(client, options)
  const encrypted = new EncryptedStore(join(dir, 'tokens.enc'), { ...options, keyring: client })
  const backends: Backends = { file, keyring: async () => keyring, encrypted: async () => encrypted }
  const entry = () =>
    existsSync(file.location) ? JSON.parse(readFileSync(file.location, 'utf8')).sessions?.[key.account] : undefined
  return { api, file, keyring, encrypted, backends, auto: new AutoStore(backends), entry }
}

describe('auto at login (place)', () => {
  test('keyring works: the tokens go to the keyring, the file keeps only a pointer', async () => {
    const s = setup()
    const placed = await s.auto.place(key, small)
    assert.equal(placed.store, 'keyring')
    assert.equal(placed.notKeyring, undefined)
    assert.deepEqual(s.entry(), { store: 'keyring', server_url: key.serverUrl, client_id: key.clientId })
    assert.deepEqual(await s.keyring.read(key), small)
    assert.deepEqual([s.auto.kind, s.auto.location], ['keyring', s.keyring.location])
    assert.deepEqual(await new AutoStore(s.backends).read(key), small)
  })

  test('a 6 KB access token goes to the encrypted file, its key in the keyring', async () => {
    const s = setup()
    const placed = await s.auto.place(key, large)
    assert.equal(placed.store, 'encrypted')
    assert.ok(placed.notKeyring && 'tooLargeBytes' in placed.notKeyring && placed.notKeyring.tooLargeBytes > 6 * 1024)
    assert.equal(s.entry().store, 'encrypted')
    assert.deepEqual(await s.encrypted.read(key), large)
    assert.equal(s.api.text(KEYRING_SERVICE, key.account), undefined)
    assert.equal([...s.api.items.keys()].filter((k) => k.startsWith(KEY_SERVICE)).length, 1)
    assert.deepEqual(await new AutoStore(s.backends).read(key), large)
  })

  for (const mode of ['unavailable', 'hang'] as const) {
    test(`a keyring that is ${mode}: the plain file, and the reason is kept for the login line`, async () => {
      const s = setup(mode)
      const placed = await s.auto.place(key, small)
      assert.equal(placed.store, 'file')
      assert.ok(placed.notKeyring && 'failure' in placed.notKeyring)
      assert.match(
        placed.notKeyring.failure,
        mode === 'hang' ? /did not answer a write within 1 s/ : /cannot be used \(write failed\)/,
      )
      assert.equal(s.entry().access_token, 'at-1')
      assert.equal(s.api.calls.length, 1, 'the failed keyring is asked once, not again for clean-up')
    })
  }

  test('a login that finds the keyring working moves a file session there and removes the plaintext copy', async () => {
    const s = setup()
    await s.file.write(key, small)
    const placed = await s.auto.place(key, { ...small, accessToken: 'at-2' })
    assert.equal(placed.store, 'keyring')
    assert.deepEqual(placed.removedFrom, [{ store: 'file', location: s.file.location }])
    assert.doesNotMatch(readFileSync(s.file.location, 'utf8'), /at-1|rt-1|at-2/)
  })
})

describe('auto after login: the remembered backend', () => {
  test('a keyring session with the keyring unreachable fails clearly; nothing is read from or written to the file', async () => {
    const s = setup()
    await s.auto.place(key, small)
    const before = readFileSync(s.file.location, 'utf8')
    s.api.mode = 'unavailable'
    const auto = new AutoStore(s.backends)
    await assert.rejects(auto.read(key), KeyringUnavailableError)
    await assert.rejects(auto.write(key, { ...small, accessToken: 'at-2' }), KeyringUnavailableError)
    s.api.mode = 'hang'
    await assert.rejects(auto.read(key), (e: unknown) => e instanceof TemporaryError && e.exitCode === 5)
    assert.equal(readFileSync(s.file.location, 'utf8'), before)
  })

  test('a file session stays in the file on refresh, even once the keyring works; the keyring is never asked', async () => {
    const s = setup('unavailable')
    await s.auto.place(key, small)
    s.api.mode = 'ok'
    s.api.calls.length = 0
    const auto = new AutoStore(s.backends)
    await auto.write(key, { ...small, accessToken: 'at-2' })
    assert.equal((await auto.read(key))?.accessToken, 'at-2')
    assert.deepEqual(s.api.calls, [])
    assert.equal(auto.kind, 'file')
  })

  test('a keyring session whose refresh outgrows the item moves to the encrypted file and drops the item', async () => {
    const s = setup()
    await s.auto.place(key, small)
    await new AutoStore(s.backends).write(key, large)
    assert.equal(s.entry().store, 'encrypted')
    assert.equal(s.api.text(KEYRING_SERVICE, key.account), undefined)
    assert.deepEqual(await new AutoStore(s.backends).read(key), large)
  })

  test('a refresh through the pre-flight (prepareSave → commit): a keyring that is down refuses it, the file untouched', async () => {
    const s = setup()
    await s.auto.place(key, small)
    const before = readFileSync(s.file.location, 'utf8')
    s.api.mode = 'unavailable'
    await assert.rejects(new AutoStore(s.backends).prepareSave(key), KeyringUnavailableError)
    assert.equal(readFileSync(s.file.location, 'utf8'), before)
    s.api.mode = 'ok'
    assert.deepEqual(await new AutoStore(s.backends).read(key), small, 'the session is still whole in the keyring')
  })

  test('a refresh through the pre-flight that outgrows the keyring item moves to the encrypted file', async () => {
    const s = setup()
    await s.auto.place(key, small)
    const prepared = await new AutoStore(s.backends).prepareSave(key)
    await prepared.commit(large)
    assert.equal(s.entry().store, 'encrypted')
    assert.equal(s.api.text(KEYRING_SERVICE, key.account), undefined)
    assert.deepEqual(await new AutoStore(s.backends).read(key), large)
  })

  test('logout (delete) removes the item and the pointer; compare-and-clear keeps both when the token changed', async () => {
    const s = setup()
    await s.auto.place(key, small)
    assert.equal(await s.auto.delete(key, 'rt-other'), false)
    assert.equal(s.entry().store, 'keyring')
    assert.equal(await s.auto.delete(key), true)
    assert.equal(s.entry(), undefined)
    assert.equal(await s.keyring.read(key), undefined)
  })

  test('a session saved with --token-store keyring (no entry in the file) is found, and listed once', async () => {
    const s = setup()
    await s.keyring.write(key, small)
    const other = sessionKey('https://auth.example.com', 'other')
    await new AutoStore(s.backends).place(other, small)
    const auto = new AutoStore(s.backends)
    assert.deepEqual(await auto.read(key), small)
    assert.equal(auto.kind, 'keyring')
    assert.deepEqual((await auto.list()).map((x) => [x.key.account, x.store]).sort(), [
      [key.account, 'keyring'],
      [other.account, 'keyring'],
    ])
    s.api.mode = 'unavailable'
    assert.equal(
      await new AutoStore(s.backends).read(key),
      undefined,
      'without a pointer, a failing keyring hides nothing recorded',
    )
  })

  test('the explicit file store refuses a pointer entry instead of reporting "not signed in"', async () => {
    const s = setup()
    await s.auto.place(key, small)
    await assert.rejects(
      s.file.read(key),
      (e: unknown) => e instanceof StoreError && /records that they are in the keyring store/.test(e.message),
    )
  })
})

describe('moving with an explicit --token-store', () => {
  test('file → keyring: the tokens move, the plaintext copy is replaced by a pointer', async () => {
    const s = setup()
    await s.file.write(key, small)
    const placed = await moveSessionTo(s.backends, 'keyring', key, { ...small, accessToken: 'at-2' })
    assert.deepEqual(placed.removedFrom, [{ store: 'file', location: s.file.location }])
    assert.deepEqual(s.entry(), { store: 'keyring', server_url: key.serverUrl, client_id: key.clientId })
    assert.equal((await s.keyring.read(key))?.accessToken, 'at-2')
  })

  test('keyring → file: the keyring item goes; a keyring user with no file gets no file', async () => {
    const s = setup()
    await moveSessionTo(s.backends, 'keyring', key, small)
    assert.equal(existsSync(s.file.location), false)
    const placed = await moveSessionTo(s.backends, 'file', key, small)
    assert.deepEqual(placed.removedFrom, [{ store: 'keyring', location: s.keyring.location }])
    assert.equal(s.entry().access_token, 'at-1')
  })

  test('too large for a keyring item: refused before anything is written', async () => {
    const s = setup()
    await s.file.write(key, small)
    await assert.rejects(
      moveSessionTo(s.backends, 'keyring', key, large),
      /larger than an OS keyring item holds \(2560 bytes/,
    )
    assert.equal(s.entry().access_token, 'at-1')
    assert.deepEqual(s.api.calls, [])
  })
})
