import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test, type TestContext } from 'node:test'
import { startAuthGateServer } from '../support/authgate-server/index.ts'
import {
  createCliHome,
  killAllClis,
  requireBuild,
  runCli,
  spawnCli,
  type CliHome,
  type CliOptions,
  type CliResult,
} from '../support/cli.ts'
import { startTokenProxy, type TokenProxy } from '../support/hostile-server.ts'
import { obtainTokensFromAuthGate, readTokenEntry, sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * Issue 6 item 7: secrets stay secret. Every command runs as a real process, plain and with --verbose, against a
 * confidential client. A proxy records every token the server issues (and every device code); a preload records the
 * argv of the CLI and of every child process it starts. No token or secret may appear in stderr, in any argv, or in
 * stdout, except on the stdout of the commands whose job is to print one (`token`, `api`, the credential helpers).
 */

before(requireBuild)
after(killAllClis)

const CLIENT_ID = 'secret-keeper-cli'
const CLIENT_SECRET = `cs-${crypto.randomUUID()}-do-not-print`
/** Commands whose stdout is the token (or a response the token bought). */
const PRINTS_TOKEN = new Set(['token', 'api', 'credential'])

/** A --require preload that appends {kind, file, args} for the process itself and for every child it starts. */
const ARGV_RECORDER = `
const fs = require('node:fs')
const cp = require('node:child_process')
const log = process.env.AUTHGATE_TEST_ARGV_LOG
const record = (kind, file, args) => fs.appendFileSync(log, JSON.stringify({ pid: process.pid, kind, file, args }) + '\\n')
record('self', process.execPath, process.argv)
const spawn = cp.ChildProcess.prototype.spawn
cp.ChildProcess.prototype.spawn = function (options) {
  record('child', options && options.file, options && options.args)
  return spawn.call(this, options)
}
for (const name of ['spawnSync', 'execSync', 'execFileSync']) {
  const original = cp[name]
  cp[name] = function (...args) {
    record(name, args[0], args[1])
    return original.apply(this, args)
  }
}
`

interface Run {
  label: string
  command: string
  result: CliResult
}

/** Whole secrets, and the tail of each (a JWT's signature), so a token cut short in a message still counts. */
function leaks(text: string, secrets: Set<string>): string[] {
  const found: string[] = []
  for (const secret of secrets) {
    if (text.includes(secret) || (secret.length > 40 && text.includes(secret.slice(-24))))
      found.push(`${secret.slice(0, 10)}…`)
  }
  return found
}

test(
  'no token or secret leaks into stderr, argv or the wrong stdout, across every command, plain and --verbose',
  { timeout: 300_000 },
  async (t) => {
    const server = await startAuthGateServer({
      rotation: true,
      tokenRateLimitPerMinute: 0,
      deviceCodeRateLimitPerMinute: 0,
      clients: [
        {
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          type: 'confidential',
          redirectUris: ['http://localhost:8888/callback'],
          scopes: 'email profile',
        },
      ],
    })
    t.after(() => server.close())
    const proxy = await startTokenProxy(server.url)
    t.after(() => proxy.close())
    const home = createCliHome('authgate-secrets-')
    t.after(() => home.remove())
    const recorder = join(home.dir, 'argv-recorder.cjs')
    writeFileSync(recorder, ARGV_RECORDER)
    const argvLog = join(home.dir, 'argv.jsonl')
    const key = sessionAccount(proxy.url, CLIENT_ID)
    const runs: Run[] = []
    const skipped = new Set<string>()
    const options = (extra: Partial<CliOptions> = {}): CliOptions => ({
      home,
      nodeArgs: ['--require', recorder],
      env: { AUTHGATE_CLIENT_SECRET: CLIENT_SECRET, AUTHGATE_TEST_ARGV_LOG: argvLog },
      ...extra,
    })

    const cli = async (
      label: string,
      args: string[],
      verbose: boolean,
      extra: Partial<CliOptions> = {},
    ): Promise<CliResult | undefined> => {
      const all = [
        ...args,
        '--server-url',
        proxy.url,
        '--client-id',
        CLIENT_ID,
        ...home.flags,
        ...(verbose ? ['--verbose'] : []),
      ]
      const result = await runCli(all, options(extra))
      if (result.code === 2 && /unknown command/i.test(result.stderr)) {
        skipped.add(args[0]!)
        return undefined
      }
      runs.push({ label: `${label}${verbose ? ' --verbose' : ''}`, command: args[0]!, result })
      return result
    }

    const signIn = async (verbose: boolean): Promise<void> => {
      const login = spawnCli(
        [
          'login',
          '--device',
          '--no-open',
          '--server-url',
          proxy.url,
          '--client-id',
          CLIENT_ID,
          ...home.flags,
          ...(verbose ? ['--verbose'] : []),
        ],
        options(),
      )
      const shown = await Promise.race([
        login.waitForStderr(/check that it shows the code (\S+)|enter the code (\S+)/).catch(() => undefined),
        login.exited.then(() => undefined),
      ])
      if (shown) server.approveDevice((shown[1] ?? shown[2])!)
      const result = await login.exited
      if (result.code === 2 && /unknown command/i.test(result.stderr)) {
        // Before `login` exists: a device grant by hand, saved in the store's format.
        skipped.add('login')
        writeTokenFile(home.tokenFile, key, await obtainTokensFromAuthGate(server, { clientId: CLIENT_ID }))
        return
      }
      runs.push({ label: `login --device${verbose ? ' --verbose' : ''}`, command: 'login', result })
      assert.equal(result.code, 0, result.stderr)
    }

    const expireStored = () => {
      const entry = readTokenEntry(home.tokenFile, key)!
      writeTokenFile(
        home.tokenFile,
        key,
        {
          access_token: entry.access_token!,
          token_type: 'Bearer',
          refresh_token: entry.refresh_token!,
          scope: entry.scope!,
        },
        { expired: true },
      )
    }

    for (const verbose of [false, true]) {
      await signIn(verbose)
      assert.equal((await cli('token (fresh)', ['token'], verbose))?.code, 0)
      expireStored()
      const refreshed = await cli('token (refreshing)', ['token'], verbose)
      assert.equal(refreshed?.code, 0, refreshed?.stderr)
      assert.equal((await cli('refresh --force', ['refresh', '--force'], verbose))?.code, 0)
      expireStored()
      assert.equal((await cli('refresh', ['refresh'], verbose))?.code, 0)
      assert.equal((await cli('status', ['status'], verbose))?.code, 0)
      assert.equal((await cli('status --json', ['status', '--json'], verbose))?.code, 0)
      await cli('api', ['api', '/oauth/tokeninfo'], verbose)
      await cli('credential git get', ['credential', 'git', 'get'], verbose, {
        input: `protocol=https\nhost=${new URL(proxy.url).host}\n\n`,
      })
      await cli('credential kubectl', ['credential', 'kubectl'], verbose)
      await cli(
        'credential docker get',
        ['credential', 'docker', 'get', '--registry', new URL(proxy.url).host],
        verbose,
        {
          input: new URL(proxy.url).host,
        },
      )
      const child = 'process.exit(process.env.AUTHGATE_TOKEN && process.env.GH_TOKEN ? 0 : 3)'
      // cli() appends the session flags after the child's own `--`, where they are its plain arguments: so authgate
      // gets them before its `--` too.
      const session = ['--server-url', proxy.url, '--client-id', CLIENT_ID, ...home.flags]
      const execArgs = ['exec', ...session, '--env', 'GH_TOKEN', '--', process.execPath, '-e', child, '--']
      const exec = await cli('exec', execArgs, verbose)
      if (exec) assert.equal(exec.code, 0, exec.stderr)
      const machine = ['token', '--grant', 'client-credentials']
      const machineRun = await cli('token (client credentials)', machine, verbose)
      assert.equal(machineRun?.code, 0, machineRun?.stderr)
      await cli('logout', ['logout'], verbose)
      const afterLogout = await cli('token (signed out)', ['token'], verbose)
      if (!skipped.has('logout')) assert.equal(afterLogout?.code, 4, afterLogout?.stderr)
    }

    const secrets = issuedSecrets(proxy)
    assert.ok(secrets.size >= 8, `only ${secrets.size} secrets recorded: the proxy missed the grants`)
    const problems: string[] = []
    for (const run of runs) {
      for (const leak of leaks(run.result.stderr, secrets)) problems.push(`${run.label}: stderr shows ${leak}`)
      if (!PRINTS_TOKEN.has(run.command))
        for (const leak of leaks(run.result.stdout, secrets)) problems.push(`${run.label}: stdout shows ${leak}`)
    }
    assert.ok(existsSync(argvLog), 'the argv recorder never ran')
    const argvs = readFileSync(argvLog, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; file: string; args: string[] })
    for (const a of argvs)
      for (const leak of leaks(JSON.stringify(a), secrets)) problems.push(`argv of ${a.kind} ${a.file}: ${leak}`)
    assert.deepEqual(problems, [])
    assert.ok(
      runs.some((r) => r.command === 'token' && r.result.stdout.trim() !== '' && secrets.has(r.result.stdout.trim())),
      'token printed no issued token: the check above could not fail',
    )
    t.diagnostic(
      `${runs.length} runs checked, ${argvs.length} argv records (${argvs.filter((a) => a.kind !== 'self').length} child processes), ${secrets.size} secrets${skipped.size ? `; not yet commands: ${[...skipped].join(', ')}` : ''}`,
    )
  },
)

