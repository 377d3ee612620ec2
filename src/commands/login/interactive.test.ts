import assert from 'node:assert/strict'
import { test } from 'node:test'
import { canSignInInteractively } from './interactive.ts'

test('canSignInInteractively: never in CI; else a terminal on stderr, a display, or a desktop platform', () => {
  const cases: Array<[string, Parameters<typeof canSignInInteractively>[0], boolean]> = [
    ['terminal', { env: {}, platform: 'linux', isStderrTTY: true }, true],
    ['display, no terminal', { env: { DISPLAY: ':0' }, platform: 'linux', isStderrTTY: false }, true],
    ['wayland', { env: { WAYLAND_DISPLAY: 'wayland-0' }, platform: 'linux', isStderrTTY: false }, true],
    ['macOS without a terminal', { env: {}, platform: 'darwin', isStderrTTY: false }, true],
    ['nothing', { env: {}, platform: 'linux', isStderrTTY: false }, false],
    ['CI=true with a terminal', { env: { CI: 'true' }, platform: 'linux', isStderrTTY: true }, false],
    ['CI=1 with a display', { env: { CI: '1', DISPLAY: ':0' }, platform: 'linux', isStderrTTY: false }, false],
    ['CI=false', { env: { CI: 'false' }, platform: 'linux', isStderrTTY: true }, true],
    ['CI empty', { env: { CI: '' }, platform: 'linux', isStderrTTY: true }, true],
  ]
  for (const [name, input, want] of cases) assert.equal(canSignInInteractively(input), want, name)
})
