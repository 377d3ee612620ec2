import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sessionKey } from '../session-key.ts'
import { AuthRequiredError, TemporaryError } from '../errors.ts'
import { memoryLock } from '../lock/memory-lock.ts'
import { MemoryStore } from '../stores/memory-store.ts'
import type { TokenSet } from '../stores/types.ts'
import { getValidTokens, SingleFlight, type SessionContext } from './refresh-engine.ts'
import type { Grant, Protocol } from './protocol-types.ts'
import { memoryContext } from '../../test/support/session-context.ts'

const key = sessionKey('https://auth.example', 'cli')
const NOW = 1_000_000_000
const stale: TokenSet = {
  accessToken: 'AT1',
  tokenType: 'Bearer',
  refreshToken: 'RT1',
  expiresAtMs: NOW - 1,
  obtainedAtMs: NOW - 3600_000,
}
const fresh: TokenSet = {
  accessToken: 'AT2',
  tokenType: 'Bearer',
  refreshToken: 'RT2',
  expiresAtMs: NOW + 3600_000,
  obtainedAtMs: NOW,
}

/** A protocol double that records refresh calls (and client-credentials grants, as `cc:<scope>`) and answers from a script. */
function protocolDouble(answer: (rt: string) => Promise<Grant>) {
  const calls: string[] = []
  const protocol: Protocol = {
    issuer: async () => undefined,
    refresh: async (rt) => {
      calls.push(rt)
      return answer(rt)
    },
    clientCredentials: async (scope) => {
      calls.push(`cc:${scope ?? ''}`)
      return answer('')
    },
    identify: async () => ({ verified: undefined }),
  }
  return { protocol, calls }
}

function context(store: MemoryStore, protocol: Protocol, over: Partial<SessionContext> = {}): SessionContext {
  return memoryContext(key, NOW, store, protocol, over)
}

test('a fresh token is returned without a lock or a request', async () => {
  const store = new MemoryStore([{ key, tokens: fresh }])
  const { protocol, calls } = protocolDouble(async () => {
    throw new Error('must not refresh')
  })
  const lock = memoryLock()
  assert.equal((await getValidTokens(context(store, protocol, { lockFile: lock }))).accessToken, 'AT2')
  assert.deepEqual(calls, [])
})

test('an expiring token is refreshed with the token read under the lock, saved, and the old refresh token kept when none is sent', async () => {
  const store = new MemoryStore([{ key, tokens: stale }])
  const { protocol, calls } = protocolDouble(async () => ({
    accessToken: 'AT9',
    tokenType: 'Bearer',
    expiresInSeconds: 600,
  }))
  const got = await getValidTokens(context(store, protocol))
  assert.deepEqual(calls, ['RT1'])
  assert.equal(got.accessToken, 'AT9')
  assert.equal(got.refreshToken, 'RT1')
  assert.equal(got.expiresAtMs, NOW + 600_000)
  assert.deepEqual(await store.read(key), got)
})

test('a peer that refreshed while we waited is adopted with no request', async () => {
  const store = new MemoryStore([{ key, tokens: stale }])
  const { protocol, calls } = protocolDouble(async () => {
    throw new Error('must not refresh')
  })
  // The lock double lets us act between step 1 (read) and step 3 (re-read under the lock): the "peer" saves first.
  const lock = memoryLock()
  const peerHolds = await lock('/locks/x.lock', { timeoutMs: 1000 })
  const pending = getValidTokens(context(store, protocol, { lockFile: lock }))
  await store.write(key, fresh)
  peerHolds.release()
  assert.equal((await pending).accessToken, 'AT2')
  assert.deepEqual(calls, [])
})

test('invalid_grant deletes only the refresh token that failed (compare-and-clear) and asks for login', async () => {
  const store = new MemoryStore([{ key, tokens: stale }])
  const { protocol } = protocolDouble(async () => {
    throw new AuthRequiredError('rejected')
  })
  await assert.rejects(getValidTokens(context(store, protocol)), AuthRequiredError)
  assert.equal(await store.read(key), undefined)

  // A store whose entry changed under us keeps the newer token: compare-and-clear sees RT-other, not RT1.
  const racing = new MemoryStore([{ key, tokens: stale }])
  const { protocol: p2 } = protocolDouble(async () => {
    await racing.write(key, { ...fresh, refreshToken: 'RT-other' })
    throw new AuthRequiredError('rejected')
  })
  await assert.rejects(getValidTokens(context(racing, p2)), AuthRequiredError)
  assert.equal((await racing.read(key))?.refreshToken, 'RT-other')
})

