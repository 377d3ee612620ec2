import assert from 'node:assert/strict'
import { after, before, describe, test, type TestContext } from 'node:test'
import { createClient, UsageError } from '../../src/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli, spawnCli, type CliHome } from '../support/cli.ts'
import { startLoggingServer, type LoggedRequest, type LoggingServer } from '../support/logging-server.ts'
import { AUTHORIZATION_URL, freePort, httpGet } from '../support/login-cli.ts'
import { sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * Issue 9, attacks 4–6: what a server says reaches the terminal escaped; the bearer goes to no origin the user did
 * not name; discovery's issuer must be the configured server. Real CLI processes against servers that log requests.
 */

before(requireBuild)
after(killAllClis)

const CLIENT = 'cli-out'
/** ESC-OSC retitle + BEL, CSI clear screen, a C1 CSI, a carriage return, RLO and an isolate. */
const EVIL = 'x\u001b]0;pwned\u0007\u001b[2J\u009b31m\r\u202eevil\u2066y'
/** Any control byte but \n and \t, DEL, C1, and the bidi controls. */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/

function signedIn(t: TestContext, server: LoggingServer, expired = false): { home: CliHome; args: string[] } {
  const home = createCliHome('authgate-out-')
  t.after(home.remove)
  const tokens = { access_token: 'AT-out-0123456789', refresh_token: 'RT-out-0123456789', token_type: 'Bearer' }
  writeTokenFile(home.tokenFile, sessionAccount(server.url, CLIENT), { ...tokens, expires_in: 3600 }, { expired })
  return { home, args: ['--server-url', server.url, '--client-id', CLIENT, ...home.flags] }
}

function assertClean(out: { stdout: string; stderr: string }): void {
  assert.doesNotMatch(out.stdout, RAW, JSON.stringify(out.stdout))
  assert.doesNotMatch(out.stderr, RAW, JSON.stringify(out.stderr))
}

describe('a hostile server’s text on the terminal', () => {
  let server: LoggingServer
  before(async () => {
    server = await startLoggingServer({
      username: EVIL,
      refreshError: { error: 'invalid_request', error_description: EVIL },
    })
  })
  after(() => server.close())

  test('an error_description: escaped on stderr (exit 1)', async (t) => {
    const s = signedIn(t, server)
    const out = await runCli(['refresh', '--force', ...s.args], { home: s.home })
    assert.equal(out.code, 1, out.stderr)
    assertClean(out)
    assert.match(out.stderr, /x\\x1b\]0;pwned\\x07\\x1b\[2J\\x9b31m\\x0d\\u202eevil\\u2066y/)
  })

  test('the user name in status: escaped in text; in --json the same value, C1 and bidi as \\u escapes', async (t) => {
    const s = signedIn(t, server)
    const text = await runCli(['status', ...s.args], { home: s.home })
    assert.equal(text.code, 0, text.stderr)
    assertClean(text)
    assert.match(text.stdout, /as x\\x1b\]0;pwned/)
    const json = await runCli(['status', '--json', ...s.args], { home: s.home })
    assertClean(json)
    assert.equal(JSON.parse(json.stdout).username, EVIL)
  })

  test('login: the user name escaped on stderr (a user code with controls is refused outright)', async (t) => {
    const s = signedIn(t, server)
    const out = await runCli(['login', '--device', ...s.args], { home: s.home })
    assert.equal(out.code, 0, out.stderr)
    assertClean(out)
    assert.match(out.stderr, /Signed in to .* as x\\x1b/)
  })

  test('the callback’s error_description: escaped on stderr', async (t) => {
    const s = signedIn(t, server)
    const port = await freePort()
    const run = spawnCli(['login', '--browser', '--no-open', '--callback-port', String(port), ...s.args], {
      home: s.home,
      env: { DISPLAY: ':99' },
    })
    const authorize = new URL((await run.waitForStderr(AUTHORIZATION_URL))[1]!)
    const callback = new URL(authorize.searchParams.get('redirect_uri')!)
    callback.searchParams.set('state', authorize.searchParams.get('state')!)
    callback.searchParams.set('error', 'access_denied')
    callback.searchParams.set('error_description', EVIL)
    assert.equal(await httpGet(callback.href), 400)
    const out = await run.exited
    assert.equal(out.code, 1, out.stderr)
    assertClean(out)
    assert.match(out.stderr, /access_denied: x\\x1b\]0;pwned/)
  })
})

