import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isExpiring } from './expiry.ts'

/** Property tests of the skew rule: expiring when less than min(skew, half the lifetime) remains. */

const now = fc.integer({ min: 0, max: 4_000_000_000_000 })
const lifetimeMs = fc.integer({ min: 1, max: 30 * 24 * 3_600_000 })
const skewSeconds = fc.integer({ min: 0, max: 3600 })

test('the rule itself: expiring exactly when the time left is under min(skew, lifetime / 2)', () => {
  fc.assert(
    fc.property(
      now,
      lifetimeMs,
      fc.integer({ min: -3_600_000, max: 30 * 24 * 3_600_000 }),
      skewSeconds,
      (t, life, leftMs, skew) => {
        const tokens = { obtainedAtMs: t + leftMs - life, expiresAtMs: t + leftMs }
        assert.equal(isExpiring(tokens, t, skew), leftMs < Math.min(skew * 1000, life / 2))
      },
    ),
  )
})

test('a token just obtained is never expiring, however short its life or large the skew', () => {
  fc.assert(
    fc.property(now, lifetimeMs, skewSeconds, (t, life, skew) => {
      assert.equal(isExpiring({ obtainedAtMs: t, expiresAtMs: t + life }, t, skew), false)
    }),
  )
})

test('once expiring, a token stays expiring as time goes on; an expired one always is', () => {
  fc.assert(
    fc.property(
      now,
      fc.integer({ min: 0, max: 1e9 }),
      fc.option(lifetimeMs, { nil: undefined }),
      skewSeconds,
      fc.integer({ min: -1e9, max: 1e9 }),
      (t, later, life, skew, offset) => {
        const tokens = { expiresAtMs: t + offset, obtainedAtMs: life === undefined ? undefined : t + offset - life }
        if (isExpiring(tokens, t, skew)) assert.equal(isExpiring(tokens, t + later, skew), true)
        if (offset < 0) assert.equal(isExpiring(tokens, t, skew), true)
      },
    ),
  )
})

test('without a known expiry a token is never expiring; without a known start the full skew applies', () => {
  fc.assert(
    fc.property(now, fc.option(now, { nil: undefined }), skewSeconds, (t, obtained, skew) => {
      assert.equal(isExpiring({ obtainedAtMs: obtained }, t, skew), false)
    }),
  )
  fc.assert(
    fc.property(now, fc.integer({ min: -1e7, max: 1e7 }), skewSeconds, (t, left, skew) => {
      assert.equal(isExpiring({ expiresAtMs: t + left }, t, skew), left < skew * 1000)
    }),
  )
})

test('the boundary: exactly min(skew, lifetime / 2) left is not expiring yet; a millisecond less is', () => {
  fc.assert(
    fc.property(now, lifetimeMs, fc.integer({ min: 1, max: 3600 }), (t, life, skew) => {
      const margin = Math.min(skew * 1000, life / 2)
      const at = (leftMs: number) => ({ obtainedAtMs: t + leftMs - life, expiresAtMs: t + leftMs })
      fc.pre(margin >= 1)
      assert.equal(isExpiring(at(margin), t, skew), false)
      assert.equal(isExpiring(at(margin - 1), t, skew), true)
    }),
  )
})
