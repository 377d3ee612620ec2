import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { sessionKey } from '../session-key.ts'
import { StoreError, TemporaryError } from '../errors.ts'
import { KeyringClient, KeyringTimeoutError, KeyringUnavailableError } from './keyring-client.ts'
import {
  fitsKeyring,
  KEYRING_ITEM_LIMIT_BYTES,
  KEYRING_SERVICE,
  keyringPayload,
  KeyringStore,
  PROBE_SERVICE,
} from './keyring-store.ts'
import { MemoryKeyring } from './memory-keyring.ts'
import type { TokenSet } from './types.ts'

const NOW = Date.UTC(2030, 0, 1)
const key = sessionKey('https://auth.example.com', 'cli')
const other = sessionKey('https://other.example.com/tenant', 'cli@corp')
const tokens: TokenSet = {
  accessToken: 'at-1',
  tokenType: 'Bearer',
  refreshToken: 'rt-1',
  expiresAtMs: NOW + 3_600_000,
  obtainedAtMs: NOW,
}

/** A timer that only ends when aborted: every call the double answers wins the race. Records the aborts. */
function idleSleep() {
  const sleep = (_ms: number, signal?: AbortSignal) =>
    new Promise<void>((_, reject) =>
      signal?.addEventListener('abort', () => (sleep.aborted++, reject(new Error('aborted')))),
    )
  sleep.aborted = 0
  return sleep
}
/** A timer that is already up: a call that does not answer at once times out. */
const expiredSleep = async () => {}

function storeWith(
  api = new MemoryKeyring(),
  sleep: (ms: number, signal?: AbortSignal) => Promise<void> = idleSleep(),
  platform: NodeJS.Platform = 'linux',
) {
  const client = new KeyringClient({ api, sleep, platform, timeoutMs: 5000 })
  return { api, store: new KeyringStore(client, { now: () => NOW }) }
}

describe('KeyringStore', () => {
  test('round trip, one item per session under service authgate-cli, account <client id>@<server URL>', async () => {
    const { api, store } = storeWith()
    assert.equal(await store.read(key), undefined)
    await store.write(key, tokens)
    await store.write(other, { accessToken: 'at-2', tokenType: 'DPoP' })
    assert.deepEqual(await store.read(key), tokens)
    assert.deepEqual(await store.read(other), { accessToken: 'at-2', tokenType: 'DPoP', obtainedAtMs: NOW })
    assert.deepEqual(
      [...api.items.keys()].sort(),
      [`${KEYRING_SERVICE}\n${key.account}`, `${KEYRING_SERVICE}\n${other.account}`].sort(),
    )
    const item = JSON.parse(api.text(KEYRING_SERVICE, key.account)!)
    assert.equal(item.version, 1)
    assert.equal(item.access_token, 'at-1', 'the same field names as the file store')
    assert.equal(item.server_url, 'https://auth.example.com')
    assert.equal(store.kind, 'keyring')
    assert.equal(store.location, 'the OS keyring (Secret Service), service authgate-cli')
  })

  test('list comes from the keyring itself; compare-and-clear keeps a refresh token that changed', async () => {
    const { store } = storeWith()
    await store.write(key, tokens)
    await store.write(other, tokens)
    assert.deepEqual(
      (await store.list()).map((s) => [s.key.account, s.store]).sort(),
      [
        [key.account, 'keyring'],
        [other.account, 'keyring'],
      ].sort(),
    )
    assert.equal(await store.delete(key, 'rt-old'), false)
    assert.deepEqual(await store.read(key), tokens)
    assert.equal(await store.delete(key, 'rt-1'), true)
    assert.equal(await store.delete(key), false)
    assert.equal(await store.read(key), undefined)
  })

  test('a damaged item is a StoreError naming the item, never quoting it', async () => {
    const cases = [
      { name: 'not JSON', text: 'eyJhbGciOiJSUzI1NiJ9.secret-token' },
      { name: 'no access token', text: JSON.stringify({ refresh_token: 'secret-token' }) },
      { name: 'an array', text: '["secret-token"]' },
    ]
    for (const { name, text } of cases) {
      const { api, store } = storeWith()
      api.items.set(`${KEYRING_SERVICE}\n${key.account}`, new TextEncoder().encode(text))
      await assert.rejects(store.read(key), (e: unknown) => {
        assert.ok(e instanceof StoreError, name)
        assert.match(e.message, /service authgate-cli, account cli@https:\/\/auth\.example\.com/)
        assert.doesNotMatch(`${e.message} ${e.hint}`, /secret-token/)
        assert.match(e.hint ?? '', /delete the keyring item/)
        return true
      })
    }
  })

  test('the size rule: 2560 bytes of item, whatever the platform', () => {
    assert.equal(fitsKeyring(key, tokens), true)
    const big = { ...tokens, accessToken: 'a'.repeat(6 * 1024) }
    assert.equal(fitsKeyring(key, big), false)
    const base = keyringPayload(key, { ...tokens, accessToken: '' }).byteLength
    assert.equal(fitsKeyring(key, { ...tokens, accessToken: 'a'.repeat(KEYRING_ITEM_LIMIT_BYTES - base) }), true)
    assert.equal(fitsKeyring(key, { ...tokens, accessToken: 'a'.repeat(KEYRING_ITEM_LIMIT_BYTES - base + 1) }), false)
  })
})

