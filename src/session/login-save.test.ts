import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sessionKey } from '../session-key.ts'
import type { LockFile } from '../lock/types.ts'
import { MemoryStore } from '../stores/memory-store.ts'
import type { SessionContext } from './refresh-engine.ts'
import { describePlacement, type Placed, saveLoginTokens } from './login-save.ts'

const FILE = '/home/u/.config/authgate/tokens.json'
const KEYRING = 'the OS keyring (Secret Service), service authgate-cli'
const none = { removedFrom: [], leftIn: [] }

const cases: Array<{ name: string; placed: Placed; mode: 'auto' | 'keyring' | 'file'; want: string[] }> = [
  {
    name: 'auto → keyring',
    placed: { store: 'keyring', location: KEYRING, ...none },
    mode: 'auto',
    want: [`auto: tokens saved in ${KEYRING}`],
  },
  {
    name: 'auto → file, keyring unreachable',
    placed: {
      store: 'file',
      location: FILE,
      notKeyring: { failure: 'the OS keyring (Secret Service) cannot be used (write failed): no D-Bus' },
      ...none,
    },
    mode: 'auto',
    want: [
      `auto: tokens saved in the file ${FILE}, because the OS keyring (Secret Service) cannot be used (write failed): no D-Bus`,
    ],
  },
  {
    name: 'auto → encrypted, too large',
    placed: { store: 'encrypted', location: '/h/tokens.enc', notKeyring: { tooLargeBytes: 6400 }, ...none },
    mode: 'auto',
    want: [
      'auto: the tokens (6400 bytes) are larger than an OS keyring item holds (2560 bytes): saved in the encrypted file /h/tokens.enc, its key in the OS keyring',
    ],
  },
  {
    name: 'explicit keyring, moved out of the file',
    placed: { store: 'keyring', location: KEYRING, removedFrom: [{ store: 'file', location: FILE }], leftIn: [] },
    mode: 'keyring',
    want: [`moved the session out of the file ${FILE}: the plaintext copy there is removed`],
  },
  {
    name: 'explicit file, keyring copy removed, encrypted copy left behind',
    placed: {
      store: 'file',
      location: FILE,
      removedFrom: [{ store: 'keyring', location: KEYRING }],
      leftIn: [{ location: '/h/tokens.enc', reason: 'damaged' }],
    },
    mode: 'file',
    want: [
      `removed the earlier copy of the session from ${KEYRING}`,
      'warning: could not remove the earlier copy of the session from /h/tokens.enc: damaged',
    ],
  },
  {
    name: 'explicit file, nothing to move: silent',
    placed: { store: 'file', location: FILE, ...none },
    mode: 'file',
    want: [],
  },
]

for (const { name, placed, mode, want } of cases)
  test(`describePlacement: ${name}`, () => assert.deepEqual(describePlacement(placed, mode), want))

test('saveLoginTokens holds the session lock only while it saves, and writes into a store it was handed', async () => {
  const key = sessionKey('https://auth.example.com', 'cli')
  const store = new MemoryStore()
  const events: string[] = []
  const lockFile: LockFile = async (path) => (
    events.push(`lock ${path}`),
    { path, release: () => void events.push('release') }
  )
  const context: SessionContext = {
    key,
    store,
    lockFile,
    lockPath: '/locks/s.lock',
    lockTimeoutMs: 1000,
    refreshSkewSeconds: 60,
    clock: { now: () => 0 },
    protocol: () => Promise.reject(new Error('no protocol in this test')),
  }
  const lines: string[] = []
  const placed = await saveLoginTokens(
    { settings: { tokenStore: 'file', tokenFile: '/nowhere/tokens.json', lockTimeoutMs: 1000 }, context },
    { accessToken: 'at', tokenType: 'Bearer' },
    { sleep: async () => {}, platform: 'linux' },
    (l) => lines.push(l),
  )
  assert.deepEqual(events, ['lock /locks/s.lock', 'release'])
  assert.deepEqual(await store.read(key), { accessToken: 'at', tokenType: 'Bearer' })
  assert.deepEqual([placed.store, lines], ['memory', []])
})

test('a sign-in saves into the temp file its pre-flight reserved, under the locks it held since (issue 15)', async (t) => {
  const { mkdtempSync, readdirSync, readFileSync, rmSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const { createLockFile } = await import('../lock/kernel-lock.ts')
  const { FileStore } = await import('../stores/file-store.ts')
  const { guardLoginGrants, loginHolder } = await import('./preflight.ts')
  const dir = mkdtempSync(join(tmpdir(), 'authgate-login-hold-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const kernel = createLockFile({ pid: process.pid, sleep: async () => {} })
  const taken: string[] = []
  const lockFile: LockFile = (path, options) => (taken.push(path), kernel(path, options))
  const tokenFile = join(dir, 'tokens.json')
  const store = new FileStore(tokenFile, { lockFile, lockTimeoutMs: 1000, now: () => 0 })
  const key = sessionKey('https://auth.example', 'cli')
  const context = {
    key,
    store,
    lockFile,
    lockPath: join(dir, 'session.lock'),
    lockTimeoutMs: 1000,
    refreshSkewSeconds: 60,
    clock: { now: () => 0 },
    protocol: async () => assert.fail('no protocol is needed'),
  } satisfies SessionContext
  const grant = { accessToken: 'AT-signed-in', tokenType: 'Bearer', refreshToken: 'RT-signed-in' }
  let polls = 0
  const holder = loginHolder()
  const guarded = guardLoginGrants(
    context,
    {
      deviceAuthorization: async () => assert.fail(),
      authorizationRequest: async () => assert.fail(),
      exchangeCode: async () => assert.fail(),
      pollDevice: async () => (++polls === 1 ? { status: 'pending' } : { status: 'granted', grant }),
    },
    holder,
  )

  assert.deepEqual(await guarded.pollDevice('dc'), { status: 'pending' })
  assert.equal(holder.claim(), undefined, 'a pending poll hands nothing over')
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.endsWith('.tmp')),
    [],
    'and frees its reservation',
  )
  await guarded.pollDevice('dc')
  const storeLocksBefore = taken.filter((p) => p.endsWith('tokens.json.lock')).length
  const tokens = { accessToken: grant.accessToken, tokenType: 'Bearer', refreshToken: grant.refreshToken }
  const session = { settings: { tokenStore: 'file', tokenFile, lockTimeoutMs: 1000 }, context } as const
  await saveLoginTokens(
    session,
    tokens,
    { sleep: async () => {}, platform: process.platform },
    () => {},
    holder.claim(),
  )
  await holder.free()

  const saved = JSON.parse(readFileSync(tokenFile, 'utf8')).sessions[key.account]
  assert.equal(saved.access_token, 'AT-signed-in')
  assert.equal(taken.filter((p) => p.endsWith('tokens.json.lock')).length, storeLocksBefore, 'no second store lock')
  assert.equal(
    taken.filter((p) => p.endsWith('session.lock')).length,
    2,
    'one session lock per poll, none for the save',
  )
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.endsWith('.tmp')),
    [],
  )
  // Both locks are free again: a peer can take them at once.
  const again = await kernel(join(dir, 'session.lock'), { timeoutMs: 0 })
  again.release()
  ;(await kernel(`${tokenFile}.lock`, { timeoutMs: 0 })).release()
})
