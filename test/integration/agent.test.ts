import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync } from 'node:fs'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { after, before, describe, test, type TestContext } from 'node:test'
import fc from 'fast-check'
import { createClient } from 'authgate-cli'
import { agentSocketPath, containerEnv, startAgent, type AgentProcess } from '../support/agent.ts'
import type { AuthGateTestServer } from '../support/authgate-server/index.ts'
import { BIN, killAllClis, requireBuild, runCli, type CliHome } from '../support/cli.ts'
import { startAuthGateWithApi } from '../support/resource-server.ts'
import { rotatingAuthGate, testHome } from '../support/storm.ts'
import { obtainTokensFromAuthGate, sessionAccount, writeTokenFile, type IssuedTokens } from '../support/tokens.ts'

/** Issue 17: the agent's wire protocol, its bounds and who may talk to it, against a real agent process. */

before(requireBuild)
after(killAllClis)

const session = (server: AuthGateTestServer) => ['--server-url', server.url, '--client-id', server.publicClientId]

async function signedInAgent(
  t: TestContext,
  server: AuthGateTestServer,
  extra: string[] = [],
): Promise<{ host: CliHome; agent: AgentProcess; issued: IssuedTokens }> {
  const host = testHome(t, 'authgate-agent-host-')
  const issued = await obtainTokensFromAuthGate(server)
  writeTokenFile(host.tokenFile, sessionAccount(server.url, server.publicClientId), issued)
  const agent = await startAgent(host, [...session(server), ...host.flags, '--socket', agentSocketPath(host), ...extra])
  t.after(() => agent.stop())
  return { host, agent, issued }
}

/** Sends raw bytes, then half-closes unless `keepOpen`; resolves with everything the agent wrote before it closed. */
function exchange(socket: string, bytes: Uint8Array | string, keepOpen = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({ path: socket })
    let got = ''
    c.on('data', (d: Buffer) => (got += d.toString('utf8')))
    c.on('error', reject)
    c.on('close', () => resolve(got))
    c.on('connect', () => (keepOpen ? c.write(bytes) : c.end(bytes)))
  })
}

const tokenLine = (server: AuthGateTestServer, extra: Record<string, unknown> = {}) =>
  `${JSON.stringify({ v: 1, op: 'token', server_url: server.url, client_id: server.publicClientId, ...extra })}\n`

describe('authgate agent: protocol', { timeout: 300_000 }, () => {
  test('a token request is answered with the access token and expiry only; other sessions get exit 4', async (t) => {
    const server = await rotatingAuthGate(t)
    const { agent, issued } = await signedInAgent(t, server)
    const answer = JSON.parse(await exchange(agent.socket, tokenLine(server))) as Record<string, unknown>
    assert.deepEqual(Object.keys(answer).sort(), ['access_token', 'expires_at', 'v'])
    assert.equal(answer.access_token, issued.access_token)
    const other = JSON.parse(await exchange(agent.socket, tokenLine(server, { client_id: 'someone-else' })))
    assert.equal(other.exit, 4)
    assert.match(other.error, /not exposed/)
    const cli = await runCli(['token', '--server-url', server.url, '--client-id', 'someone-else'], {
      env: containerEnv(agent.socket),
    })
    assert.equal(cli.code, 4, cli.stderr)
  })

  const malformed: Array<{ name: string; send: string }> = [
    { name: 'not JSON', send: 'hello\n' },
    { name: 'an unknown version', send: '{"v":2,"op":"token","server_url":"http://x","client_id":"c"}\n' },
    { name: 'a JSON array', send: '[1,2]\n' },
    { name: 'an unknown op', send: '{"v":1,"op":"refresh_token"}\n' },
    { name: 'a line over 64 KiB', send: `${'x'.repeat(70_000)}\n` },
    { name: '64 KiB with no newline yet', send: 'y'.repeat(70_000) },
  ]
  test('malformed and oversized requests get one exit-2 line and the connection closes', async (t) => {
    const server = await rotatingAuthGate(t)
    const { agent } = await signedInAgent(t, server)
    for (const c of malformed) {
      const reply = await exchange(agent.socket, c.send, true) // the agent, not the client, closes it
      const lines = reply.split('\n').filter(Boolean)
      assert.equal(lines.length, 1, `${c.name}: ${reply}`)
      const parsed = JSON.parse(lines[0]!) as Record<string, unknown>
      assert.equal(parsed.v, 1, c.name)
      assert.equal(parsed.exit, 2, c.name)
    }
  })

  test('fuzz: random bytes and lines never crash the agent; a valid request is answered afterwards', async (t) => {
    const server = await rotatingAuthGate(t)
    const { agent, issued } = await signedInAgent(t, server)
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 4096 }),
      fc.array(fc.string({ maxLength: 200 }), { maxLength: 8 }).map((lines) => lines.join('\n') + '\n'),
      fc.jsonValue().map((v) => `${JSON.stringify(v)}\n`),
    )
    await fc.assert(
      fc.asyncProperty(junk, async (bytes) => {
        const reply = await exchange(agent.socket, bytes)
        for (const line of reply.split('\n').filter(Boolean)) assert.equal(JSON.parse(line).v, 1)
      }),
      { numRuns: 150 },
    )
    assert.equal(agent.process.child.exitCode, null, 'the agent is still running')
    const answer = JSON.parse(await exchange(agent.socket, tokenLine(server)))
    assert.equal(answer.access_token, issued.access_token)
  })
})