describe('a hostile access token', () => {
  test('control bytes or a line break in it: refused (exit 1), never printed by token nor written into git’s answer', async (t) => {
    // `token` prints it raw and the git helper writes `password=<token>` into git's line protocol: a newline there
    // adds attributes of the server's choosing to git's answer.
    const server = await startLoggingServer({ accessToken: 'AT-\u001b]0;pwned\u0007\nhost=evil.example' })
    t.after(() => server.close())
    const s = signedIn(t, server, true)
    const token = await runCli(['token', ...s.args], { home: s.home })
    assert.equal(token.code, 1, token.stderr)
    assert.equal(token.stdout, '')
    assert.match(token.stderr, /the server sent an access_token with characters a token may not hold/)
    const git = await runCli(['credential', 'git', 'get', ...s.args], {
      home: s.home,
      input: `protocol=http\nhost=${server.host}\n\n`,
    })
    assert.equal(git.code, 1, git.stderr)
    assert.equal(git.stdout, '')
    assertClean(token)
    assertClean(git)
  })
})

describe('a server echoing the credentials it was sent', () => {
  test('refresh rejected with the refresh token in error_description: redacted on stderr, plain and --verbose', async (t) => {
    // The stored refresh token was known to the redactor only after a successful grant, so a rejection quoting it
    // printed it whole: into CI logs, for one.
    const server = await startLoggingServer({
      refreshError: { error: 'invalid_request', error_description: 'unknown refresh token RT-out-0123456789' },
    })
    t.after(() => server.close())
    const s = signedIn(t, server, true)
    for (const command of [['token'], ['refresh', '--force'], ['--verbose', 'token']]) {
      const out = await runCli([...command, ...s.args], { home: s.home })
      assert.equal(out.code, 1, out.stderr)
      assert.match(out.stderr, /unknown refresh token RT-o…\[redacted\]/)
      assert.doesNotMatch(out.stderr, /RT-out-0123456789/)
    }
  })

  test('the library: the same rejection’s error message does not carry the refresh token either', async (t) => {
    // The library has no output sink to redact at: the message it throws is what an application logs.
    const server = await startLoggingServer({
      refreshError: { error: 'invalid_request', error_description: 'unknown refresh token RT-out-0123456789' },
    })
    t.after(() => server.close())
    const s = signedIn(t, server, true)
    const client = createClient({
      serverUrl: server.url,
      clientId: CLIENT,
      tokenStore: 'file',
      tokenFile: s.home.tokenFile,
      lockDir: s.home.lockDir,
    })
    await assert.rejects(client.getAccessToken(), (e: Error) => {
      assert.match(e.message, /unknown refresh token RT-o…\[redacted\]/)
      assert.doesNotMatch(e.message, /RT-out-0123456789/)
      return true
    })
    assert.equal(server.tokenRequests().length, 1)
  })
})

