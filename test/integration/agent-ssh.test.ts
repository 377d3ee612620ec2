import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, test, type TestContext } from 'node:test'
import { agentSocketPath, startAgent } from '../support/agent.ts'
import { BIN, killAllClis, requireBuild } from '../support/cli.ts'
import { rotatingAuthGate, testHome } from '../support/storm.ts'
import { obtainTokensFromAuthGate, sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * Issue 17: a remote host reached over SSH uses the host's agent through `ssh -R <remote socket>:<agent socket>`.
 * The "remote host" is Debian's sshd on a loopback port (run as root with a temporary host key, authorized_keys and
 * config), so the forwarded socket, the remote shell and the client are the real ones.
 */

const SSHD = '/usr/sbin/sshd'

before(requireBuild)
after(killAllClis)

function sshdUsable(t: TestContext): boolean {
  const why = !existsSync(SSHD)
    ? `${SSHD} is missing: apt-get install openssh-server openssh-client`
    : process.getuid?.() !== 0
      ? 'sshd needs root to run here'
      : undefined
  if (why === undefined) return true
  if (process.env.CI === 'true') assert.fail(`${why} (CI=true: the SSH test must run)`)
  t.skip(why)
  return false
}

function run(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000) // hang guard, not a speed assertion
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  return new Promise((done) =>
    child.once('close', (status) => {
      clearTimeout(guard)
      done({ status, stdout, stderr })
    }),
  )
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  await new Promise((done) => server.close(done))
  return port
}

function keygen(path: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
}

/** sshd in the foreground on 127.0.0.1:<port>, logging to stderr; killed after the test. */
async function startSshd(t: TestContext, dir: string): Promise<{ port: number; clientKey: string }> {
  keygen(join(dir, 'host_key'))
  keygen(join(dir, 'client_key'))
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')), { mode: 0o600 })
  const port = await freePort()
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_key')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'StrictModes no',
    'UsePAM no',
    'AllowStreamLocalForwarding yes',
    'StreamLocalBindUnlink yes',
    `PidFile ${join(dir, 'sshd.pid')}`,
  ].join('\n')
  writeFileSync(join(dir, 'sshd_config'), `${config}\n`)
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }) // privilege separation directory
  const sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] })
  t.after(() => void sshd.kill('SIGKILL'))
  let log = ''
  await new Promise<void>((ready, fail) => {
    sshd.stderr.on('data', (d: Buffer) => {
      log += d.toString()
      if (/Server listening/.test(log)) ready()
    })
    sshd.once('exit', (code) => fail(new Error(`sshd exited ${code}: ${log}`)))
  })
  return { port, clientKey: join(dir, 'client_key') }
}

test(
  'ssh -R forwards the agent: `authgate token` on the remote side gets the host session',
  { timeout: 120_000 },
  async (t) => {
    if (!sshdUsable(t)) return
    const server = await rotatingAuthGate(t)
    const host = testHome(t, 'authgate-agent-host-')
    const issued = await obtainTokensFromAuthGate(server)
    writeTokenFile(host.tokenFile, sessionAccount(server.url, server.publicClientId), issued, { expired: true })
    const session = ['--server-url', server.url, '--client-id', server.publicClientId]
    const agent = await startAgent(host, [...session, ...host.flags, '--socket', agentSocketPath(host)])
    t.after(() => agent.stop())

    const remote = testHome(t, 'authgate-agent-remote-')
    const { port, clientKey } = await startSshd(t, host.dir)
    const remoteSock = join(remote.dir, 'agent.sock')
    const command = [
      `HOME=${remote.dir}`,
      `XDG_CONFIG_HOME=${remote.dir}/config`,
      `XDG_CACHE_HOME=${remote.dir}/cache`,
      `AUTHGATE_AGENT_SOCK=${remoteSock}`,
      process.execPath,
      BIN,
      'token',
      ...session,
    ].join(' ')
    // Not spawnSync: the AuthGate double runs in this process and must answer the agent's refresh meanwhile.
    const ssh = await run('ssh', [
      ...['-i', clientKey, '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no'],
      ...['-o', 'UserKnownHostsFile=/dev/null', '-o', 'ExitOnForwardFailure=yes', '-o', 'LogLevel=ERROR'],
      ...['-R', `${remoteSock}:${agent.socket}`, 'root@127.0.0.1', `cd / && env ${command}`],
    ])
    assert.equal(ssh.status, 0, ssh.stderr)
    assert.match(ssh.stdout, /^\S+\n$/)
    assert.notEqual(ssh.stdout.trim(), issued.access_token, 'the expired token was refreshed on the host')
    assert.ok(server.isTokenActive(ssh.stdout.trim()))
    assert.equal(server.stats.refreshGrants, 1)
  },
)
