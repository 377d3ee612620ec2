import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test, type TestContext } from 'node:test'
import { agentSocketPath, containerEnv, startAgent } from '../support/agent.ts'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { killAllClis, requireBuild, runCli, spawnCli } from '../support/cli.ts'
import { assertOneRefreshForAll, rotatingAuthGate, testHome } from '../support/storm.ts'
import { obtainTokensFromAuthGate, readTokenEntry, sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * Issue 17: the agent for containers and remote hosts, with real processes. A "container" is a set of processes with
 * an empty HOME, no token store and only AUTHGATE_AGENT_SOCK; the host keeps the session and its refresh token.
 * Sized for 2 cores; no wall-clock assertions (the time bounds are hang guards).
 */

const CONTAINER_N = 50
const HOST_N = 10

before(requireBuild)
after(killAllClis)

const home = testHome
const rotatingServer = rotatingAuthGate

const session = (server: AuthGateTestServer) => ['--server-url', server.url, '--client-id', server.publicClientId]

/** A rotating server, a host home signed in to it (expired or not), and an empty "container" home. */
async function hostAndContainer(t: TestContext, expired: boolean) {
  const server = await rotatingServer(t)
  const host = home(t, 'authgate-agent-host-')
  const container = home(t, 'authgate-agent-container-')
  const issued = await obtainTokensFromAuthGate(server)
  writeTokenFile(host.tokenFile, sessionAccount(server.url, server.publicClientId), issued, { expired })
  return { server, host, container, issued }
}

/** Every regular file under `dir`, with its text. */
function filesUnder(dir: string): Array<[string, string]> {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => [path, readFileSync(path, 'utf8')])
}

