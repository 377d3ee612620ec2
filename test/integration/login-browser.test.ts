import assert from 'node:assert/strict'
import { before, test, type TestContext } from 'node:test'
import {
  startAuthGateServer,
  type AuthGateServerOptions,
  type AuthGateTestServer,
} from '../support/authgate-server/index.ts'
import { launchChromium, signInInBrowser } from '../support/chromium.ts'
import {
  AUTHORIZATION_URL,
  freePort,
  requireBuild,
  runCli,
  startCli,
  tempHome,
  userCodeOf,
  USER_CODE,
  type TempHome,
} from '../support/login-cli.ts'
import { startOidcServer } from '../support/oidc-server.ts'
import { readTokenEntry, sessionAccount } from '../support/tokens.ts'

/**
 * The browser flow end to end: the real CLI prints the URL (--no-open), headless Chromium opens it (oidc-provider: signs
 * in and consents on its pages; the AuthGate double: signed in as admin with consent remembered, so /oauth/authorize
 * validates and redirects at once), the redirect reaches the CLI's loopback listener, which exchanges the code.
 */

before(requireBuild)

const ADMIN = { username: 'admin', password: 'admin-password' }
const AUTHGATE_CODE_GRANTS = (s: AuthGateTestServer) => s.stats.grantsByType.authorization_code ?? 0

/** AuthGate matches redirect URIs exactly (§4), so each test registers a client for a port of its own. */
async function authgateWithClient(
  t: TestContext,
  client: Partial<NonNullable<AuthGateServerOptions['clients']>[number]> = {},
) {
  const port = await freePort()
  const redirectUri = `http://localhost:${port}/callback`
  const server = await startAuthGateServer({
    clients: [
      { clientId: 'cli-browser', type: 'public', redirectUris: [redirectUri], scopes: 'email profile', ...client },
    ],
  })
  t.after(() => server.close())
  return { server, port, redirectUri }
}

/** `authgate login` waiting for the browser, and the URL it printed on a line of its own. */
async function startBrowserLogin(t: TestContext, home: TempHome, args: string[], env: Record<string, string>) {
  const run = startCli(t, ['login', '--no-open', ...args, ...home.flags], { ...home.env, DISPLAY: ':99', ...env })
  const url = (await run.waitForStderr(AUTHORIZATION_URL))[1]!
  return { run, url }
}

const isLoopbackCallback = (port?: number) => (u: URL) =>
  (u.hostname === 'localhost' || u.hostname === '127.0.0.1') &&
  u.pathname === '/callback' &&
  (port === undefined || u.port === String(port))

test('AuthGate: Chromium follows the URL, AuthGate validates it and redirects; the callback reaches the CLI, which saves the tokens', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const { server, port, redirectUri } = await authgateWithClient(t)
  const home = tempHome(t)
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: 'cli-browser' }
  const { run, url } = await startBrowserLogin(t, home, ['--callback-port', String(port)], env)
  const q = new URL(url).searchParams
  assert.deepEqual(
    [q.get('redirect_uri'), q.get('code_challenge_method'), q.get('response_type')],
    [redirectUri, 'S256', 'code'],
  )
  const page = await signInInBrowser(await browser.newPage(), url, ADMIN, isLoopbackCallback(port))
  assert.match(page.text, /You are signed in\. You can close this tab/)
  const { code } = await run.exited
  assert.equal(code, 0, run.stderr())
  assert.match(run.stderr(), /^To sign in to http:\/\/127\.0\.0\.1:\d+, open this URL in a browser on this machine:$/m)
  assert.match(
    run.stderr(),
    /^Signed in to http:\/\/127\.0\.0\.1:\d+ as \S+ \(client cli-browser\)\. Tokens saved in /m,
  )
  const token = await runCli(t, ['token', ...home.flags], { ...home.env, ...env })
  assert.ok(server.isTokenActive(token.stdout.trim()))
  assert.equal(AUTHGATE_CODE_GRANTS(server), 1)
})

test('AuthGate: a callback with the wrong state is refused with an HTML page and never exchanged; the real one still works', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const { server, port } = await authgateWithClient(t)
  const home = tempHome(t)
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: 'cli-browser' }
  const { run, url } = await startBrowserLogin(t, home, ['--browser', '--callback-port', String(port)], env)
  const forged = await fetch(`http://127.0.0.1:${port}/callback?code=${'f'.repeat(64)}&state=forged`)
  assert.equal(forged.status, 400)
  assert.match(forged.headers.get('content-type') ?? '', /^text\/html/)
  assert.match(await forged.text(), /state does not match/)
  const page = await signInInBrowser(await browser.newPage(), url, ADMIN, isLoopbackCallback(port))
  assert.match(page.text, /You can close this tab/)
  assert.equal((await run.exited).code, 0, run.stderr())
  assert.equal(AUTHGATE_CODE_GRANTS(server), 1, 'only the genuine code reached the token endpoint')
  // The listener is gone: a replay of the genuine callback URL reaches nobody.
  await assert.rejects(fetch(page.url), /fetch failed/)
})

