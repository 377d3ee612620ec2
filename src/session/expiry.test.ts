import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hasPeerRefreshed, isExpiring } from './expiry.ts'

const S = 1000
test('isExpiring: less than min(skew, half the lifetime) remains', () => {
  const cases = [
    { name: 'plenty left', tokens: { obtainedAtMs: 0, expiresAtMs: 3600 * S }, now: 0, skew: 60, want: false },
    {
      name: 'inside the skew',
      tokens: { obtainedAtMs: 0, expiresAtMs: 3600 * S },
      now: 3541 * S,
      skew: 60,
      want: true,
    },
    {
      name: 'exactly the skew left is not expiring',
      tokens: { obtainedAtMs: 0, expiresAtMs: 3600 * S },
      now: 3540 * S,
      skew: 60,
      want: false,
    },
    { name: 'expired', tokens: { obtainedAtMs: 0, expiresAtMs: 10 * S }, now: 11 * S, skew: 60, want: true },
    {
      name: 'short token: half its life is the margin',
      tokens: { obtainedAtMs: 0, expiresAtMs: 60 * S },
      now: 29 * S,
      skew: 60,
      want: false,
    },
    {
      name: 'short token past half its life',
      tokens: { obtainedAtMs: 0, expiresAtMs: 60 * S },
      now: 31 * S,
      skew: 60,
      want: true,
    },
    { name: 'unknown lifetime uses the skew', tokens: { expiresAtMs: 100 * S }, now: 41 * S, skew: 60, want: true },
    { name: 'no expiry is never expiring', tokens: {}, now: 1e15, skew: 60, want: false },
    {
      name: 'zero skew: only an expired token',
      tokens: { obtainedAtMs: 0, expiresAtMs: 10 * S },
      now: 9999,
      skew: 0,
      want: false,
    },
  ]
  for (const c of cases) assert.equal(isExpiring(c.tokens, c.now, c.skew), c.want, c.name)
})

test('hasPeerRefreshed: a changed token that is not expiring, and nothing else', () => {
  const seen = { accessToken: 'A1', tokenType: 'Bearer', refreshToken: 'R1', obtainedAtMs: 0, expiresAtMs: 10 * S }
  const fresh = { obtainedAtMs: 100 * S, expiresAtMs: 3700 * S }
  const cases = [
    {
      name: 'both tokens changed, fresh',
      current: { ...seen, ...fresh, accessToken: 'A2', refreshToken: 'R2' },
      want: true,
    },
    {
      name: 'access token changed, refresh kept (fixed mode)',
      current: { ...seen, ...fresh, accessToken: 'A2' },
      want: true,
    },
    { name: 'only the refresh token changed', current: { ...seen, ...fresh, refreshToken: 'R2' }, want: true },
    { name: 'unchanged', current: { ...seen }, want: false },
    { name: 'unchanged even if its expiry moved', current: { ...seen, ...fresh }, want: false },
    { name: 'changed but expiring too', current: { ...seen, accessToken: 'A2', expiresAtMs: 101 * S }, want: false },
    { name: 'entry gone', current: undefined, want: false },
  ]
  for (const c of cases) assert.equal(hasPeerRefreshed(seen, c.current, 100 * S, 60), c.want, c.name)
})