function issuedSecrets(proxy: TokenProxy): Set<string> {
  const secrets = new Set<string>([CLIENT_SECRET])
  for (const exchange of proxy.exchanges) {
    for (const field of ['access_token', 'refresh_token', 'id_token']) {
      const value = exchange.answer?.[field]
      if (typeof value === 'string') secrets.add(value)
    }
    const deviceCode = exchange.form.get('device_code')
    if (deviceCode) secrets.add(deviceCode)
  }
  return secrets
}

test('plain http to a host that is not loopback is refused without --allow-insecure-http, before any request', async (t: TestContext) => {
  const home: CliHome = createCliHome('authgate-insecure-')
  t.after(() => home.remove())
  for (const command of [['token'], ['login', '--device', '--no-open'], ['status']]) {
    const r = await runCli(
      [...command, '--server-url', 'http://auth.example.com', '--client-id', 'cli', ...home.flags],
      { home },
    )
    assert.equal(r.code, 2, `${command[0]}: ${r.stderr}`)
    assert.match(r.stderr, /refusing plain http to auth\.example\.com/)
    assert.match(r.stderr, /--allow-insecure-http/)
  }
  // With the flag the URL is accepted; the session does not exist, so it ends at "not signed in" without a request.
  const allowed = await runCli(
    ['token', '--server-url', 'http://auth.example.com', '--client-id', 'cli', '--allow-insecure-http', ...home.flags],
    { home },
  )
  assert.equal(allowed.code, 4, allowed.stderr)
  const loopback = await runCli(['token', '--server-url', 'http://127.0.0.1:9', '--client-id', 'cli', ...home.flags], {
    home,
  })
  assert.equal(loopback.code, 4, loopback.stderr)
})
