import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { sessionKey } from '../session-key.ts'
import { StoreError } from '../errors.ts'
import { encodeStore, type JsonObject, parseStore, putSession, readSession, removeSession } from './file-codec.ts'
import type { TokenSet } from './types.ts'

/** Property tests of the token file codec: round trips, unknown fields kept, other sessions untouched. */

const SRC = '/home/u/.config/authgate/tokens.json'
const KNOWN = new Set([
  'server_url',
  'client_id',
  'access_token',
  'token_type',
  'refresh_token',
  'expires_at',
  'obtained_at',
  'scope',
  'id_token',
  'issuer',
  'flow',
  'store',
])
const TOP_LEVEL = new Set(['version', 'sessions', 'tokens'])

const text = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' })
/** Tokens long and odd enough that finding one in a message means it leaked. */
const secret = fc.string({ minLength: 12, maxLength: 40, unit: 'grapheme' }).map((s) => `tok-${s}`)
/**
 * Names that an object inherits ('constructor', 'toString', '__proto__'…) are excluded here and tested on their own
 * below, one by one: the codec once read `tokens[client id]` through the prototype.
 */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype)
const clientId = fc
  .string({ minLength: 1, maxLength: 30, unit: 'grapheme' })
  .filter((id) => !PROTOTYPE_NAMES.includes(id))
// Any instant FORMAT.md's RFC 3339 can carry: years 0000–9999 at millisecond precision.
const instant = fc.integer({ min: Date.UTC(1, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) })
const tokenSet: fc.Arbitrary<TokenSet> = fc.record(
  {
    accessToken: secret,
    tokenType: fc.constantFrom('Bearer', 'bearer', 'DPoP'),
    refreshToken: secret,
    expiresAtMs: instant,
    obtainedAtMs: instant,
    scope: text,
    idToken: text,
    issuer: text,
    flow: fc.constantFrom('device', 'browser'),
  },
  { requiredKeys: ['accessToken', 'tokenType'] },
)
// Through JSON once: fc.jsonValue can produce -0, which no JSON document can hold (it reads back as 0).
const json = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown)
const unknownFields = (reserved: Set<string>) =>
  fc.dictionary(
    fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !reserved.has(k) && k !== '__proto__'),
    json,
    { maxKeys: 4 },
  )
const key = fc
  .tuple(
    fc.constantFrom('https://auth.example.com', 'http://127.0.0.1:8080', 'https://idp.example.org/tenant'),
    clientId,
  )
  .map(([url, clientId]) => sessionKey(url, clientId))

/** What a write keeps of a TokenSet: the fields it stores (undefined ones dropped). */
const stored = (t: TokenSet) => Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined))

test('round trip: a session written and read back through the file text is the same TokenSet', () => {
  fc.assert(
    fc.property(key, tokenSet, (k, tokens) => {
      const doc = parseStore(encodeStore(putSession({}, k, tokens, SRC)), SRC)
      assert.deepEqual(stored(readSession(doc, k, SRC)!), stored(tokens))
    }),
  )
})

test('unknown fields, in the entry and at the top level, survive a rewrite; other sessions stay byte-for-byte equal', () => {
  fc.assert(
    fc.property(
      key,
      key,
      tokenSet,
      tokenSet,
      tokenSet,
      unknownFields(KNOWN),
      unknownFields(TOP_LEVEL),
      (k, other, first, second, theirs, entryExtra, topExtra) => {
        fc.pre(k.account !== other.account)
        let doc: JsonObject = putSession({ ...topExtra }, other, theirs, SRC)
        doc = putSession(doc, k, first, SRC)
        const sessions = doc.sessions as Record<string, JsonObject>
        // A newer authgate (or a person) added fields to our entry.
        doc = { ...doc, sessions: { ...sessions, [k.account]: { ...sessions[k.account], ...entryExtra } } }
        const otherBefore = JSON.stringify((doc.sessions as JsonObject)[other.account])
        const next = parseStore(encodeStore(putSession(parseStore(encodeStore(doc), SRC), k, second, SRC)), SRC)
        const entry = (next.sessions as Record<string, JsonObject>)[k.account]!
        for (const [field, value] of Object.entries(entryExtra))
          assert.deepEqual(entry[field], value, `entry field ${field}`)
        for (const [field, value] of Object.entries(topExtra))
          assert.deepEqual(next[field], value, `top-level field ${field}`)
        assert.deepEqual(stored(readSession(next, k, SRC)!), stored(second))
        assert.equal(JSON.stringify((next.sessions as JsonObject)[other.account]), otherBefore)
      },
    ),
  )
})

test('compare-and-clear removes the entry only while it holds the refresh token that failed', () => {
  fc.assert(
    fc.property(key, tokenSet, secret, fc.boolean(), (k, tokens, another, same) => {
      fc.pre(tokens.refreshToken !== undefined && another !== tokens.refreshToken)
      const failed = same ? tokens.refreshToken! : another
      const doc = putSession({}, k, tokens, SRC)
      const next = removeSession(doc, k, failed, SRC)
      if (failed === tokens.refreshToken) assert.equal(readSession(next!, k, SRC), undefined)
      else assert.equal(next, undefined, "a peer's newer refresh token was deleted")
    }),
  )
})

test('any text that is not a JSON object, or is cut short, is refused with a StoreError naming the file', () => {
  fc.assert(
    fc.property(key, tokenSet, fc.nat(), (k, tokens, cut) => {
      const full = encodeStore(putSession({}, k, tokens, SRC))
      const truncated = full.slice(0, cut % (full.length - 1))
      assert.throws(
        () => parseStore(truncated, SRC),
        (e: unknown) => e instanceof StoreError && e.message.includes(SRC) && !e.message.includes(tokens.accessToken),
      )
    }),
  )
  fc.assert(
    fc.property(
      fc.jsonValue().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
      (v) => {
        assert.throws(() => parseStore(JSON.stringify(v), SRC), StoreError)
      },
    ),
  )
})

test('a client id named like an Object.prototype member is a session like any other (contract: any string is accepted)', () => {
  for (const name of PROTOTYPE_NAMES) {
    const k = sessionKey('https://auth.example.com', name)
    const tokens: TokenSet = { accessToken: 'tok-access', tokenType: 'Bearer', refreshToken: 'tok-refresh' }
    assert.equal(readSession({}, k, SRC), undefined, name)
    const doc = parseStore(encodeStore(putSession({}, k, tokens, SRC)), SRC)
    assert.deepEqual(readSession(doc, k, SRC), tokens, name)
  }
})
