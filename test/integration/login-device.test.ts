import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { before, test, type TestContext } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import {
  requireBuild,
  runCli,
  startCli,
  tempHome,
  userCodeOf,
  USER_CODE,
  occupyPort,
  type TempHome,
} from '../support/login-cli.ts'
import { startOidcServer, type OidcTestServer } from '../support/oidc-server.ts'

/**
 * `authgate login` as a process, against both test servers over real HTTP; oidc-provider's codes are approved through its
 * own pages, the AuthGate double's through `approveDevice` (the checks of its /device/verify).
 * Both servers say interval 5 s (oidc-provider by omission): the CLI waits one interval before its first poll, and the
 * test approves the code in that interval, so each sign-in costs one interval and no fake time.
 */

before(requireBuild)

async function authgate(
  t: TestContext,
  opts: Parameters<typeof startAuthGateServer>[0] = {},
): Promise<AuthGateTestServer> {
  const server = await startAuthGateServer(opts)
  t.after(() => server.close())
  return server
}

async function oidc(t: TestContext, opts: Parameters<typeof startOidcServer>[0] = {}): Promise<OidcTestServer> {
  const server = await startOidcServer({ quiet: true, ...opts })
  t.after(() => server.close())
  return server
}

/** Signs in with the CLI; `approve` plays the person with the user code the CLI printed. */
async function deviceLogin(
  t: TestContext,
  home: TempHome,
  args: string[],
  env: Record<string, string>,
  approve: (userCode: string) => Promise<void>,
) {
  const run = startCli(t, ['login', ...args, ...home.flags], { ...home.env, ...env })
  const userCode = userCodeOf(await run.waitForStderr(USER_CODE))
  await approve(userCode)
  const { code } = await run.exited
  return { code, stdout: run.stdout(), stderr: run.stderr(), userCode }
}

/** The saved session is usable: `authgate token` prints an access token without asking the server for a new one. */
async function savedAccessToken(t: TestContext, home: TempHome, env: Record<string, string>): Promise<string> {
  const token = await runCli(t, ['token', ...home.flags], { ...home.env, ...env })
  assert.equal(token.code, 0, token.stderr)
  return token.stdout.trim()
}

test('AuthGate: --device prints the complete URL and the code, is approved, and saves the tokens', async (t) => {
  const server = await authgate(t)
  const home = tempHome(t)
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: server.publicClientId }
  const login = await deviceLogin(t, home, ['--device'], env, async (code) => server.approveDevice(code))
  assert.equal(login.code, 0, login.stderr)
  assert.equal(login.stdout, '')
  const lines = login.stderr.split('\n')
  assert.ok(lines.includes(`${server.url}/device?user_code=${login.userCode}`), login.stderr)
  assert.match(login.userCode, /^[A-Z2-9]{4}-[A-Z2-9]{4}$/)
  assert.match(
    login.stderr,
    new RegExp(
      `^Signed in to ${server.url} as \\S+ \\(client ${server.publicClientId}\\)\\. Tokens saved in ${home.tokenFile} \\(file store\\)\\.$`,
      'm',
    ),
  )
  assert.ok(server.isTokenActive(await savedAccessToken(t, home, env)))
  assert.equal(server.stats.grantsByType['urn:ietf:params:oauth:grant-type:device_code'], 1)
})

test('AuthGate: --json prints the status object on stdout and nothing else', async (t) => {
  const server = await authgate(t)
  const home = tempHome(t)
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: server.publicClientId }
  const login = await deviceLogin(t, home, ['--device', '--json'], env, async (code) => server.approveDevice(code))
  assert.equal(login.code, 0, login.stderr)
  const report = JSON.parse(login.stdout) as Record<string, unknown>
  assert.deepEqual(
    {
      signed_in: report.signed_in,
      server_url: report.server_url,
      client_id: report.client_id,
      store: report.store,
      store_path: report.store_path,
      scope: report.scope,
      has_refresh_token: report.has_refresh_token,
      verified: report.verified,
    },
    {
      signed_in: true,
      server_url: server.url,
      client_id: server.publicClientId,
      store: 'file',
      store_path: home.tokenFile,
      scope: 'email profile',
      has_refresh_token: true,
      verified: true,
    },
  )
  assert.doesNotMatch(login.stdout + login.stderr, /eyJ[\w-]{10,}\.[\w-]{10,}/, 'no token is printed')
})

test('oidc-provider: the device flow approved through its own pages; the tokens belong to the person who approved', async (t) => {
  const server = await oidc(t)
  const home = tempHome(t)
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: 'cli', AUTHGATE_SCOPE: 'openid email profile' }
  const login = await deviceLogin(t, home, ['--device'], env, (code) => server.driveDeviceApproval(code, 'alice'))
  assert.equal(login.code, 0, login.stderr)
  assert.match(login.stderr, new RegExp(`^Signed in to ${server.url} as alice \\(client cli\\)`, 'm'))
  const facts = await server.introspect(await savedAccessToken(t, home, env))
  assert.deepEqual(
    { active: facts.active, sub: facts.sub, client_id: facts.client_id },
    { active: true, sub: 'alice', client_id: 'cli' },
  )
  assert.equal(server.stats.deviceGrants, 1)
})

