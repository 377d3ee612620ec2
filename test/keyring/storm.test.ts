import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { sessionKey } from '../../src/session-key.ts'
import { startAuthGateServer } from '../support/authgate-server/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli } from '../support/cli.ts'
import { obtainTokensFromAuthGate } from '../support/tokens.ts'
import { realBackends } from '../support/real-stores.ts'
import { assertOneRefreshForAll } from '../support/storm.ts'
import { keyringEnv, realKeyringSkip } from './real-keyring.ts'

/**
 * Issue 4 item 5: one lock for every backend. N real `authgate token` processes on an expired token kept in the real
 * keyring, against AuthGate in rotation mode (a second use of a refresh token revokes the family): exactly one
 * refresh grant and one token for all. Sized for 2 cores; nothing here asserts speed.
 */

const N = 20
const skip = realKeyringSkip()
if (!skip) before(requireBuild)
after(killAllClis)

describe('refresh storm on --token-store keyring', { timeout: 300_000 }, () => {
  test(
    `${N} processes on an expired token in the keyring → one refresh grant, ${N} equal valid tokens`,
    { skip },
    async (t) => {
      const server = await startAuthGateServer({
        rotation: true,
        tokenRateLimitPerMinute: 0,
        deviceCodeRateLimitPerMinute: 0,
      })
      t.after(() => server.close())
      const h = createCliHome('authgate-keyring-storm-')
      t.after(() => h.remove())
      const key = sessionKey(server.url, server.publicClientId)
      const issued = await obtainTokensFromAuthGate(server)
      const keyring = await (await realBackends(h.tokenFile)).keyring()
      const now = Date.now()
      await keyring.write(key, {
        accessToken: issued.access_token,
        tokenType: issued.token_type,
        refreshToken: issued.refresh_token,
        scope: issued.scope,
        expiresAtMs: now - 3_600_000,
        obtainedAtMs: now - 7_200_000,
      })
      server.expireAccessTokens()

      const args = [
        'token',
        '--server-url',
        server.url,
        '--client-id',
        server.publicClientId,
        '--token-store',
        'keyring',
        '--token-file',
        h.tokenFile,
        '--lock-dir',
        h.lockDir,
      ]
      const results = await Promise.all(Array.from({ length: N }, () => runCli(args, { home: h, env: keyringEnv })))

      const token = assertOneRefreshForAll(results, server, issued.access_token)
      const stored = await keyring.read(key)
      assert.equal(stored?.accessToken, token, 'the printed token is not the one in the keyring')
      assert.ok(server.isTokenActive(stored!.refreshToken!), 'the stored refresh token is not active')
      assert.equal(existsSync(h.tokenFile), false, 'a keyring session wrote the token file')
    },
  )
})
