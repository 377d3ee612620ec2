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
  const user = findUserByName(state, username)
  if (user === undefined) throw new Error(`authgate test server: no user ${username ?? '(none configured)'}`)
  return user
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
    isTokenActive: (token) => isRowUsable(state, findTokenRow(state, token)),
    expireAccessTokens() {
      const pastMs = state.now() - 1
      for (const row of state.tokens.values())
        if (row.kind === 'access') row.expiresAtMs = Math.min(row.expiresAtMs, pastMs)
    },
    close: () => closeServer(server),
  }
}