test('oidc-provider: a confidential client signs in with its secret (client_secret_post), never printed', async (t) => {
  const server = await oidc(t)
  const home = tempHome(t)
  const secret = 'cli-confidential-secret'
  const env = {
    AUTHGATE_SERVER_URL: server.url,
    AUTHGATE_CLIENT_ID: 'cli-confidential',
    AUTHGATE_CLIENT_SECRET: secret,
    AUTHGATE_SCOPE: 'openid email profile',
  }
  const login = await deviceLogin(t, home, ['--device'], env, (code) => server.driveDeviceApproval(code, 'erin'))
  assert.equal(login.code, 0, login.stderr)
  assert.ok(!login.stderr.includes(secret))
  assert.equal((await server.introspect(await savedAccessToken(t, home, env))).client_id, 'cli-confidential')
})

test('oidc-provider: --client-auth basic for a client registered with client_secret_basic', async (t) => {
  const server = await oidc(t, {
    clients: [
      {
        client_id: 'cli-basic',
        client_secret: 'basic-secret-value',
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
  })
  const home = tempHome(t)
  const env = {
    AUTHGATE_SERVER_URL: server.url,
    AUTHGATE_CLIENT_ID: 'cli-basic',
    AUTHGATE_CLIENT_SECRET: 'basic-secret-value',
    AUTHGATE_SCOPE: 'openid email profile',
  }
  const login = await deviceLogin(t, home, ['--device', '--client-auth', 'basic'], env, (code) =>
    server.driveDeviceApproval(code, 'frank'),
  )
  assert.equal(login.code, 0, login.stderr)
  assert.equal((await server.introspect(await savedAccessToken(t, home, env))).sub, 'frank')
})

test('SSH without a display: the device flow is chosen, and the CLI says why', async (t) => {
  const server = await authgate(t)
  const home = tempHome(t)
  const env = {
    AUTHGATE_SERVER_URL: server.url,
    AUTHGATE_CLIENT_ID: server.publicClientId,
    SSH_CONNECTION: '203.0.113.7 50522 10.0.0.5 22',
    SSH_TTY: '/dev/pts/3',
  }
  const login = await deviceLogin(t, home, [], env, async (code) => server.approveDevice(code))
  assert.equal(login.code, 0, login.stderr)
  assert.match(login.stderr, /^Using the device flow: this is an SSH session without a display\.$/m)
  assert.doesNotMatch(login.stderr, /authorize\?/)
})

test('a busy callback port: the device flow is chosen even with a display', async (t) => {
  const server = await authgate(t)
  const home = tempHome(t)
  const port = await occupyPort(t)
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: server.publicClientId, DISPLAY: ':99' }
  // --no-open and a short callback timeout only make a wrong choice fail fast; they do not change the choice.
  const login = await deviceLogin(
    t,
    home,
    ['--callback-port', String(port), '--no-open', '--callback-timeout', '5'],
    env,
    async (code) => server.approveDevice(code),
  )
  assert.equal(login.code, 0, login.stderr)
  assert.match(
    login.stderr,
    new RegExp(
      `^Using the device flow: the callback port cannot be bound \\(port ${port} on 127\\.0\\.0\\.1 is in use\\)\\.$`,
      'm',
    ),
  )
  assert.doesNotMatch(login.stderr, /authorize\?/)
})

test('Ctrl+C while polling: exit 130 at once, nothing saved, no token requested', async (t) => {
  const server = await authgate(t)
  const home = tempHome(t)
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: server.publicClientId }
  const run = startCli(t, ['login', '--device', ...home.flags], { ...home.env, ...env })
  await run.waitForStderr(/Waiting for approval/)
  run.child.kill('SIGINT')
  const { code } = await run.exited
  assert.equal(code, 130, run.stderr())
  assert.match(run.stderr(), /^authgate: interrupted$/m)
  assert.equal(existsSync(home.tokenFile), false)
  assert.equal(server.stats.tokenRequests, 0, 'interrupted during the first interval: no poll was sent')
  const token = await runCli(t, ['token', ...home.flags], { ...home.env, ...env })
  assert.equal(token.code, 4, 'not signed in')
})

test('AuthGate: while a login waits for the person, the session lock is free; the new login replaces the entry', async (t) => {
  const server = await authgate(t)
  const home = tempHome(t)
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: server.publicClientId }
  const first = await deviceLogin(t, home, ['--device'], env, async (code) => server.approveDevice(code))
  assert.equal(first.code, 0, first.stderr)
  let refreshed = ''
  const second = await deviceLogin(t, home, ['--device'], env, async (code) => {
    // Another process refreshes the same session under its lock while the login waits: it must not wait for us.
    const refresh = await runCli(t, ['refresh', '--force', '--lock-timeout', '2', ...home.flags], {
      ...home.env,
      ...env,
    })
    assert.equal(refresh.code, 0, refresh.stderr)
    refreshed = await savedAccessToken(t, home, env)
    server.approveDevice(code)
  })
  assert.equal(second.code, 0, second.stderr)
  assert.equal(server.stats.successfulRefreshes, 1)
  const tokenAfter = await savedAccessToken(t, home, env)
  assert.ok(server.isTokenActive(tokenAfter))
  assert.notEqual(tokenAfter, refreshed, 'the entry now holds the second login')
})
