import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli, spawnCli } from '../support/cli.ts'
import { pausedAfterPreflight } from '../support/faults.ts'
import { USER_CODE, userCodeOf } from '../support/login-cli.ts'
import { startPrivateSecretService, type PrivateSecretService } from './private-secret-service.ts'
import { realKeyringSkip } from './real-keyring.ts'

/**
 * Issue 15's last case: the keyring store, with the Secret Service stopped after the pre-flight proved it could take
 * the save and before the save (the CLI pauses there through its test seam, AUTHGATE_TEST_PAUSE_AFTER_PREFLIGHT).
 * The server has rotated by then, so the new tokens are lost; the rule is that the spent refresh token is never sent
 * again: the next refresh, with the Secret Service back, signs the person out (exit 4) without asking the server.
 */

const skip = realKeyringSkip()
const home = createCliHome('authgate-preflight-keyring-')
let server: AuthGateTestServer
let keyring: PrivateSecretService
if (!skip) {
  before(async () => {
    requireBuild()
    server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })
    keyring = await startPrivateSecretService()
  })
  after(async () => {
    killAllClis()
    await server.close()
    await keyring.close()
    home.remove()
  })
}

const args = () => [
  ...['--server-url', server.url, '--client-id', server.publicClientId, '--token-store', 'keyring'],
  ...['--token-file', home.tokenFile, '--lock-dir', home.lockDir],
]
const env = () => ({ DBUS_SESSION_BUS_ADDRESS: keyring.address })

test(
  'keyring stopped between the pre-flight and the save: one grant, and the spent token is never sent again',
  { skip, timeout: 120_000 },
  async () => {
    const login = spawnCli(['login', '--device', ...args()], { home, env: env() })
    server.approveDevice(userCodeOf(await login.waitForStderr(USER_CODE)))
    assert.equal((await login.exited).code, 0, login.stderr())
    const before = { ...server.stats }

    const refresh = spawnCli(['refresh', '--force', ...args()], {
      home,
      env: { ...env(), AUTHGATE_TEST_PAUSE_AFTER_PREFLIGHT: '1' },
    })
    await pausedAfterPreflight(refresh)
    await keyring.stop()
    refresh.child.kill('SIGCONT')
    const failed = await refresh.exited
    assert.equal(failed.code, 1, failed.stderr)
    assert.match(failed.stderr, /the server answered the refresh, but the new tokens could not be saved in .*keyring/i)
    assert.match(failed.stderr, /the spent refresh token is marked as spent, so it is never sent again/)
    assert.equal(server.stats.refreshGrants, before.refreshGrants + 1, 'the pre-flight passed: the grant was sent')

    await keyring.start()
    const next = await runCli(['refresh', '--force', ...args()], { home, env: env() })
    assert.equal(next.code, 4, next.stderr)
    assert.match(next.stderr, /was spent by a refresh whose answer could not be saved/)
    assert.equal(server.stats.refreshGrants, before.refreshGrants + 1, 'the spent refresh token was not sent again')
    assert.equal(server.stats.familyRevocations, before.familyRevocations)
    assert.equal(server.stats.invalidGrants, before.invalidGrants)

    const status = await runCli(['status', '--offline', ...args()], { home, env: env() })
    assert.equal(status.code, 4, `the entry is cleared: ${status.stdout}${status.stderr}`)
  },
)
