import assert from 'node:assert/strict'
import { test } from 'node:test'
import { callbackAddress } from './login-browser.ts'
import { chooseFlow, environmentSignals, type FlowSignals } from './login.ts'

const desktop: FlowSignals = { ssh: false, display: true, portFree: true, platform: 'linux' }

const flowCases: Array<{ name: string; input: FlowSignals; want: 'device' | 'browser' }> = [
  { name: 'Linux desktop, port free', input: desktop, want: 'browser' },
  { name: '--device on a desktop', input: { ...desktop, forced: 'device' }, want: 'device' },
  {
    name: '--browser over SSH without a display',
    input: { ...desktop, forced: 'browser', ssh: true, display: false },
    want: 'browser',
  },
  {
    name: '--browser with a busy port (the runner then fails clearly)',
    input: { ...desktop, forced: 'browser', portFree: false },
    want: 'browser',
  },
  { name: 'SSH without a display', input: { ...desktop, ssh: true, display: false }, want: 'device' },
  {
    name: 'SSH without a display on macOS',
    input: { ...desktop, ssh: true, display: false, platform: 'darwin' },
    want: 'device',
  },
  { name: 'SSH with X forwarding (DISPLAY set)', input: { ...desktop, ssh: true, display: true }, want: 'browser' },
  { name: 'Linux without a display (container, CI)', input: { ...desktop, display: false }, want: 'device' },
  { name: 'FreeBSD without a display', input: { ...desktop, display: false, platform: 'freebsd' }, want: 'device' },
  {
    name: 'macOS has a window server without DISPLAY',
    input: { ...desktop, display: false, platform: 'darwin' },
    want: 'browser',
  },
  {
    name: 'Windows has a window server without DISPLAY',
    input: { ...desktop, display: false, platform: 'win32' },
    want: 'browser',
  },
  { name: 'callback port busy', input: { ...desktop, portFree: false }, want: 'device' },
  { name: 'callback port busy on macOS', input: { ...desktop, portFree: false, platform: 'darwin' }, want: 'device' },
]

for (const c of flowCases) {
  test(`chooseFlow: ${c.name} → ${c.want}`, () => assert.equal(chooseFlow(c.input), c.want))
}

const envCases: Array<{
  name: string
  env: Record<string, string | undefined>
  want: Pick<FlowSignals, 'ssh' | 'display'>
}> = [
  { name: 'nothing set', env: {}, want: { ssh: false, display: false } },
  { name: 'SSH_TTY', env: { SSH_TTY: '/dev/pts/1' }, want: { ssh: true, display: false } },
  { name: 'SSH_CLIENT', env: { SSH_CLIENT: '10.0.0.1 50000 22' }, want: { ssh: true, display: false } },
  {
    name: 'SSH_CONNECTION',
    env: { SSH_CONNECTION: '10.0.0.1 50000 10.0.0.2 22' },
    want: { ssh: true, display: false },
  },
  { name: 'DISPLAY', env: { DISPLAY: ':0' }, want: { ssh: false, display: true } },
  { name: 'WAYLAND_DISPLAY', env: { WAYLAND_DISPLAY: 'wayland-0' }, want: { ssh: false, display: true } },
  { name: 'empty values count as unset', env: { SSH_TTY: '', DISPLAY: '' }, want: { ssh: false, display: false } },
]

for (const c of envCases) {
  test(`environmentSignals: ${c.name}`, () => {
    const s = environmentSignals(c.env, 'linux')
    assert.deepEqual({ ssh: s.ssh, display: s.display }, c.want)
  })
}

const addressCases: Array<{
  name: string
  redirectUri: string
  callbackPort: number
  want: { port: number; path: string; sent: string } | RegExp
}> = [
  {
    name: "AuthGate's seeded client, verbatim",
    redirectUri: 'http://localhost:8888/callback',
    callbackPort: 8888,
    want: { port: 8888, path: '/callback', sent: 'http://localhost:8888/callback' },
  },
  {
    name: 'explicit port wins over --callback-port',
    redirectUri: 'http://127.0.0.1:9000/cb',
    callbackPort: 8888,
    want: { port: 9000, path: '/cb', sent: 'http://127.0.0.1:9000/cb' },
  },
  {
    name: 'port 0: the bound port is sent',
    redirectUri: 'http://127.0.0.1:0/callback',
    callbackPort: 8888,
    want: { port: 0, path: '/callback', sent: 'http://127.0.0.1:54321/callback' },
  },
  {
    name: 'no port: --callback-port, and the bound port is sent',
    redirectUri: 'http://localhost/callback',
    callbackPort: 0,
    want: { port: 0, path: '/callback', sent: 'http://localhost:54321/callback' },
  },
  {
    name: 'https is not where authgate listens',
    redirectUri: 'https://localhost:8888/callback',
    callbackPort: 8888,
    want: /not http:\/\/localhost/,
  },
  {
    name: 'a remote host is refused',
    redirectUri: 'http://example.com:8888/callback',
    callbackPort: 8888,
    want: /not http:\/\/localhost/,
  },
  {
    name: '[::1] is refused: the listener binds 127.0.0.1 only',
    redirectUri: 'http://[::1]:8888/callback',
    callbackPort: 8888,
    want: /not http/,
  },
]

for (const c of addressCases) {
  test(`callbackAddress: ${c.name}`, () => {
    const got = callbackAddress({ redirectUri: c.redirectUri, callbackPort: c.callbackPort })
    if (c.want instanceof RegExp) {
      assert.ok('reason' in got)
      assert.match(got.reason, c.want)
      return
    }
    assert.ok(!('reason' in got))
    assert.deepEqual({ port: got.port, path: got.path, sent: got.redirectUriFor(54321) }, c.want)
  })
}
