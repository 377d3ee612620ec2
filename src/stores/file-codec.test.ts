import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { sessionKey } from '../session-key.ts'
import { StoreError } from '../errors.ts'
import {
  encodeStore,
  type JsonObject,
  listPointers,
  listSessions,
  parseStore,
  putPointer,
  putSession,
  readPlacement,
  readSession,
  removePointer,
  removeSession,
} from './file-codec.ts'
import { parseRfc3339 } from './json-fields.ts'
import type { TokenSet } from './types.ts'

const SRC = '/home/u/.config/authgate/tokens.json'
const key = sessionKey('https://auth.example.com', 'cli')
const other = sessionKey('https://other.example.com', 'cli')
const full: TokenSet = {
  accessToken: 'at-1',
  tokenType: 'Bearer',
  refreshToken: 'rt-1',
  expiresAtMs: Date.UTC(2030, 0, 2, 3, 4, 5, 678),
  obtainedAtMs: Date.UTC(2030, 0, 2, 2, 4, 5),
  scope: 'email profile',
  idToken: 'id.tok.en',
  issuer: 'https://auth.example.com',
  flow: 'device',
}
const roundTrip = (doc: JsonObject): JsonObject => parseStore(encodeStore(doc), SRC)

describe('round trip', () => {
  const cases: Array<{ name: string; tokens: TokenSet }> = [
    { name: 'every field', tokens: full },
    { name: 'only the required fields', tokens: { accessToken: 'at', tokenType: 'Bearer' } },
    { name: 'no expiry, DPoP type', tokens: { accessToken: 'at', tokenType: 'DPoP', refreshToken: 'rt' } },
  ]
  for (const { name, tokens } of cases) {
    test(name, () => {
      const doc = roundTrip(putSession({}, key, tokens, SRC))
      assert.deepEqual(readSession(doc, key, SRC), tokens)
      assert.equal(readSession(doc, other, SRC), undefined)
    })
  }

  test('writes the documented shape', () => {
    const doc = putSession({}, key, full, SRC)
    assert.deepEqual(doc, {
      version: 1,
      sessions: {
        'cli@https://auth.example.com': {
          server_url: 'https://auth.example.com',
          client_id: 'cli',
          access_token: 'at-1',
          token_type: 'Bearer',
          refresh_token: 'rt-1',
          expires_at: '2030-01-02T03:04:05.678Z',
          obtained_at: '2030-01-02T02:04:05.000Z',
          scope: 'email profile',
          id_token: 'id.tok.en',
          issuer: 'https://auth.example.com',
          flow: 'device',
        },
      },
    })
  })
})

describe('unknown fields are kept', () => {
  test('at the top level and in the entry, and a removed known field goes away', () => {
    const before = parseStore(
      JSON.stringify({
        version: 1,
        editor: { note: 'keep me' },
        sessions: { [key.account]: { ...wire(full), x_custom: [1, 2], id_token: 'old' }, 'b@https://b': wire(full) },
      }),
      SRC,
    )
    const after = roundTrip(putSession(before, key, { accessToken: 'at-2', tokenType: 'Bearer' }, SRC))
    assert.deepEqual(after.editor, { note: 'keep me' })
    const entry = (after.sessions as JsonObject)[key.account] as JsonObject
    assert.deepEqual(entry.x_custom, [1, 2])
    assert.equal(entry.id_token, undefined)
    assert.equal(entry.access_token, 'at-2')
    assert.deepEqual((after.sessions as JsonObject)['b@https://b'], wire(full))
  })
})

describe('a Go CLI entry in the file is inert (only `authgate import go` reads it)', () => {
  const go = {
    tokens: { cli: { access_token: 'go-at', refresh_token: 'go-rt', token_type: 'Bearer', client_id: 'cli' } },
  }

  test('it is not read as any session, whatever the server', () => {
    for (const k of [key, other]) assert.equal(readSession(parseStore(JSON.stringify(go), SRC), k, SRC), undefined)
  })

  test('a write of the same client leaves it as it was, and a delete leaves it too', () => {
    const after = putSession(go, key, { ...full, refreshToken: 'rt-2', accessToken: 'at-2' }, SRC)
    assert.deepEqual(after.tokens, go.tokens)
    assert.deepEqual(removeSession(after, key, undefined, SRC)?.tokens, go.tokens)
    assert.equal(removeSession(go, key, 'go-rt', SRC), undefined, 'nothing of the session to remove')
  })

  test('a "tokens" field that is not an object is not an error: it is not authgate\'s', () => {
    assert.deepEqual(parseStore('{"tokens":[1]}', SRC), { tokens: [1] })
  })
})

describe('compare-and-clear', () => {
  const doc = putSession({}, key, full, SRC)
  const cases = [
    { name: 'matching refresh token removes', ifRefreshToken: 'rt-1', removed: true },
    { name: 'no condition removes', ifRefreshToken: undefined, removed: true },
    { name: 'another refresh token keeps the entry', ifRefreshToken: 'rt-0', removed: false },
  ]
  for (const { name, ifRefreshToken, removed } of cases) {
    test(name, () => {
      const after = removeSession(doc, key, ifRefreshToken, SRC)
      assert.equal(after !== undefined, removed)
      if (after) assert.equal(readSession(after, key, SRC), undefined)
    })
  }
  test('a missing session removes nothing', () => assert.equal(removeSession(doc, other, undefined, SRC), undefined))
})

