import assert from 'node:assert/strict'
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, describe, test } from 'node:test'
import { sessionKey } from '../session-key.ts'
import { StoreError, TemporaryError } from '../errors.ts'
import type { LockFile } from '../lock/types.ts'
import { FileStore, permissionWarnings } from './file-store.ts'
import { RESERVE_SLACK_BYTES } from './reserved-file.ts'
import { MemoryStore } from './memory-store.ts'
import type { TokenSet, TokenStore } from './types.ts'

// realpath: on macOS the temp dir is reached through a link, and writes report the link's target.
const root = realpathSync(mkdtempSync(join(tmpdir(), 'authgate-file-store-')))
after(() => rmSync(root, { recursive: true, force: true }))
let counter = 0
const freshDir = () => join(root, `case-${++counter}`)

const NOW = Date.UTC(2030, 0, 1)
/** Records every lock taken, so tests can check that writes lock and reads do not. */
function recordingLock(): LockFile & { paths: string[]; held: number } {
  const take: LockFile = async (path) => {
    lock.paths.push(path)
    lock.held++
    return { path, release: () => void lock.held-- }
  }
  const lock = Object.assign(take, { paths: [] as string[], held: 0 })
  return lock
}
const storeAt = (path: string, lockFile: LockFile = recordingLock()) =>
  new FileStore(path, { lockFile, lockTimeoutMs: 1000, now: () => NOW })

const key = sessionKey('https://auth.example.com', 'cli')
const otherKey = sessionKey('https://auth.example.com', 'other-client')
const tokens: TokenSet = { accessToken: 'at-1', tokenType: 'Bearer', refreshToken: 'rt-1', obtainedAtMs: NOW - 1000 }

describe('FileStore', () => {
  test('a missing file is an empty store, and deleting from it creates nothing', async () => {
    const dir = freshDir()
    const lock = recordingLock()
    const store = storeAt(join(dir, 'tokens.json'), lock)
    assert.equal(await store.read(key), undefined)
    assert.deepEqual(await store.list(), [])
    assert.equal(await store.delete(key), false)
    assert.equal(existsSync(dir), false)
    assert.deepEqual(lock.paths, [])
  })

  test('writes a 0600 file in a new 0700 directory, under the store lock, leaving no temp file', async () => {
    const dir = join(freshDir(), 'authgate')
    const lock = recordingLock()
    const store = storeAt(join(dir, 'tokens.json'), lock)
    await store.write(key, tokens)
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    assert.equal(statSync(store.location).mode & 0o777, 0o600)
    assert.deepEqual(lock.paths, [`${store.location}.lock`])
    assert.equal(lock.held, 0)
    assert.deepEqual(readdirSync(dir).sort(), ['tokens.json'])
    assert.deepEqual(await store.read(key), tokens)
    assert.equal(lock.paths.length, 1, 'a read took the lock')
  })

  test('the location is absolute', () => {
    assert.equal(storeAt('relative/tokens.json').location, resolve('relative/tokens.json'))
  })

  test('stamps obtained_at with now() when the tokens carry none', async () => {
    const store = storeAt(join(freshDir(), 'tokens.json'))
    await store.write(key, { accessToken: 'at', tokenType: 'Bearer' })
    assert.equal((await store.read(key))?.obtainedAtMs, NOW)
  })

  test('keeps other sessions and unknown fields across writes and deletes', async () => {
    const path = join(freshDir(), 'tokens.json')
    mkdirSync(join(path, '..'))
    writeFileSync(path, JSON.stringify({ version: 1, mine: 'kept', sessions: {} }))
    const store = storeAt(path)
    await store.write(key, tokens)
    await store.write(otherKey, { ...tokens, accessToken: 'at-other' })
    assert.equal(await store.delete(key, 'rt-stale'), false)
    assert.equal(await store.delete(key, 'rt-1'), true)
    const doc = JSON.parse(readFileSync(path, 'utf8'))
    assert.equal(doc.mine, 'kept')
    assert.deepEqual(Object.keys(doc.sessions), [otherKey.account])
    assert.deepEqual(
      (await store.list()).map((s) => [s.key.account, s.tokens.accessToken, s.store]),
      [[otherKey.account, 'at-other', 'file']],
    )
  })

  test('a Go CLI entry in the file is never read as the session, and its bytes survive a write and a delete', async () => {
    const path = join(freshDir(), 'tokens.json')
    mkdirSync(join(path, '..'))
    const goEntry = { access_token: 'go-at', refresh_token: 'go-rt', token_type: 'Bearer', client_id: 'cli' }
    writeFileSync(path, JSON.stringify({ tokens: { cli: goEntry } }))
    const store = storeAt(path)
    assert.equal(await store.read(key), undefined)
    await store.write(key, { ...tokens, refreshToken: 'rt-2' })
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')).tokens, { cli: goEntry })
    assert.equal(await store.delete(key, 'rt-2'), true)
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')).tokens, { cli: goEntry })
  })

  test('a lock timeout surfaces and nothing is written', async () => {
    const path = join(freshDir(), 'tokens.json')
    const failing: LockFile = async (lockPath) => {
      throw new TemporaryError(`timed out waiting for the lock ${lockPath}`)
    }
    await assert.rejects(storeAt(path, failing).write(key, tokens), TemporaryError)
    assert.equal(existsSync(path), false)
  })
})