describe('authgate agent', { timeout: 600_000 }, () => {
  test(`${CONTAINER_N} container clients and ${HOST_N} host clients on an expired session → one refresh grant`, async (t) => {
    const { server, host, container, issued } = await hostAndContainer(t, true)
    const agent = await startAgent(host, [
      ...session(server),
      ...host.flags,
      '--lock-timeout',
      '90',
      '--socket',
      agentSocketPath(host),
    ])
    t.after(() => agent.stop())

    const containerArgs = ['token', ...session(server)]
    const env = containerEnv(agent.socket)
    // Spawned in one synchronous loop: no exit can be observed before the last one has started.
    const clients = [
      ...Array.from({ length: CONTAINER_N }, () => spawnCli(containerArgs, { home: container, env })),
      ...Array.from({ length: HOST_N }, () =>
        spawnCli(['token', ...session(server), ...host.flags, '--lock-timeout', '90'], { home: host }),
      ),
    ]
    const results = await Promise.all(clients.map((c) => c.exited))
    const token = assertOneRefreshForAll(results, server, issued.access_token)

    const rotated = readTokenEntry(host.tokenFile, sessionAccount(server.url, server.publicClientId))?.refresh_token
    const refreshTokens = [issued.refresh_token!, rotated!]
    assert.notEqual(rotated, issued.refresh_token, 'the host store holds the rotated refresh token')
    for (const [path, text] of filesUnder(container.dir)) {
      for (const rt of refreshTokens) assert.ok(!text.includes(rt), `${path} holds a refresh token`)
    }
    assert.deepEqual(filesUnder(container.dir), [], 'the container HOME has no file at all: nothing was stored')
    for (const value of [...Object.values({ ...container.env, ...env }), ...containerArgs]) {
      for (const rt of refreshTokens)
        assert.ok(!value.includes(rt), 'a container variable or argument holds a refresh token')
    }
    assert.equal(agent.process.stdout(), `${agent.socket}\n`, 'the agent printed its socket path and nothing else')
    assert.ok(!agent.process.stderr().includes(token), 'the agent never prints a token')
  })

  test('agent SIGKILLed → clients exit 5 naming the socket; a new agent replaces the stale socket file', async (t) => {
    const { server, host, container, issued } = await hostAndContainer(t, false)
    const socket = agentSocketPath(host)
    const args = [...session(server), ...host.flags, '--socket', socket]
    const first = await startAgent(host, args)
    first.process.child.kill('SIGKILL')
    await first.process.exited
    assert.ok(existsSync(socket), 'a killed agent leaves its socket file behind')

    const refused = await runCli(['token', ...session(server), '--lock-timeout', '5'], {
      home: container,
      env: containerEnv(socket),
    })
    assert.equal(refused.code, 5, refused.stderr)
    assert.match(refused.stderr, new RegExp(`no authgate agent at ${socket} \\(nobody listening\\)`))
    assert.equal(refused.stdout, '')

    const second = await startAgent(host, args)
    const ok = await runCli(['token', ...session(server)], { home: container, env: containerEnv(socket) })
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stdout, `${issued.access_token}\n`)
    assert.equal(await second.stop(), 0)
    assert.ok(!existsSync(socket), 'SIGTERM removes the socket')

    const gone = await runCli(['token', ...session(server)], { home: container, env: containerEnv(socket) })
    assert.equal(gone.code, 5, gone.stderr)
    assert.match(gone.stderr, new RegExp(`no authgate agent at ${socket} \\(no socket file\\)`))
  })

  test('clients waiting on an agent that is SIGKILLed exit 5 at once, naming the socket', async (t) => {
    const { server, host, container } = await hostAndContainer(t, false)
    const agent = await startAgent(host, [...session(server), ...host.flags, '--socket', agentSocketPath(host)])
    // Stopped, the agent still accepts connections (the kernel queues them) but never answers: the clients wait.
    agent.process.child.kill('SIGSTOP')
    const clients = Array.from({ length: 5 }, () =>
      spawnCli(['token', ...session(server), '--lock-timeout', '5'], {
        home: container,
        env: containerEnv(agent.socket),
      }),
    )
    await new Promise((r) => setTimeout(r, 1000)) // give them time to connect; no assertion rests on it
    agent.process.child.kill('SIGKILL')
    agent.process.child.kill('SIGCONT')
    for (const r of await Promise.all(clients.map((c) => c.exited))) {
      assert.equal(r.code, 5, r.stderr)
      assert.ok(!r.timedOut)
      assert.match(
        r.stderr,
        new RegExp(
          `agent at ${agent.socket} \\((nobody listening|the connection was dropped)\\)|agent at ${agent.socket} closed the connection`,
        ),
      )
      assert.doesNotMatch(r.stderr, /did not answer in time/, 'they learnt of the death from the socket, not a timeout')
    }
  })

  test('a machine session (client credentials) through the agent: one grant, and the secret stays on the host', async (t) => {
    const secret = 'ago_agent-machine-secret'
    const server = await startAuthGateServer({
      clients: [{ clientId: 'ci-bot', clientSecret: secret, type: 'confidential', redirectUris: [], scopes: 'read' }],
    })
    t.after(() => server.close())
    const host = home(t, 'authgate-agent-host-')
    const container = home(t, 'authgate-agent-container-')
    const machine = ['--server-url', server.url, '--client-id', 'ci-bot']
    const agent = await startAgent(
      host,
      [...machine, '--grant', 'client-credentials', ...host.flags, '--socket', agentSocketPath(host)],
      { AUTHGATE_CLIENT_SECRET: secret },
    )
    t.after(() => agent.stop())
    const env = containerEnv(agent.socket)
    const clients = Array.from({ length: 10 }, () => spawnCli(['token', ...machine], { home: container, env }))
    const results = await Promise.all(clients.map((c) => c.exited))
    for (const r of results) assert.equal(r.code, 0, r.stderr)
    assert.equal(new Set(results.map((r) => r.stdout)).size, 1, 'one token for all')
    assert.equal(server.stats.grantsByType.client_credentials, 1)
    assert.deepEqual(filesUnder(container.dir), [])
    assert.ok(!Object.values(env).some((v) => v.includes(secret)))
  })
})
