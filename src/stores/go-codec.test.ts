import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { sealGoValue } from '../../test/support/go-files.ts'
import { StoreError } from '../errors.ts'
import { decodeMasterKey, findGoEntry, type GoEntry, openSealed, parseGoDocument } from './go-codec.ts'

const SRC = '/home/u/.config/authgate-oauth-cli/tokens.json'
const goJson = {
  access_token: 'go-at',
  refresh_token: 'go-rt',
  token_type: 'Bearer',
  scope: 'email profile',
  id_token: 'go-id',
  expires_at: '2030-01-02T05:04:05.123456789+02:00',
  client_id: 'cli',
}
const decoded = {
  accessToken: 'go-at',
  tokenType: 'Bearer',
  refreshToken: 'go-rt',
  expiresAtMs: Date.UTC(2030, 0, 2, 3, 4, 5, 123),
  scope: 'email profile',
  idToken: 'go-id',
}

describe('findGoEntry', () => {
  const cases: Array<{ name: string; doc: string; clientId?: string; want: GoEntry | undefined | RegExp }> = [
    {
      name: 'the Go CLI file: tokens[client id], with Go time (nanoseconds, an offset) and its flow',
      doc: JSON.stringify({ tokens: { cli: { ...goJson, scope: '', id_token: '', flow: 'device' } } }),
      want: { sealed: false, tokens: { ...decoded, scope: undefined, idToken: undefined, flow: 'device' } },
    },
    {
      name: 'the SDK file: data[client id] is the token JSON as a string',
      doc: JSON.stringify({ data: { cli: JSON.stringify(goJson) } }),
      want: { sealed: false, tokens: decoded },
    },
    {
      name: "Go's zero time and empty strings mean absent (no expiry, no refresh token, Bearer)",
      doc: JSON.stringify({
        data: {
          cli: JSON.stringify({
            access_token: 'a',
            refresh_token: '',
            token_type: '',
            expires_at: '0001-01-01T00:00:00Z',
          }),
        },
      }),
      want: { sealed: false, tokens: { accessToken: 'a', tokenType: 'Bearer' } },
    },
    {
      name: 'a v1: value is handed back sealed',
      doc: JSON.stringify({ data: { cli: 'v1:AAAA' } }),
      want: { sealed: true, value: 'v1:AAAA', where: 'data["cli"]' },
    },
    { name: 'another client only: no entry', doc: JSON.stringify({ tokens: { other: goJson } }), want: undefined },
    { name: 'an inherited name is no entry', doc: '{"tokens":{},"data":{}}', clientId: 'constructor', want: undefined },
    { name: 'neither field: no entry', doc: '{"sessions":{}}', want: undefined },
    { name: 'not JSON', doc: '{"tokens":', want: /is not a JSON object/ },
    { name: 'data is an array', doc: '{"data":[]}', want: /"data" is not an object/ },
    { name: 'a data value that is not a string', doc: '{"data":{"cli":{}}}', want: /data\["cli"\] is not a string/ },
    { name: 'a data value that is not JSON', doc: '{"data":{"cli":"go-at"}}', want: /data\["cli"\] is not JSON/ },
    { name: 'no access token', doc: '{"tokens":{"cli":{"refresh_token":"r"}}}', want: /access_token is missing/ },
    {
      name: 'a time that is not RFC 3339',
      doc: JSON.stringify({ tokens: { cli: { ...goJson, expires_at: 'tomorrow' } } }),
      want: /expires_at is not an RFC 3339 time/,
    },
    {
      // `token` prints it raw and the git helper writes it as a line of git's protocol.
      name: 'a token with a control byte or a line break',
      doc: JSON.stringify({ tokens: { cli: { ...goJson, refresh_token: 'go-rt\u001b]0;x\u0007\nhost=evil' } } }),
      want: /refresh_token holds characters a token may not hold/,
    },
  ]
  for (const c of cases) {
    test(c.name, () => {
      const find = () => findGoEntry(parseGoDocument(c.doc, SRC), c.clientId ?? 'cli', SRC)
      if (!(c.want instanceof RegExp)) return void assert.deepEqual(find(), dropUndefined(c.want))
      const want = c.want
      assert.throws(find, (e: unknown) => e instanceof StoreError && want.test(e.message) && e.message.includes(SRC))
    })
  }

  test('a message never quotes the file (a token, say)', () => {
    assert.throws(
      () => parseGoDocument('{"data":{"cli":"secret-go-at"', SRC),
      (e: Error) => !e.message.includes('secret'),
    )
  })
})

describe('the SDK master key and v1: values', () => {
  const key = randomBytes(32)
  const sealed = sealGoValue(JSON.stringify(goJson), key)

  test('opens with the key kept as standard base64 in the keyring', () => {
    const fromKeyring = decodeMasterKey(new TextEncoder().encode(key.toString('base64')))
    assert.ok(fromKeyring)
    assert.equal(openSealed(sealed, fromKeyring, 'data["cli"]', SRC), JSON.stringify(goJson))
  })

  test('another key fails GCM’s check: undefined, so the next service’s key can be tried', () => {
    assert.equal(openSealed(sealed, randomBytes(32), 'data["cli"]', SRC), undefined)
  })

  test('an edited value fails the check too', () => {
    const bytes = Buffer.from(sealed.slice(3), 'base64')
    bytes[20] = bytes[20]! ^ 1
    assert.equal(openSealed(`v1:${bytes.toString('base64')}`, key, 'w', SRC), undefined)
  })

  test('a value too short or not base64 is an error naming the file', () => {
    for (const bad of ['v1:AAAA', 'v1:not base64!'])
      assert.throws(
        () => openSealed(bad, key, 'data["cli"]', SRC),
        (e: unknown) => e instanceof StoreError,
      )
  })

  const keyCases: Array<[string, string, boolean]> = [
    ['32 bytes, base64', key.toString('base64'), true],
    ['16 bytes', randomBytes(16).toString('base64'), false],
    ['not base64', '*'.repeat(44), false],
  ]
  for (const [name, text, ok] of keyCases)
    test(`master key: ${name}`, () => assert.equal(decodeMasterKey(new TextEncoder().encode(text)) !== undefined, ok))
})

function dropUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value ?? null)) ?? undefined
}
