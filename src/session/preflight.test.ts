import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sessionKey } from '../session-key.ts'
import { AuthRequiredError, StoreError, TemporaryError } from '../errors.ts'
import { KeyringUnavailableError } from '../stores/keyring-client.ts'
import { MemoryStore } from '../stores/memory-store.ts'
import type { SpentMarker } from '../stores/spent-marker.ts'
import type { TokenSet } from '../stores/types.ts'
import { getValidTokens } from './refresh-engine.ts'
import type { Protocol } from './protocol-types.ts'
import { memoryContext } from '../../test/support/session-context.ts'

const key = sessionKey('https://auth.example', 'cli')
const NOW = 1_000_000_000
const stale: TokenSet = { accessToken: 'AT1', tokenType: 'Bearer', refreshToken: 'RT1', expiresAtMs: NOW - 1 }

function errno(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code })
}

/** A marker in memory: what the lock dir would hold. */
function memoryMarker(): SpentMarker & { marked: string[] } {
  const marked: string[] = []
  return {
    marked,
    isSpent: async (rt) => marked.includes(rt),
    mark: async (rt) => void marked.push(rt),
    clear: () => void marked.splice(0),
  }
}

function setup() {
  const store = new MemoryStore([{ key, tokens: stale }])
  const sent: string[] = []
  const protocol: Protocol = {
    issuer: async () => undefined,
    refresh: async (rt) => {
      sent.push(rt)
      return { accessToken: 'AT2', tokenType: 'Bearer', refreshToken: 'RT2', expiresInSeconds: 3600 }
    },
    identify: async () => ({ verified: undefined }),
  }
  const spent = memoryMarker()
  const ctx = memoryContext(key, NOW, store, protocol, { spent })
  return { store, sent, spent, ctx }
}

const cannotPrepare = [
  {
    name: 'a full disk',
    error: new StoreError('cannot prepare the token store /t/tokens.json: ENOSPC', {
      cause: errno('ENOSPC', 'no space'),
    }),
    says: /^cannot prepare the token store \/t\/tokens\.json: ENOSPC; nothing was spent: free space and run again$/,
  },
  {
    name: 'a read-only lock file',
    error: new StoreError('cannot open the lock file /t/tokens.json.lock: EROFS', { cause: errno('EROFS', 'ro') }),
    says: /\/t\/tokens\.json\.lock: EROFS; nothing was spent: make the file system writable and run again$/,
  },
  {
    name: 'a keyring that is gone',
    error: new KeyringUnavailableError('the OS keyring (Secret Service) cannot be reached'),
    says: /cannot be reached; nothing was spent: make the keyring reachable/,
  },
]

for (const { name, error, says } of cannotPrepare) {
  test(`${name} at the pre-flight: exit 5, nothing sent, nothing written`, async () => {
    const { store, sent, ctx } = setup()
    store.failSave.prepare = error
    const err = await getValidTokens(ctx).catch((e: unknown) => e)
    assert.ok(err instanceof TemporaryError, String(err))
    assert.match(err.message, says)
    assert.deepEqual(sent, [])
    assert.equal(store.changes, 0)
  })
}

test('a damaged store stops the refresh with its own error (exit 1), not a temporary one', async () => {
  const { store, sent, ctx } = setup()
  store.failSave.prepare = new StoreError('the token store /t/tokens.json cannot be used: it is cut short')
  await assert.rejects(getValidTokens(ctx), (e: unknown) => e instanceof StoreError && e.exitCode === 1)
  assert.deepEqual(sent, [])
})

test('a save that fails after the answer clears the spent refresh token from the store', async () => {
  const { store, sent, spent, ctx } = setup()
  store.failSave.commit = errno('EIO', 'i/o error')
  await assert.rejects(getValidTokens(ctx), /could not be saved in memory: EIO.*removed from the store/)
  assert.deepEqual(sent, ['RT1'])
  assert.equal(await store.read(key), undefined)
  assert.deepEqual(spent.marked, [])
  assert.equal(store.openSaves, 0)
})

test('when the store cannot even be cleared, the spent token is marked, and the next refresh never sends it', async () => {
  const { store, sent, spent, ctx } = setup()
  store.failSave = { commit: errno('EROFS', 'read-only file system'), delete: errno('EROFS', 'read-only file system') }
  await assert.rejects(getValidTokens(ctx), /could not be saved.*marked as spent/)
  assert.deepEqual(spent.marked, ['RT1'])

  store.failSave = {} // the store works again
  await assert.rejects(getValidTokens(ctx), AuthRequiredError)
  assert.deepEqual(sent, ['RT1'], 'the spent refresh token was sent once, never again')
  assert.equal(await store.read(key), undefined, 'its entry is cleared, as after invalid_grant')
  assert.deepEqual(spent.marked, [])
})

test('a refused grant frees the prepared save before the compare-and-clear', async () => {
  const { store, ctx } = setup()
  const refusing: Protocol = {
    issuer: async () => undefined,
    refresh: async () => {
      throw new AuthRequiredError('invalid_grant')
    },
    identify: async () => ({ verified: undefined }),
  }
  await assert.rejects(getValidTokens({ ...ctx, protocol: async () => refusing }), AuthRequiredError)
  assert.equal(store.openSaves, 0)
  assert.equal(await store.read(key), undefined)
})
