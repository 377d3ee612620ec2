import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'

// `npm run demo` is the README's main command; this runs the same script (after the build `npm test` already did).
test('the demo signs in, survives a 50-process storm with one refresh grant, and signs out', () => {
  const root = new URL('../..', import.meta.url).pathname
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'demo/demo.ts'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  })
  assert.equal(res.status, 0, res.stdout + res.stderr)
  assert.match(res.stdout, /refresh grants the server saw: 1\n/)
  assert.match(res.stdout, /processes that failed: +0\n/)
  assert.match(res.stdout, /grants revoked by reuse: +0\n/)
  assert.match(res.stdout, /authgate token now exits 4/)
  assert.doesNotMatch(res.stdout + res.stderr, /eyJ[A-Za-z0-9_-]{10,}/, 'no token is printed')
})