test('a transient failure leaves the stored token untouched', async () => {
  const store = new MemoryStore([{ key, tokens: stale }])
  const { protocol } = protocolDouble(async () => {
    throw new TemporaryError('down')
  })
  await assert.rejects(getValidTokens(context(store, protocol)), TemporaryError)
  assert.deepEqual(await store.read(key), stale)
  assert.equal(store.changes, 0)
})

test('no session → AuthRequiredError naming the server and client', async () => {
  const { protocol } = protocolDouble(async () => {
    throw new Error('no')
  })
  await assert.rejects(
    getValidTokens(context(new MemoryStore(), protocol)),
    (e: unknown) =>
      e instanceof AuthRequiredError && /https:\/\/auth\.example/.test(e.message) && /cli/.test(e.message),
  )
})

test('force refreshes a valid token; rejected adopts a peer replacement instead', async () => {
  const store = new MemoryStore([{ key, tokens: fresh }])
  const { protocol, calls } = protocolDouble(async () => ({
    accessToken: 'AT3',
    tokenType: 'Bearer',
    refreshToken: 'RT3',
    expiresInSeconds: 600,
  }))
  assert.equal((await getValidTokens(context(store, protocol), { force: true })).accessToken, 'AT3')
  assert.equal((await getValidTokens(context(store, protocol), { force: true, rejected: 'AT-old' })).accessToken, 'AT3')
  assert.deepEqual(calls, ['RT2'])
})

test('single flight: 50 concurrent callers in one process share one refresh', async () => {
  const store = new MemoryStore([{ key, tokens: stale }])
  const { protocol, calls } = protocolDouble(async () => ({
    accessToken: 'AT4',
    tokenType: 'Bearer',
    refreshToken: 'RT4',
    expiresInSeconds: 600,
  }))
  const flight = new SingleFlight()
  const inner = memoryLock()
  let locks = 0
  const ctx = context(store, protocol, { lockFile: (path, o) => (locks++, inner(path, o)) })
  const got = await Promise.all(Array.from({ length: 50 }, () => flight.run(ctx)))
  assert.deepEqual(calls, ['RT1'])
  assert.equal(locks, 1, 'one lock acquisition for the whole flight, not 50 queued waiters')
  assert.ok(got.every((t) => t.accessToken === 'AT4'))
})

/** Records every lock request (shared or not) on top of the shared/exclusive double. */
function countingLock() {
  const inner = memoryLock()
  const taken: string[] = []
  const lockFile: SessionContext['lockFile'] = (path, o) => {
    taken.push(o.shared ? 'shared' : o.timeoutMs === 0 ? 'try' : 'exclusive')
    return inner(path, o)
  }
  return { inner, lockFile, taken }
}

test('waiters wake together: a held lock sends every caller to a shared wait, and all adopt the peer token', async () => {
  const store = new MemoryStore([{ key, tokens: stale }])
  const { protocol, calls } = protocolDouble(async () => {
    throw new Error('must not refresh')
  })
  const { inner, lockFile, taken } = countingLock()
  const peer = await inner('/locks/x.lock', { timeoutMs: 1000 })
  const waiters = Array.from({ length: 5 }, () => getValidTokens(context(store, protocol, { lockFile })))
  await new Promise((r) => setImmediate(r))
  await store.write(key, fresh)
  peer.release()
  const got = await Promise.all(waiters)
  assert.ok(got.every((t) => t.accessToken === 'AT2'))
  assert.deepEqual(calls, [])
  assert.deepEqual(taken.sort(), [...Array(5).fill('shared'), ...Array(5).fill('try')])
})

test('a failed refresher: the woken waiters queue for the exclusive lock and exactly one refreshes', async () => {
  const store = new MemoryStore([{ key, tokens: stale }])
  const { protocol, calls } = protocolDouble(async () => ({ ...fresh, expiresInSeconds: 3600 }))
  const { inner, lockFile } = countingLock()
  const peer = await inner('/locks/x.lock', { timeoutMs: 1000 })
  const waiters = Array.from({ length: 5 }, () => getValidTokens(context(store, protocol, { lockFile })))
  await new Promise((r) => setImmediate(r))
  peer.release() // gave up without saving anything
  const got = await Promise.all(waiters)
  assert.deepEqual(calls, ['RT1'])
  assert.ok(got.every((t) => t.accessToken === 'AT2'))
})

