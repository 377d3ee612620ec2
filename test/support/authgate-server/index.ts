import { createPageDriver, type Page } from '../page-driver.ts'
import { approveDeviceCode } from './device.ts'
import { closeServer, listen } from './server.ts'
import { createState, findUserByName, type ServerState, type UserRow } from './state.ts'
import { findTokenRow, isRowUsable } from './tokens.ts'
import type { AuthGateServerOptions, AuthGateTestServer } from './types.ts'

/**
 * A faithful in-process double of the AuthGate server (go-authgate/authgate @ 6ebdf57) as described in
 * /work/shared/authgate-server.md, for tests only. Only node:http and node:crypto; no real sleeps.
 */

export type {
  AuthGateServerOptions,
  AuthGateStats,
  AuthGateTestServer,
  RawAnswer,
  ServerQuirks,
  TestClient,
} from './types.ts'
export { DEVICE_CODE_GRANT } from './token-endpoint.ts'

function userFor(state: ServerState, username: string | undefined): UserRow {
  const user = username === undefined ? state.users.values().next().value : findUserByName(state, username)
  if (user === undefined) throw new Error(`authgate test server: no user ${username ?? '(none configured)'}`)
  return user
}

function pageError(page: Page): string {
  const match = /class="error"[^>]*>([^<]*)</.exec(page.body)
  return `${page.status} at ${page.url}${match ? `: ${match[1]}` : ''}`
}

/** The human path: /device?user_code → /login → back to /device → POST /device/verify, all over real HTTP. */
async function driveApproval(baseUrl: string, userCode: string, user: UserRow, password: string): Promise<void> {
  const driver = createPageDriver()
  const login = await driver.get(`${baseUrl}/device?user_code=${encodeURIComponent(userCode)}`)
  if (new URL(login.url).pathname !== '/login') throw new Error(`expected the login page, got ${pageError(login)}`)
  const device = await driver.submit(login, { username: user.username, password })
  if (device.status !== 200 || new URL(device.url).pathname !== '/device') {
    throw new Error(`login as ${user.username} failed: ${pageError(device)}`)
  }
  const done = await driver.submit(device, {}, (form) => new URL(form.action).pathname === '/device/verify')
  if (done.status !== 200) throw new Error(`device verification of ${userCode} failed: ${pageError(done)}`)
}

export async function startAuthGateServer(opts: AuthGateServerOptions = {}): Promise<AuthGateTestServer> {
  const { state, publicClientId } = createState(opts)
  const { server, url } = await listen(state, opts.host ?? '127.0.0.1')
  state.config.baseUrl = url
  return {
    url,
    publicClientId,
    stats: state.stats,
    quirks: state.quirks,
    approveDevice(userCode, username) {
      const error = approveDeviceCode(state, userCode, userFor(state, username))
      if (error !== undefined) throw new Error(`authgate test server: cannot approve ${userCode}: ${error}`)
    },
    driveDeviceApproval(userCode, username, password) {
      const user = userFor(state, username)
      return driveApproval(url, userCode, user, password ?? user.password)
    },
    isTokenActive: (token) => isRowUsable(state, findTokenRow(state, token)),
    expireAccessTokens() {
      const pastMs = state.now() - 1
      for (const row of state.tokens.values())
        if (row.kind === 'access') row.expiresAtMs = Math.min(row.expiresAtMs, pastMs)
    },
    close: () => closeServer(server),
  }
}
