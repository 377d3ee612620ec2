import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Redactor } from './redact.ts'

test('redact: known secrets and JWT-shaped strings never survive', () => {
  const r = new Redactor()
  r.add('ago_supersecretclientsecret')
  r.add('abc') // too short to be a secret worth hiding; must not mangle ordinary text
  const cases = [
    { input: 'secret ago_supersecretclientsecret leaked', want: 'secret ago_…[redacted] leaked' },
    { input: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl done', want: 'Bearer eyJh…[redacted] done' },
    { input: 'abc stays', want: 'abc stays' },
    { input: 'no secrets here', want: 'no secrets here' },
  ]
  for (const c of cases) assert.equal(r.redact(c.input), c.want)
})