test('AuthGate: a confidential client exchanges the code with its secret in the form (client_secret_post)', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const secret = 'ago_confidential-test-secret-value'
  const { server, port } = await authgateWithClient(t, { type: 'confidential', clientSecret: secret })
  const home = tempHome(t)
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: 'cli-browser', AUTHGATE_CLIENT_SECRET: secret }
  const { run, url } = await startBrowserLogin(t, home, ['--callback-port', String(port)], env)
  await signInInBrowser(await browser.newPage(), url, ADMIN, isLoopbackCallback(port))
  assert.equal((await run.exited).code, 0, run.stderr())
  assert.ok(!run.stderr().includes(secret))
  assert.equal(AUTHGATE_CODE_GRANTS(server), 1)
})

test('oidc-provider: Chromium signs in on an ephemeral loopback port (RFC 8252 §7.3); the tokens are the person’s', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const server = await startOidcServer({ quiet: true })
  t.after(() => server.close())
  const home = tempHome(t)
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: 'cli', AUTHGATE_SCOPE: 'openid email profile' }
  const { run, url } = await startBrowserLogin(t, home, ['--callback-port', '0'], env)
  assert.match(new URL(url).searchParams.get('redirect_uri') ?? '', /^http:\/\/localhost:\d+\/callback$/)
  const page = await signInInBrowser(
    await browser.newPage(),
    url,
    { username: 'dave', password: 'any' },
    isLoopbackCallback(),
  )
  assert.match(page.text, /You can close this tab/)
  assert.equal((await run.exited).code, 0, run.stderr())
  assert.match(run.stderr(), /as dave \(client cli\)/)
  const token = await runCli(t, ['token', ...home.flags], { ...home.env, ...env })
  const facts = await server.introspect(token.stdout.trim())
  assert.deepEqual({ active: facts.active, sub: facts.sub }, { active: true, sub: 'dave' })
  assert.equal(server.stats.authCodeGrants, 1)
})

/** The `nonce` claim of the ID token the CLI stored for this session (the signature is the server's business). */
function storedIdTokenNonce(home: TempHome, serverUrl: string, clientId: string): unknown {
  const entry = readTokenEntry(home.tokenFile, sessionAccount(serverUrl, clientId))
  assert.ok(entry?.id_token, 'no ID token was stored')
  return (JSON.parse(Buffer.from(entry.id_token.split('.')[1]!, 'base64url').toString()) as { nonce?: unknown }).nonce
}

test('AuthGate requiring a nonce (issue 14): with openid the URL carries a fresh one, sign-in succeeds, the ID token carries it back', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const { server, port } = await authgateWithClient(t, { scopes: 'openid email profile' })
  server.quirks.requireNonce = true
  const home = tempHome(t)
  const env = {
    AUTHGATE_SERVER_URL: server.url,
    AUTHGATE_CLIENT_ID: 'cli-browser',
    AUTHGATE_SCOPE: 'openid email profile',
  }
  const { run, url } = await startBrowserLogin(t, home, ['--callback-port', String(port)], env)
  const nonce = new URL(url).searchParams.get('nonce')
  assert.ok(nonce && nonce.length >= 32, `no usable nonce in ${url}`)
  const page = await signInInBrowser(await browser.newPage(), url, ADMIN, isLoopbackCallback(port))
  assert.match(page.text, /You are signed in\. You can close this tab/)
  assert.equal((await run.exited).code, 0, run.stderr())
  assert.equal(storedIdTokenNonce(home, server.url, 'cli-browser'), nonce)
  assert.equal(AUTHGATE_CODE_GRANTS(server), 1)
})

test('oidc-provider requiring a nonce: Chromium signs in with openid; without openid no nonce is sent', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const server = await startOidcServer({ quiet: true, quirks: { requireNonce: true } })
  t.after(() => server.close())
  const home = tempHome(t)
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: 'cli', AUTHGATE_SCOPE: 'openid email profile' }
  const { run, url } = await startBrowserLogin(t, home, ['--callback-port', '0'], env)
  const nonce = new URL(url).searchParams.get('nonce')
  assert.ok(nonce, `no nonce in ${url}`)
  const person = { username: 'dave', password: 'any' }
  assert.match(
    (await signInInBrowser(await browser.newPage(), url, person, isLoopbackCallback())).text,
    /You can close this tab/,
  )
  assert.equal((await run.exited).code, 0, run.stderr())
  assert.equal(storedIdTokenNonce(home, server.url, 'cli'), nonce)

  const plain = await startBrowserLogin(t, tempHome(t), ['--callback-port', '0'], {
    ...env,
    AUTHGATE_SCOPE: 'email profile',
  })
  assert.equal(new URL(plain.url).searchParams.has('nonce'), false)
  plain.run.child.kill('SIGINT')
  await plain.run.exited
})

test('no callback within --callback-timeout: the CLI falls back to the device flow', async (t) => {
  const { server, port } = await authgateWithClient(t)
  const home = tempHome(t)
  const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: 'cli-browser' }
  const { run } = await startBrowserLogin(t, home, ['--callback-port', String(port), '--callback-timeout', '1'], env)
  const userCode = userCodeOf(await run.waitForStderr(USER_CODE))
  assert.match(run.stderr(), /^No sign-in came back from the browser within 1 s; switching to the device flow\.$/m)
  server.approveDevice(userCode)
  assert.equal((await run.exited).code, 0, run.stderr())
  assert.equal(server.stats.grantsByType['urn:ietf:params:oauth:grant-type:device_code'], 1)
})
