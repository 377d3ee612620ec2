import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { escapeTerminal, toSafeJson } from './terminal-text.ts'

/** C0 but \n and \t, DEL, C1: what a terminal acts on. Bidi controls reorder what it shows. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/

/** Strings rich in the characters that matter: controls, bidi, and ordinary text around them. */
const hostile = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.integer({ min: 0, max: 0x9f }).map((c) => String.fromCharCode(c)),
      fc.constantFrom('\u202e', '\u2066', '\u2069', '\u200f', '\u061c', '\x1b]0;t\x07', '\r', '\n', '\t'),
    ),
  )
  .map((parts) => parts.join(''))

test('escapeTerminal: the output never holds a control but \\n and \\t, nor a bidi control', () => {
  fc.assert(
    fc.property(hostile, (text) => {
      const out = escapeTerminal(text)
      assert.doesNotMatch(out, CONTROL)
      assert.doesNotMatch(out, BIDI)
      assert.equal(escapeTerminal(out), out, 'escaping twice changes nothing')
    }),
  )
})

test('escapeTerminal: printable text, newlines and tabs come out unchanged', () => {
  const printable = fc
    .string({ unit: 'grapheme' })
    .filter((s) => !CONTROL.test(s.replace(/[\n\t]/g, '')) && !BIDI.test(s))
  fc.assert(fc.property(printable, (text) => assert.equal(escapeTerminal(text), text)))
})

test('toSafeJson: the same JSON value, with no raw control or bidi character', () => {
  fc.assert(
    fc.property(fc.array(hostile), hostile, (list, name) => {
      const value = { name, list }
      const out = toSafeJson(value)
      assert.doesNotMatch(out, CONTROL)
      assert.doesNotMatch(out, BIDI)
      assert.deepEqual(JSON.parse(out), value)
    }),
  )
})
