import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AuthgateError, AuthRequiredError, StoreError, TemporaryError, UsageError } from './errors.ts'

test('instanceof holds for an error made by another copy of the classes (the other CLI bundle), by code', async () => {
  const other = (await import(`./errors.ts?copy=${Date.now()}`)) as typeof import('./errors.ts')
  assert.notEqual(other.AuthRequiredError, AuthRequiredError, 'not a second copy: the test proves nothing')
  const cases: Array<{ error: unknown; is: unknown[]; isNot: unknown[] }> = [
    { error: new other.AuthRequiredError('x'), is: [AuthgateError, AuthRequiredError], isNot: [TemporaryError] },
    { error: new other.TemporaryError('x'), is: [AuthgateError, TemporaryError], isNot: [AuthRequiredError] },
    { error: new UsageError('x'), is: [other.AuthgateError, other.UsageError, Error], isNot: [other.StoreError] },
    { error: new Error('x'), is: [Error], isNot: [AuthgateError, AuthRequiredError] },
    { error: { code: 'AUTHGATE_AUTH_REQUIRED' }, is: [], isNot: [AuthgateError, AuthRequiredError] },
  ]
  for (const c of cases) {
    for (const cls of c.is)
      assert.ok(c.error instanceof (cls as typeof Error), `${String(c.error)} is a ${String(cls)}`)
    for (const cls of c.isNot)
      assert.ok(!(c.error instanceof (cls as typeof Error)), `${String(c.error)} not ${String(cls)}`)
  }
})

test('a subclass declared outside errors.ts is matched by prototype: a StoreError is not a keyring failure', () => {
  class KeyringDown extends StoreError {}
  assert.ok(!(new StoreError('x') instanceof KeyringDown))
  assert.ok(new KeyringDown('x') instanceof KeyringDown)
  assert.ok(new KeyringDown('x') instanceof StoreError)
})