test('the protocol loads only in the process that refreshes, and before a queued refresher holds the lock', async () => {
  const store = new MemoryStore([{ key, tokens: stale }])
  const { protocol } = protocolDouble(async () => ({ ...fresh, expiresInSeconds: 3600 }))
  const order: string[] = []
  const inner = memoryLock()
  const ctx = (name: string) =>
    context(store, protocol, {
      protocol: async () => (order.push(`${name} loads`), protocol),
      lockFile: async (path, o) => {
        const handle = await inner(path, o)
        order.push(`${name} holds ${o.shared ? 'shared' : 'exclusive'}`)
        return handle
      },
    })
  const peer = await inner('/locks/x.lock', { timeoutMs: 1000 })
  const adopter = getValidTokens(ctx('adopter'))
  await new Promise((r) => setImmediate(r))
  await store.write(key, fresh)
  peer.release()
  await adopter
  assert.deepEqual(order, ['adopter holds shared'], 'a waiter that adopts never loads the protocol')

  order.length = 0
  await store.write(key, stale)
  const peer2 = await inner('/locks/x.lock', { timeoutMs: 1000 })
  const refresher = getValidTokens(ctx('queued'))
  await new Promise((r) => setImmediate(r))
  peer2.release() // failed: the token is still stale
  await refresher
  assert.deepEqual(order, ['queued holds shared', 'queued loads', 'queued holds exclusive'])
})

const machineGrant = async (): Promise<Grant> => ({ accessToken: 'M2', tokenType: 'Bearer', expiresInSeconds: 3600 })

test('a machine session with nothing stored: one client-credentials grant under the lock, saved with no refresh token', async () => {
  const store = new MemoryStore([])
  const { protocol, calls } = protocolDouble(machineGrant)
  const got = await getValidTokens(context(store, protocol, { machine: { scope: undefined } }))
  assert.deepEqual(calls, ['cc:'])
  assert.deepEqual(
    [got.accessToken, got.refreshToken, got.expiresAtMs, got.flow],
    ['M2', undefined, NOW + 3600_000, 'client_credentials'],
  )
  assert.deepEqual(await store.read(key), got)
})

test('a machine session: a fresh stored token is used, an expiring one replaced by a new grant with the user scope', async () => {
  const machineFresh: TokenSet = { ...fresh, refreshToken: undefined, accessToken: 'M1' }
  const { protocol, calls } = protocolDouble(machineGrant)
  const ctx = (store: MemoryStore) => context(store, protocol, { machine: { scope: 'read' } })
  assert.equal((await getValidTokens(ctx(new MemoryStore([{ key, tokens: machineFresh }])))).accessToken, 'M1')
  assert.deepEqual(calls, [])
  const expired: TokenSet = { ...stale, refreshToken: undefined, accessToken: 'M0' }
  assert.equal((await getValidTokens(ctx(new MemoryStore([{ key, tokens: expired }])))).accessToken, 'M2')
  assert.deepEqual(calls, ['cc:read'])
})

test('a machine session: a token a peer saved while we waited for the lock is used with no request', async () => {
  const store = new MemoryStore([])
  const { protocol, calls } = protocolDouble(machineGrant)
  const peer: TokenSet = { ...fresh, refreshToken: undefined, accessToken: 'PEER' }
  const lockFile: SessionContext['lockFile'] = async () => {
    await store.write(key, peer) // the peer held the lock and saved its grant
    return { path: '/locks/x.lock', release() {} }
  }
  const got = await getValidTokens(context(store, protocol, { machine: { scope: undefined }, lockFile }))
  assert.equal(got.accessToken, 'PEER')
  assert.deepEqual(calls, [])
})

test('a user session with nothing stored still says "not signed in", with no request', async () => {
  const { protocol, calls } = protocolDouble(machineGrant)
  await assert.rejects(getValidTokens(context(new MemoryStore([]), protocol)), AuthRequiredError)
  assert.deepEqual(calls, [])
})
