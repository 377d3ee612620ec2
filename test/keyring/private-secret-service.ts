import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'

/**
 * A Secret Service of the test's own that the test may stop and start again: a private D-Bus daemon with no service
 * directories (so a stopped gnome-keyring is not quietly re-activated by D-Bus) and gnome-keyring-daemon in the
 * foreground, unlocked, with its keyrings in a private HOME that survives a restart. The shared one of
 * scripts/run-tests.mjs serves the other keyring tests and is never touched.
 */
export interface PrivateSecretService {
  /** DBUS_SESSION_BUS_ADDRESS for the CLI. */
  readonly address: string
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

const BUS_CONFIG = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
`

export async function startPrivateSecretService(): Promise<PrivateSecretService> {
  const home = mkdtempSync(join(tmpdir(), 'authgate-private-keyring-'))
  writeFileSync(join(home, 'bus.conf'), BUS_CONFIG)
  const bus = spawn('dbus-daemon', ['--config-file', join(home, 'bus.conf'), '--nofork', '--print-address=1'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const [line] = (await once(bus.stdout!, 'data')) as [Buffer]
  const address = line.toString('utf8').trim()
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_DATA_HOME: join(home, 'data'),
    XDG_RUNTIME_DIR: home,
    DBUS_SESSION_BUS_ADDRESS: address,
  }
  let daemon: ChildProcess | undefined
  const service: PrivateSecretService = {
    address,
    async start() {
      daemon = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
        env,
        stdio: ['pipe', 'ignore', 'ignore'],
      })
      daemon.stdin!.end('authgate-ci')
      await untilServing(env)
    },
    async stop() {
      const d = daemon
      daemon = undefined
      if (!d || d.exitCode !== null) return
      d.kill('SIGTERM')
      await once(d, 'exit')
    },
    async close() {
      await service.stop()
      bus.kill('SIGTERM')
      rmSync(home, { recursive: true, force: true })
    },
  }
  await service.start()
  return service
}

/** The daemon owns org.freedesktop.secrets once `secret-tool search` answers without an error. */
async function untilServing(env: Record<string, string | undefined>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const probe = spawn('secret-tool', ['search', 'service', 'authgate-probe-ready'], { env, stdio: 'ignore' })
    const [code] = (await once(probe, 'exit')) as [number]
    if (code === 0) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('the private gnome-keyring-daemon did not come up')
}
