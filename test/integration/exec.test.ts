import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { BIN, killAllClis, requireBuild, runCli, spawnCli } from '../support/cli.ts'
import { startOidcServer, type OidcTestServer } from '../support/oidc-server.ts'
import { signedIn } from '../support/signed-in.ts'
import { obtainTokensFromAuthGate, obtainTokensFromOidc } from '../support/tokens.ts'

/**
 * `authgate exec` as a person runs it: the real CLI starting a real command, against both test servers. The command
 * is node itself (`process.execPath`), so the tests need nothing else installed.
 */

before(requireBuild)
after(killAllClis)

const NODE = process.execPath
/** A command that prints the variables it was given as one JSON line. */
const printEnv = (...names: string[]) => [
  NODE,
  '-e',
  `console.log(JSON.stringify(Object.fromEntries(${JSON.stringify(names)}.map((n) => [n, process.env[n] ?? null]))))`,
]

/** Every process under `pid` (by PPid in /proc), depth first. */
function descendants(pid: number): number[] {
  const children = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1] === String(pid)
      } catch {
        return false // the process ended while we looked
      }
    })
    .map(Number)
  return children.flatMap((c) => [c, ...descendants(c)])
}

describe('authgate exec against AuthGate', () => {
  let server: AuthGateTestServer
  before(async () => {
    server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })
  })
  after(() => server.close())

  test('the command finds the token in AUTHGATE_TOKEN and each --env name; stdout is its own', async (t) => {
    const issued = await obtainTokensFromAuthGate(server)
    const { home, env } = signedIn(t, server.url, server.publicClientId, issued)
    const out = await runCli(
      ['exec', '--env', 'GH_TOKEN', '--env', 'NPM_TOKEN', '--', ...printEnv('AUTHGATE_TOKEN', 'GH_TOKEN', 'NPM_TOKEN')],
      { home, env },
    )
    assert.equal(out.code, 0, out.stderr)
    const got = JSON.parse(out.stdout) as Record<string, string>
    assert.deepEqual(new Set(Object.values(got)), new Set([issued.access_token]))
    assert.ok(server.isTokenActive(got.AUTHGATE_TOKEN!))
    assert.equal(out.stderr, '')
  })

  test('an expired session is refreshed once before the command starts', async (t) => {
    const issued = await obtainTokensFromAuthGate(server)
    const { home, env } = signedIn(t, server.url, server.publicClientId, issued, true)
    const grants = server.stats.refreshGrants
    const out = await runCli(['exec', '--', ...printEnv('AUTHGATE_TOKEN')], { home, env })
    assert.equal(out.code, 0, out.stderr)
    const token = (JSON.parse(out.stdout) as { AUTHGATE_TOKEN: string }).AUTHGATE_TOKEN
    assert.notEqual(token, issued.access_token)
    assert.ok(server.isTokenActive(token))
    assert.equal(server.stats.refreshGrants - grants, 1)
  })

  test("the command's exit code is authgate's; a command not found is 127", async (t) => {
    const { home, env } = signedIn(t, server.url, server.publicClientId, await obtainTokensFromAuthGate(server))
    for (const code of [0, 1, 7, 255]) {
      const out = await runCli(['exec', '--', NODE, '-e', `process.exit(${code})`], { home, env })
      assert.deepEqual([out.code, out.stderr], [code, ''], `exit ${code}`)
    }
    const missing = await runCli(['exec', '--', 'authgate-test-no-such-command'], { home, env })
    assert.equal(missing.code, 127)
    assert.match(missing.stderr, /cannot run "authgate-test-no-such-command": ENOENT/)
  })

  test('not signed in: exit 4 and the command is never started', async (t) => {
    const { home, env } = signedIn(t, server.url, server.publicClientId, await obtainTokensFromAuthGate(server))
    const marker = join(home.dir, 'started')
    const out = await runCli(['exec', '--', NODE, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`], {
      home,
      env: { ...env, AUTHGATE_CLIENT_ID: 'nobody-signed-in' },
    })
    assert.equal(out.code, 4, out.stderr)
    assert.match(out.stderr, /authgate login/)
    assert.equal(existsSync(marker), false, 'the command ran')
  })

  for (const [signal, number] of [
    ['SIGTERM', 15],
    ['SIGINT', 2],
  ] as const) {
    test(`${signal} to authgate alone reaches the command; exit 128 + ${number}; no argv in the tree holds the token`, async (t) => {
      const issued = await obtainTokensFromAuthGate(server)
      const { home, env } = signedIn(t, server.url, server.publicClientId, issued)
      // The command starts a grandchild, says it is ready, and when the signal comes says so and dies of it.
      const script = `
        const kid = require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
        process.on('${signal}', () => { kid.kill(); console.log('got ${signal}'); process.removeAllListeners('${signal}'); process.kill(process.pid, '${signal}') })
        process.stderr.write('ready ' + kid.pid + '\\n')
        setTimeout(() => {}, 60000)`
      // Detached: no terminal of the test run's can make the signal look like a Ctrl+C (see the next test).
      const cli = spawnCli(['exec', '--', NODE, '-e', script], { home, env, detached: true })
      await cli.waitForStderr(/ready \d+/)
      const tree = [cli.pid, ...descendants(cli.pid)]
      assert.ok(tree.length >= 3, `authgate, the command and its child: ${tree.join(' ')}`)
      for (const pid of tree) {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        assert.ok(!argv.includes(issued.access_token), `the token is on the argv of pid ${pid}`)
      }
      const command = tree[1]!
      assert.ok(readFileSync(`/proc/${command}/environ`, 'utf8').includes(`AUTHGATE_TOKEN=${issued.access_token}\0`))
      process.kill(cli.pid, signal)
      const out = await cli.exited
      assert.equal(out.code, 128 + number, out.stderr)
      assert.equal(out.stdout, `got ${signal}\n`)
    })
  }
  test('Ctrl+C reaches the command once (from the terminal), not twice; exit 128 + 2', async (t) => {
    if (spawnSync('script', ['--version'], { stdio: 'ignore' }).error !== undefined) {
      const why = 'script(1) is not installed: apt-get install bsdutils'
      if (process.env.CI === 'true') assert.fail(why)
      return t.skip(why)
    }
    const { home, env } = signedIn(t, server.url, server.publicClientId, await obtainTokensFromAuthGate(server))
    // Counts SIGINTs for a moment after the first, then dies of SIGINT as a well-behaved program does.
    const command = join(home.dir, 'count.js')
    writeFileSync(
      command,
      `let n = 0
      process.on('SIGINT', () => {
        if (n++ === 0) setTimeout(() => { console.log('SIGINTs: ' + n); process.removeAllListeners('SIGINT'); process.kill(process.pid, 'SIGINT') }, 500)
      })
      console.log('ready')
      setTimeout(() => {}, 60000)`,
    )
    const line = [NODE, BIN, 'exec', '--', NODE, command].map((a) => `'${a}'`).join(' ')
    // script(1) runs it on a pseudo-terminal of its own, in the foreground: \x03 typed there is a real Ctrl+C.
    const terminal = spawn('script', ['-q', '-e', '-c', line, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    t.after(() => terminal.kill('SIGKILL'))
    let out = ''
    await new Promise<void>((ready) =>
      terminal.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8')
        if (out.includes('ready')) ready()
      }),
    )
    terminal.stdin.write('\x03')
    const code = await new Promise<number | null>((done) => terminal.on('close', (c) => done(c)))
    terminal.stdin.destroy()
    assert.match(out, /SIGINTs: 1\r?\n/)
    assert.equal(code, 130, out)
  })
})

describe('authgate exec against oidc-provider', () => {
  let oidc: OidcTestServer
  before(async () => {
    oidc = await startOidcServer({ quiet: true })
  })
  after(() => oidc.close())

  test('the same environment, a token the server says is active', async (t) => {
    const { home, env } = signedIn(t, oidc.url, 'cli', await obtainTokensFromOidc(oidc))
    const out = await runCli(['exec', '--env', 'TOKEN', '--', ...printEnv('AUTHGATE_TOKEN', 'TOKEN')], { home, env })
    assert.equal(out.code, 0, out.stderr)
    const got = JSON.parse(out.stdout) as { AUTHGATE_TOKEN: string; TOKEN: string }
    assert.equal(got.TOKEN, got.AUTHGATE_TOKEN)
    assert.equal((await oidc.introspect(got.AUTHGATE_TOKEN)).active, true)
  })
})