describe('list', () => {
  test('names sessions from their fields, else from the entry name', () => {
    const doc = parseStore(
      JSON.stringify({
        sessions: {
          'a@b@https://x.example': { access_token: 'at' },
          whatever: { access_token: 'at', server_url: 'https://y.example', client_id: 'y' },
        },
        tokens: { go: { access_token: 'go' } },
      }),
      SRC,
    )
    assert.deepEqual(
      listSessions(doc, SRC).map((s) => s.key.account),
      ['a@b@https://x.example', 'y@https://y.example'],
    )
  })
})

describe('bad shapes are rejected with a StoreError naming the file', () => {
  const entry = (fields: JsonObject) =>
    JSON.stringify({ sessions: { [key.account]: { access_token: 'at', ...fields } } })
  const cases: Array<{ name: string; text: string; problem: RegExp }> = [
    { name: 'empty file', text: '', problem: /the file is empty/ },
    { name: 'truncated', text: '{"version":1,"sessions":{"cli@', problem: /not valid JSON/ },
    { name: 'array', text: '[]', problem: /not a JSON object/ },
    { name: 'null', text: 'null', problem: /not a JSON object/ },
    { name: 'sessions is a string', text: '{"sessions":"x"}', problem: /"sessions" is not an object/ },
    { name: 'future version', text: '{"version":2}', problem: /format version 2/ },
    {
      name: 'entry is a string',
      text: JSON.stringify({ sessions: { [key.account]: 'x' } }),
      problem: /is not an object/,
    },
    { name: 'no access token', text: entry({ access_token: undefined }), problem: /access_token is missing/ },
    { name: 'numeric refresh token', text: entry({ refresh_token: 5 }), problem: /refresh_token is not a string/ },
    { name: 'numeric expiry', text: entry({ expires_at: 1893456000 }), problem: /expires_at is not a string/ },
    { name: 'bad date', text: entry({ expires_at: '2030-02-30T00:00:00Z' }), problem: /expires_at is not an RFC 3339/ },
    { name: 'date without zone', text: entry({ obtained_at: '2030-01-01T00:00:00' }), problem: /obtained_at is not/ },
  ]
  for (const { name, text, problem } of cases) {
    test(name, () => {
      assert.throws(
        () => readSession(parseStore(text, SRC), key, SRC),
        (error: unknown) => error instanceof StoreError && error.message.includes(SRC) && problem.test(error.message),
      )
    })
  }

  test('the message never quotes the file', () => {
    assert.throws(
      () => parseStore('{"access_token":"secret-at"', SRC),
      (error: Error) => !error.message.includes('secret'),
    )
  })
})

describe('pointer entries (auto remembers where a session went)', () => {
  const withGo: JsonObject = { tokens: { cli: { access_token: 'go-at', refresh_token: 'rt-1', client_id: 'cli' } } }
  const inFile = putSession(withGo, key, full, SRC)

  test('replacing the tokens by a pointer drops the plaintext; a Go entry and other sessions stay', () => {
    const doc = roundTrip(putPointer(putSession(inFile, other, full, SRC), key, 'keyring', SRC))
    assert.deepEqual((doc.sessions as JsonObject)[key.account], {
      store: 'keyring',
      server_url: key.serverUrl,
      client_id: 'cli',
    })
    assert.deepEqual(doc.tokens, withGo.tokens)
    assert.deepEqual(readPlacement(doc, key, SRC), { store: 'keyring' })
    assert.equal(readSession(doc, key, SRC), undefined, 'a pointer has no tokens')
    assert.deepEqual(readPlacement(doc, other, SRC), { store: 'file', tokens: full })
    assert.deepEqual(
      listSessions(doc, SRC).map((s) => s.key.account),
      [other.account],
    )
    assert.deepEqual(
      listPointers(doc, SRC).map((p) => [p.key.account, p.store]),
      [[key.account, 'keyring']],
    )
  })

  test('writing tokens over a pointer brings the session back into the file, without the pointer field', () => {
    const doc = putSession(putPointer({}, key, 'encrypted', SRC), key, full, SRC)
    assert.equal(((doc.sessions as JsonObject)[key.account] as JsonObject).store, undefined)
    assert.deepEqual(readPlacement(doc, key, SRC), { store: 'file', tokens: full })
  })

  test('removePointer removes pointers only; removeSession leaves pointers alone', () => {
    const doc = putPointer({}, key, 'keyring', SRC)
    assert.equal(removeSession(doc, key, undefined, SRC), undefined)
    assert.deepEqual(removePointer(doc, key), { version: 1, sessions: {} })
    assert.equal(removePointer(inFile, key), undefined)
  })

  test('a pointer to a store this version does not know is an error asking for an upgrade', () => {
    const doc = { sessions: { [key.account]: { store: 'vault' } } }
    assert.throws(
      () => readPlacement(doc, key, SRC),
      (e: unknown) => e instanceof StoreError && e.hint === 'upgrade authgate' && e.message.includes(SRC),
    )
  })
})

describe('parseRfc3339', () => {
  const cases: Array<[string, number | undefined]> = [
    ['2030-01-02T03:04:05Z', Date.UTC(2030, 0, 2, 3, 4, 5)],
    ['2030-01-02t03:04:05.5z', Date.UTC(2030, 0, 2, 3, 4, 5, 500)],
    ['2030-01-02T03:04:05.999999999-01:30', Date.UTC(2030, 0, 2, 4, 34, 5, 999)],
    ['0001-01-01T00:00:00Z', -62_135_596_800_000],
    ['2030-13-01T00:00:00Z', undefined],
    ['Jan 2 2030', undefined],
  ]
  for (const [input, want] of cases) test(input, () => assert.equal(parseRfc3339(input), want))
})

/** The stored form of a TokenSet, as putSession writes it for `key`. */
function wire(tokens: TokenSet): JsonObject {
  return (putSession({}, key, tokens, SRC).sessions as JsonObject)[key.account] as JsonObject
}
