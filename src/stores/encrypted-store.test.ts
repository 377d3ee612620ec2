import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { sessionKey } from '../session-key.ts'
import { StoreError } from '../errors.ts'
import type { LockFile } from '../lock/types.ts'
import {
  EncryptedStore,
  encryptedStorePath,
  KEY_SERVICE,
  openEnvelope,
  parseEnvelope,
  sealDocument,
} from './encrypted-store.ts'
import { KeyringClient, KeyringUnavailableError } from './keyring-client.ts'
import { MemoryKeyring } from './memory-keyring.ts'
import type { TokenSet } from './types.ts'

const root = realpathSync(mkdtempSync(join(tmpdir(), 'authgate-encrypted-store-')))
after(() => rmSync(root, { recursive: true, force: true }))
let counter = 0
const freshPath = () => join(root, `case-${++counter}`, 'tokens.enc')

const NOW = Date.UTC(2030, 0, 1)
const SRC = '/home/u/.config/authgate/tokens.enc'
const key = sessionKey('https://auth.example.com', 'cli')
const other = sessionKey('https://auth.example.com', 'other')
const tokens: TokenSet = {
  accessToken: 'at-secret-1',
  tokenType: 'Bearer',
  refreshToken: 'rt-secret-1',
  obtainedAtMs: NOW,
}

const locks: string[] = []
const recordingLock: LockFile = async (path) => (locks.push(path), { path, release: () => {} })
const neverSleep = (_ms: number, signal?: AbortSignal) =>
  new Promise<void>((_, reject) => signal?.addEventListener('abort', reject))

function storeAt(path: string, api = new MemoryKeyring()) {
  const keyring = new KeyringClient({ api, sleep: neverSleep, platform: 'linux' })
  return {
    api,
    store: new EncryptedStore(path, { lockFile: recordingLock, lockTimeoutMs: 1000, now: () => NOW, keyring }),
  }
}

describe('the envelope', () => {
  const secret = randomBytes(32)
  const sealed = sealDocument('{"version":1,"sessions":{}}\n', secret, 'acct#1')

  test('round trip, and the file is versioned JSON that holds no plaintext', () => {
    const envelope = parseEnvelope(sealed, SRC)
    assert.equal(openEnvelope(envelope, secret, SRC), '{"version":1,"sessions":{}}\n')
    const outer = JSON.parse(sealed)
    assert.deepEqual(Object.keys(outer), ['format', 'version', 'cipher', 'key', 'iv', 'tag', 'data'])
    assert.deepEqual(
      [outer.format, outer.version, outer.cipher, outer.key],
      ['authgate-encrypted-token-store', 1, 'aes-256-gcm', 'acct#1'],
    )
    assert.doesNotMatch(sealed, /sessions/)
    assert.notEqual(
      JSON.parse(sealDocument('x', secret, 'acct#1')).iv,
      JSON.parse(sealDocument('x', secret, 'acct#1')).iv,
      'a fresh IV per write',
    )
  })

  const flip = (field: string) => {
    const outer = JSON.parse(sealed)
    const bytes = Buffer.from(outer[field], 'base64')
    bytes[0]! ^= 1
    return JSON.stringify({ ...outer, [field]: bytes.toString('base64') })
  }
  const tampered: Array<{ name: string; text: string; key?: Buffer; want: RegExp }> = [
    { name: 'a ciphertext byte flipped', text: flip('data'), want: /has been changed or damaged/ },
    { name: 'the tag flipped', text: flip('tag'), want: /has been changed or damaged/ },
    { name: 'the IV flipped', text: flip('iv'), want: /has been changed or damaged/ },
    {
      name: 'the key name changed (authenticated header)',
      text: sealed.replace('acct#1', 'acct#2'),
      want: /has been changed or damaged/,
    },
    { name: 'the wrong key', text: sealed, key: randomBytes(32), want: /has been changed or damaged/ },
    {
      name: 'the ciphertext cut short inside the JSON',
      text: JSON.stringify({ ...JSON.parse(sealed), data: '' }),
      want: /has been changed or damaged/,
    },
    {
      name: 'the file cut short',
      text: sealed.slice(0, sealed.length / 2),
      want: /cut short or is not an authgate encrypted store/,
    },
    { name: 'an empty file', text: '', want: /the file is empty/ },
    { name: 'a plain token file', text: '{"version":1,"sessions":{}}', want: /not an authgate encrypted store/ },
    {
      name: 'a damaged IV length',
      text: JSON.stringify({ ...JSON.parse(sealed), iv: 'AAAA' }),
      want: /"iv" is damaged/,
    },
    {
      name: 'a newer version',
      text: JSON.stringify({ ...JSON.parse(sealed), version: 2 }),
      want: /format version 2 .* cannot read/,
    },
  ]
  for (const { name, text, key: wrongKey, want } of tampered) {
    test(`${name}: a StoreError naming the file`, () => {
      assert.throws(
        () => openEnvelope(parseEnvelope(text, SRC), wrongKey ?? secret, SRC),
        (e: unknown) => {
          assert.ok(e instanceof StoreError)
          assert.match(e.message, want)
          assert.ok(e.message.includes(SRC))
          return true
        },
      )
    })
  }
})

