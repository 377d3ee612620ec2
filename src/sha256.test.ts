import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import fc from 'fast-check'
import { sha256Hex } from './sha256.ts'

const reference = (text: string) => createHash('sha256').update(text).digest('hex')

test('sha256: the FIPS 180-4 examples and the padding edges', () => {
  assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  assert.equal(
    sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  )
  // 55, 56 and 64 bytes: the length fits in the last block, just does not, and a whole block of message.
  for (const n of [55, 56, 63, 64, 65, 119, 120, 1000]) assert.equal(sha256Hex('x'.repeat(n)), reference('x'.repeat(n)))
  // Characters outside the BMP, and lone surrogates (both encoders write U+FFFD for them).
  for (const text of ['😀 ü', '\uD800', 'a\uDC00b', '\uDBFF\uDFFF']) assert.equal(sha256Hex(text), reference(text))
})

test('sha256: agrees with node:crypto on any string, as UTF-8', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => sha256Hex(text) === reference(text)),
    { numRuns: 2000 },
  )
})