describe('KeyringClient', () => {
  test('a keyring that does not answer: TemporaryError (exit 5) naming the backend, within the injected timeout', async () => {
    const api = new MemoryKeyring()
    api.mode = 'hang'
    const { store } = storeWith(api, expiredSleep)
    await assert.rejects(store.read(key), (e: unknown) => {
      assert.ok(e instanceof KeyringTimeoutError && e instanceof TemporaryError)
      assert.equal(e.exitCode, 5)
      assert.equal(e.message, 'the OS keyring (Secret Service) did not answer a read within 5 s')
      return true
    })
  })

  test('an unreachable keyring: StoreError (exit 1) naming the backend and what to do', async () => {
    for (const [platform, name] of [
      ['linux', 'Secret Service'],
      ['darwin', 'macOS Keychain'],
      ['win32', 'Windows Credential Manager'],
    ] as const) {
      const api = new MemoryKeyring()
      api.mode = 'unavailable'
      const { store } = storeWith(api, idleSleep(), platform)
      await assert.rejects(store.write(key, tokens), (e: unknown) => {
        assert.ok(e instanceof KeyringUnavailableError && e instanceof StoreError)
        assert.equal(e.exitCode, 1)
        assert.equal(
          e.message,
          `the OS keyring (${name}) cannot be used (write failed): Platform failure: DBus error: no session bus`,
        )
        assert.match(e.hint ?? '', /--token-store file/)
        return true
      })
    }
  })

  test('the timer of every call is cancelled once the call answers, so nothing keeps the process alive', async () => {
    const sleep = idleSleep()
    const { store } = storeWith(new MemoryKeyring(), sleep)
    await store.write(key, tokens)
    await store.read(key)
    assert.equal(sleep.aborted, 2)
  })
})

describe('KeyringStore.prepareSave (issue 15)', () => {
  test('writes the current item back byte for byte; the commit writes the new tokens', async () => {
    const { api, store } = storeWith()
    await store.write(key, tokens)
    const before = api.text(KEYRING_SERVICE, key.account)
    const prepared = await store.prepareSave(key)
    assert.equal(api.text(KEYRING_SERVICE, key.account), before)
    assert.ok(api.calls.includes(`set ${KEYRING_SERVICE} ${key.account}`), api.calls.join(', '))
    await prepared.commit({ ...tokens, refreshToken: 'rt-2' })
    assert.equal((await store.read(key))?.refreshToken, 'rt-2')
  })

  test('no item yet: a probe item, removed again, under a service of its own', async () => {
    const { api, store } = storeWith()
    await (await store.prepareSave(key)).abort()
    assert.deepEqual([...api.items.keys()], [])
    assert.ok(api.calls.includes(`set ${PROBE_SERVICE} ${key.account}`), api.calls.join(', '))
  })

  test('a keyring that is gone fails the pre-flight', async () => {
    const { api, store } = storeWith()
    api.mode = 'unavailable'
    await assert.rejects(store.prepareSave(key), KeyringUnavailableError)
  })
})