describe('encryptedStorePath', () => {
  const cases = [
    { input: '/h/.config/authgate/tokens.json', want: '/h/.config/authgate/tokens.enc' },
    { input: '/h/tokens', want: '/h/tokens.enc' },
    { input: '/h/tokens.enc', want: '/h/tokens.enc.enc' },
  ]
  for (const { input, want } of cases) test(`${input} → ${want}`, () => assert.equal(encryptedStorePath(input), want))
})

describe('EncryptedStore', () => {
  test('round trip; 0600; one key item per file, made before the file; no plaintext on disk', async () => {
    const path = freshPath()
    const { api, store } = storeAt(path)
    assert.equal(await store.read(key), undefined)
    assert.deepEqual(api.calls, [], 'a missing file needs no key')
    await store.write(key, tokens)
    await store.write(other, { ...tokens, accessToken: 'at-secret-2' })
    assert.deepEqual(await store.read(key), tokens)
    assert.equal(statSync(path).mode & 0o777, 0o600)
    assert.doesNotMatch(readFileSync(path, 'utf8'), /secret/)
    const keyItems = [...api.items.keys()].filter((k) => k.startsWith(`${KEY_SERVICE}\n`))
    assert.equal(keyItems.length, 1)
    assert.ok(keyItems[0]!.startsWith(`${KEY_SERVICE}\n${path}#`), keyItems[0])
    assert.deepEqual(locks.filter((l) => l === `${path}.lock`).length, 2, 'every write holds the store lock')
    // Another process: a new store over the same keyring and file.
    const again = storeAt(path, api).store
    assert.deepEqual((await again.list()).map((s) => [s.key.account, s.tokens.accessToken, s.store]).sort(), [
      [key.account, 'at-secret-1', 'encrypted'],
      [other.account, 'at-secret-2', 'encrypted'],
    ])
    assert.equal(await again.delete(key, 'rt-other'), false)
    assert.equal(await again.delete(key), true)
    assert.equal(await again.read(key), undefined)
  })

  test('a tampered or truncated file is reported and never overwritten, not even by a write', async () => {
    const path = freshPath()
    const { api, store } = storeAt(path)
    await store.write(key, tokens)
    const good = readFileSync(path, 'utf8')
    for (const damaged of [
      good.slice(0, good.length - 40),
      good.replace(/"data": "(.)/, (_, c) => `"data": "${c === 'A' ? 'B' : 'A'}`),
    ]) {
      writeFileSync(path, damaged)
      const fresh = storeAt(path, api).store
      for (const attempt of [
        () => fresh.read(key),
        () => fresh.write(key, tokens),
        () => fresh.delete(key),
        () => fresh.list(),
      ]) {
        await assert.rejects(attempt(), (e: unknown) => e instanceof StoreError && e.message.includes(path))
      }
      assert.equal(readFileSync(path, 'utf8'), damaged)
    }
  })

  test('a key missing from the keyring, or a keyring that does not work, is a clear error; the file stays', async () => {
    const path = freshPath()
    const { api, store } = storeAt(path)
    await store.write(key, tokens)
    const before = readFileSync(path)
    const lost = new MemoryKeyring()
    await assert.rejects(
      storeAt(path, lost).store.read(key),
      /its key is not in the OS keyring \(Secret Service\), service authgate-cli-file-key/,
    )
    await assert.rejects(storeAt(path, lost).store.write(key, tokens), /its key is not in/)
    api.mode = 'unavailable'
    await assert.rejects(storeAt(path, api).store.read(key), KeyringUnavailableError)
    assert.deepEqual(readFileSync(path), before)
  })
})

describe('prepareSave (issue 15)', () => {
  test('a new file: a pending poll leaves no key behind; the commit creates one key and a file that opens', async () => {
    const path = freshPath()
    const { api, store } = storeAt(path)
    for (let poll = 0; poll < 3; poll++) await (await store.prepareSave(key)).abort()
    assert.deepEqual([...api.items.keys()], [], 'the probe item is removed, no key is made')
    await (await store.prepareSave(key)).commit(tokens)
    assert.equal((await api.accounts(KEY_SERVICE)).length, 1)
    assert.deepEqual(await store.read(key), tokens)
  })

  test('an existing file: the key is read at the pre-flight, so the commit needs no keyring', async () => {
    const { api, store } = storeAt(freshPath())
    await store.write(key, tokens)
    const prepared = await store.prepareSave(other)
    api.items.clear() // the keyring is gone after the pre-flight
    await prepared.commit({ ...tokens, refreshToken: 'rt-other' })
    assert.equal((await store.read(other))?.refreshToken, 'rt-other', 'the key is cached in the store')
  })

  test('a keyring that refuses writes fails the pre-flight of a new file, leaving nothing', async () => {
    const path = freshPath()
    const api = new MemoryKeyring()
    api.mode = 'unavailable'
    const { store } = storeAt(path, api)
    await assert.rejects(store.prepareSave(key), KeyringUnavailableError)
    assert.equal(existsSync(path), false)
  })
})