describe('prepareSave (issue 15)', () => {
  test('holds the store lock and a pre-sized temp file; abort leaves the store byte for byte and no temp file', async () => {
    const dir = freshDir()
    const lock = recordingLock()
    const store = storeAt(join(dir, 'tokens.json'), lock)
    await store.write(key, tokens)
    const before = readFileSync(store.location)
    const prepared = await store.prepareSave(key)
    assert.equal(lock.held, 1, 'the store lock is held from the pre-flight to the commit')
    const temp = readdirSync(dir).filter((n) => n.endsWith('.tmp'))
    assert.equal(temp.length, 1)
    assert.ok(statSync(join(dir, temp[0]!)).size >= before.length + RESERVE_SLACK_BYTES, 'room for a larger token set')
    await prepared.abort()
    assert.equal(lock.held, 0)
    assert.deepEqual(readdirSync(dir).sort(), ['tokens.json'])
    assert.deepEqual(readFileSync(store.location), before)
  })

  test('commit writes the entry into the reserved file, keeps other sessions, and releases the lock', async () => {
    const lock = recordingLock()
    const store = storeAt(join(freshDir(), 'tokens.json'), lock)
    await store.write(otherKey, { ...tokens, refreshToken: 'rt-other' })
    const prepared = await store.prepareSave(key)
    await prepared.commit({ ...tokens, refreshToken: 'rt-2' })
    assert.equal(lock.held, 0)
    assert.equal((await store.read(key))?.refreshToken, 'rt-2')
    assert.equal((await store.read(otherKey))?.refreshToken, 'rt-other')
    assert.deepEqual(readdirSync(join(store.location, '..')).sort(), ['tokens.json'])
  })

  test('removes the temp file of a process killed during its grant (it held the lock, so no one else owns it)', async () => {
    const dir = freshDir()
    const store = storeAt(join(dir, 'tokens.json'))
    await store.write(key, tokens)
    writeFileSync(join(dir, '.tokens.json.killed1234.tmp'), Buffer.alloc(17_000))
    await (await store.prepareSave(key)).abort()
    assert.deepEqual(readdirSync(dir), ['tokens.json'])
  })

  test('a store that cannot be parsed fails the pre-flight, untouched, with nothing held', async () => {
    const dir = freshDir()
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'tokens.json'), '{"version": 1, "sessions": ')
    const lock = recordingLock()
    const store = storeAt(join(dir, 'tokens.json'), lock)
    await assert.rejects(store.prepareSave(key), StoreError)
    assert.equal(lock.held, 0)
    assert.deepEqual(readdirSync(dir), ['tokens.json'])
  })
})