describe('authgate agent: callers and access', { timeout: 300_000 }, () => {
  test('api retries a 401 through the agent (one refresh); kubectl, exec, docker and the library get the token too', async (t) => {
    const { server, rs, close } = await startAuthGateWithApi()
    t.after(close)
    const { agent, issued } = await signedInAgent(t, server)
    const container = testHome(t, 'authgate-agent-container-')
    const env = containerEnv(agent.socket)
    rs.reject(issued.access_token)
    const api = await runCli(['api', '/hello', '--api-url', rs.url, ...session(server)], {
      home: container,
      env,
    })
    assert.equal(api.code, 0, api.stderr)
    assert.equal(server.stats.refreshGrants, 1, 'the rejected token was refreshed once, by the agent')
    const fresh = rs.requests.at(-1)!.token!
    assert.notEqual(fresh, issued.access_token)
    const kubectl = await runCli(['credential', 'kubectl', ...session(server)], { home: container, env })
    assert.equal(kubectl.code, 0, kubectl.stderr)
    assert.equal(JSON.parse(kubectl.stdout).status.token, fresh)
    const exec = await runCli(['exec', ...session(server), '--', 'sh', '-c', 'printf %s "$AUTHGATE_TOKEN"'], {
      home: container,
      env,
    })
    assert.equal(exec.code, 0, exec.stderr)
    assert.equal(exec.stdout, fresh)
    const docker = await runCli(['credential', 'docker', 'get', '--registry', 'registry.example', ...session(server)], {
      home: container,
      env,
      input: 'registry.example\n',
    })
    assert.equal(docker.code, 0, docker.stderr)
    assert.equal(JSON.parse(docker.stdout).Secret, fresh)
    const client = createClient({ serverUrl: server.url, clientId: server.publicClientId, agentSock: agent.socket })
    assert.equal(await client.getAccessToken(), fresh)
    assert.equal(server.stats.refreshGrants, 1)
  })

  test('a .env cannot set the agent socket', async (t) => {
    const server = await rotatingAuthGate(t)
    const container = testHome(t, 'authgate-agent-container-')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(join(container.dir, '.env'), 'AUTHGATE_AGENT_SOCK=/tmp/evil.sock\n')
    const r = await runCli(['token', ...session(server), ...container.flags], { home: container })
    assert.equal(r.code, 4, 'not signed in locally: the .env socket was not used')
    assert.doesNotMatch(r.stderr, /evil\.sock/)
    assert.match(r.stderr, /warning: ignoring AUTHGATE_AGENT_SOCK in .*\.env/, 'the trust rules name it as ignored')
  })

  test('a socket directory open to others is refused, and another uid (nobody) cannot connect', async (t) => {
    const server = await rotatingAuthGate(t)
    const host = testHome(t, 'authgate-agent-host-')
    const open = join(host.dir, 'open')
    mkdirSync(open, { mode: 0o755 })
    chmodSync(open, 0o755)
    const refused = await runCli(['agent', ...session(server), '--socket', join(open, 'a.sock')], { home: host })
    assert.equal(refused.code, 2, refused.stderr)
    assert.match(refused.stderr, new RegExp(`refusing the agent socket directory ${open}: it has mode 755`))
    assert.ok(!existsSync(join(open, 'a.sock')))

    const { agent } = await signedInAgent(t, server)
    if (!asNobodyAvailable(t)) return
    // The whole path is traversable by others up to the 0700 socket dir, so the refusal is the agent's, not the repo's.
    const run = dirname(dirname(agent.socket))
    chmodSync(dirname(run), 0o755)
    chmodSync(run, 0o755)
    const r = spawnSync(
      'setpriv',
      ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, BIN, 'token', ...session(server)],
      {
        cwd: '/',
        env: { PATH: process.env.PATH, HOME: '/nonexistent', AUTHGATE_AGENT_SOCK: agent.socket },
        encoding: 'utf8',
      },
    )
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, /permission denied on the authgate agent socket/)
    assert.equal(r.stdout, '')
  })
})

/** Running as root is what lets the test switch to `nobody`; elsewhere skip, naming why (CI runs as root). */
function asNobodyAvailable(t: TestContext): boolean {
  const why =
    process.getuid?.() !== 0
      ? 'needs root to run a client as nobody'
      : spawnSync('setpriv', ['--version']).status !== 0
        ? 'setpriv is missing: apt-get install util-linux'
        : undefined
  if (why === undefined) return true
  if (process.env.CI === 'true') assert.fail(`${why} (CI=true: the other-uid test must run)`)
  t.skip(why)
  return false
}