describe('discovery', () => {
  test('an issuer other than the server URL: exit 1 naming both, no token request', async (t) => {
    const server = await startLoggingServer({ issuer: 'https://issuer.attacker.example' })
    t.after(() => server.close())
    const s = signedIn(t, server, true)
    const out = await runCli(['token', ...s.args], { home: s.home })
    assert.equal(out.code, 1, out.stderr)
    assert.ok(out.stderr.includes('"https://issuer.attacker.example"'), out.stderr)
    assert.ok(out.stderr.includes(`the configured server is ${server.url}`), out.stderr)
    assert.deepEqual(server.tokenRequests(), [])
  })

  test('a loopback server listing plain http endpoints on another host: exit 1 naming it, nothing sent there', async (t) => {
    // The secret and refresh token would cross the network in clear text; .invalid never resolves, so the old code
    // spent its retries on DNS and ended with exit 5 instead of refusing.
    const server = await startLoggingServer({ endpoints: 'http://attacker.invalid' })
    t.after(() => server.close())
    const s = signedIn(t, server, true)
    const grant = ['--grant', 'client-credentials', '--client-secret', 'SECRET-out-0123456789']
    for (const command of [['token'], ['token', ...grant]]) {
      const out = await runCli([...command, ...s.args], { home: s.home })
      assert.equal(out.code, 1, out.stderr)
      assert.match(out.stderr, /plain http token_endpoint on another host: http:\/\/attacker\.invalid\/oauth\/token/)
      assert.doesNotMatch(out.stderr, /SECRET-out|RT-out/)
    }
    assert.deepEqual(server.tokenRequests(), [])
  })

  test('the issuer the server URL names: the refresh goes ahead', async (t) => {
    const server = await startLoggingServer()
    t.after(() => server.close())
    const s = signedIn(t, server, true)
    const out = await runCli(['token', ...s.args], { home: s.home })
    assert.equal(out.code, 0, out.stderr)
    assert.equal(server.tokenRequests().length, 1)
  })
})

describe('absolute URLs on another origin', () => {
  let server: LoggingServer
  let other: LoggingServer
  before(async () => {
    server = await startLoggingServer()
    other = await startLoggingServer()
  })
  after(async () => {
    await server.close()
    await other.close()
  })

  test('api: refused (exit 2, naming the origin and --allow-host) unless the host was allowed', async (t) => {
    const s = signedIn(t, server)
    const refused = await runCli(['api', `${other.url}/next?page=2`, ...s.args], { home: s.home })
    assert.equal(refused.code, 2, refused.stderr)
    assert.ok(refused.stderr.includes(`refusing to send the token to ${other.url}`), refused.stderr)
    assert.ok(refused.stderr.includes(`--allow-host ${other.host}`), refused.stderr)
    assert.deepEqual(other.requests, [])
    const ways: Array<{ args: string[]; env?: Record<string, string> }> = [
      { args: ['api', `${other.url}/a`, '--allow-host', other.host, ...s.args] },
      { args: ['--allow-host', '127.0.0.1', 'api', `${other.url}/b`, ...s.args] },
      { args: ['api', `${other.url}/c`, ...s.args], env: { AUTHGATE_ALLOW_HOSTS: `example.org,${other.host}` } },
    ]
    for (const way of ways) {
      const sent = await runCli(way.args, { home: s.home, env: way.env })
      assert.equal(sent.code, 0, sent.stderr)
    }
    assert.deepEqual(
      other.requests.map((r: LoggedRequest) => [r.path, r.authorization]),
      ['/a', '/b', '/c'].map((path) => [path, 'Bearer AT-out-0123456789']),
    )
  })

  test('client.fetch: a UsageError unless allowedHosts names the host', async (t) => {
    const s = signedIn(t, server)
    const options = {
      serverUrl: server.url,
      clientId: CLIENT,
      tokenStore: 'file' as const,
      tokenFile: s.home.tokenFile,
      lockDir: s.home.lockDir,
    }
    const seen = other.requests.length
    await assert.rejects(
      createClient(options).fetch(`${other.url}/next`),
      (e: unknown) => e instanceof UsageError && e.message.includes(other.url) && /--allow-host/.test(e.message),
    )
    assert.equal(other.requests.length, seen)
    const res = await createClient({ ...options, allowedHosts: [other.host] }).fetch(`${other.url}/next`)
    assert.equal(res.status, 200)
    assert.equal(other.requests.at(-1)?.authorization, 'Bearer AT-out-0123456789')
  })
})