describe('a store that cannot be parsed is never overwritten', () => {
  const valid = JSON.stringify({ version: 1, sessions: { [key.account]: { access_token: 'at' } } })
  const cases = [
    { name: 'empty (0 bytes)', content: '' },
    { name: 'truncated', content: valid.slice(0, valid.length - 7) },
    { name: 'garbage', content: '\u0000\u0001binary' },
    { name: 'not an object', content: '"tokens"' },
    { name: 'wrong type in our entry', content: JSON.stringify({ sessions: { [key.account]: { access_token: 42 } } }) },
  ]
  for (const { name, content } of cases) {
    test(name, async () => {
      const path = join(freshDir(), 'tokens.json')
      mkdirSync(join(path, '..'))
      writeFileSync(path, content, { mode: 0o600 })
      const store = storeAt(path)
      const isStoreError = (error: unknown) =>
        error instanceof StoreError && error.exitCode === 1 && error.message.includes(path)
      await assert.rejects(store.read(key), isStoreError)
      await assert.rejects(store.write(key, tokens), isStoreError)
      await assert.rejects(store.delete(key), isStoreError)
      assert.equal(readFileSync(path, 'latin1'), content)
      assert.deepEqual(readdirSync(join(path, '..')), ['tokens.json'])
    })
  }
})

describe('a symbolic link to the store', () => {
  test('is followed for reads, and writes land in the target, keeping the link', async () => {
    const dir = freshDir()
    const realDir = join(dir, 'dotfiles')
    mkdirSync(realDir, { recursive: true })
    const target = join(realDir, 'tokens.json')
    const link = join(dir, 'config', 'tokens.json')
    mkdirSync(join(link, '..'))
    symlinkSync('../dotfiles/tokens.json', link)
    const lock = recordingLock()
    const store = storeAt(link, lock)
    assert.equal(await store.read(key), undefined, 'a dangling link is an empty store')
    await store.write(key, tokens)
    await store.write(otherKey, tokens)
    assert.ok(lstatSync(link).isSymbolicLink())
    assert.equal(readlinkSync(link), '../dotfiles/tokens.json')
    assert.equal(statSync(target).mode & 0o777, 0o600)
    assert.deepEqual(await store.read(key), tokens)
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(target, 'utf8')).sessions), [key.account, otherKey.account])
    assert.deepEqual(lock.paths, [`${target}.lock`, `${target}.lock`])
    assert.deepEqual(readdirSync(realDir).sort(), ['tokens.json'])
  })
})

describe('permissionWarnings', () => {
  test('warns about a group/other-readable file and directory, and not about 0600 in 0700', async () => {
    const dir = join(freshDir(), 'authgate')
    const store = storeAt(join(dir, 'tokens.json'))
    assert.deepEqual(permissionWarnings(store.location), [], 'a missing file')
    await store.write(key, tokens)
    assert.deepEqual(permissionWarnings(store.location), [])
    chmodSync(store.location, 0o644)
    chmodSync(dir, 0o755)
    assert.deepEqual(permissionWarnings(store.location), [
      `the token store ${store.location} is accessible to other users (mode 644): run chmod 600 ${store.location}`,
      `the token store directory ${dir} is accessible to other users (mode 755): run chmod 700 ${dir}`,
    ])
  })
})

// The double must behave like the real store, or tests above the stores prove nothing.
describe('the TokenStore contract, for FileStore and its MemoryStore double', () => {
  const makers: Array<[string, () => TokenStore]> = [
    ['file', () => storeAt(join(freshDir(), 'tokens.json'))],
    ['memory', () => new MemoryStore()],
  ]
  for (const [kind, make] of makers) {
    test(kind, async () => {
      const store = make()
      assert.equal(store.kind, kind)
      await store.write(key, tokens)
      await store.write(otherKey, { ...tokens, refreshToken: 'rt-other' })
      assert.deepEqual(await store.read(key), tokens)
      assert.equal(await store.delete(key, 'rt-wrong'), false)
      assert.deepEqual(await store.read(key), tokens)
      assert.equal(await store.delete(key, 'rt-1'), true)
      assert.equal(await store.read(key), undefined)
      assert.equal(await store.delete(key), false)
      assert.deepEqual(
        (await store.list()).map((s) => [s.key, s.tokens.refreshToken, s.store]),
        [[otherKey, 'rt-other', kind]],
      )
      assert.equal(await store.delete(otherKey), true)
      assert.deepEqual(await store.list(), [])
    })
  }
})
