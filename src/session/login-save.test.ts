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
