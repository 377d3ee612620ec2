import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test, type TestContext } from 'node:test'
import { BIN, createCliHome, killAllClis, requireBuild, runCli, type CliHome } from '../support/cli.ts'
import { startLoggingServer, type LoggingServer } from '../support/logging-server.ts'
import { sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * Issue 9, attack 1: a cloned repository's `.env` must not steer the user's token. The user signed in through their
 * profile; `cd repo` puts a hostile `.env` in the working directory; an attacker's server logs everything it gets.
 * Each case must end with the attacker holding nothing, and the ignored names reported once on stderr.
 */

before(requireBuild)
after(killAllClis)

const CLIENT = 'cli-victim'
const VICTIM = { access_token: 'AT-victim-0123456789', refresh_token: 'RT-victim-0123456789', token_type: 'Bearer' }

interface Repo {
  home: CliHome
  dir: string
  dotenv: string
  tokenFile: string
}

/** The user's own setup (a profile naming the server, the default token file) and a repository with `.env` lines. */
function userWithRepo(
  t: TestContext,
  server: LoggingServer,
  attacker: LoggingServer,
  lines: string[],
  expired = false,
) {
  const home = createCliHome('authgate-trust-')
  t.after(home.remove)
  const tokenFile = join(home.configDir, 'tokens.json')
  const profile = { server_url: server.url, client_id: CLIENT, token_store: 'file' }
  mkdirSync(home.configDir, { recursive: true, mode: 0o700 })
  const profiles = { default: profile, staging: { ...profile, api_url: attacker.url } }
  writeFileSync(join(home.configDir, 'config.json'), JSON.stringify({ profiles }))
  writeTokenFile(tokenFile, sessionAccount(server.url, CLIENT), { ...VICTIM, expires_in: 3600 }, { expired })
  const dir = join(home.dir, 'repo')
  mkdirSync(dir, { mode: 0o700 })
  const dotenv = join(dir, '.env')
  writeFileSync(dotenv, `${lines.join('\n')}\n`)
  return { home, dir, dotenv, tokenFile } satisfies Repo
}

const inRepo = (repo: Repo, args: string[]) => runCli(args, { home: repo.home, cwd: repo.dir })

/** One notice, naming the file by its absolute path and each ignored variable. */
function assertNoticedOnce(stderr: string, repo: Repo, names: string[]): void {
  const notices = stderr.split('\n').filter((line) => line.includes(`in ${repo.dotenv}`))
  assert.equal(notices.length, 1, stderr)
  for (const name of names) assert.match(notices[0]!, new RegExp(`\\b${name}\\b`), stderr)
}

describe('a hostile .env in the working directory', () => {
  let server: LoggingServer
  let attacker: LoggingServer
  before(async () => {
    server = await startLoggingServer()
    attacker = await startLoggingServer()
  })
  after(async () => {
    await server.close()
    await attacker.close()
  })

  const cases: Array<{
    name: string
    dotenv: (a: LoggingServer) => string[]
    args: (a: LoggingServer) => string[]
    expired?: boolean
    ignored: string[]
    check: (out: { code: number | null; stdout: string; stderr: string }, repo: Repo) => void
  }> = [
    {
      name: 'AUTHGATE_API_URL: `api /user` goes to the server the user configured',
      dotenv: (a) => [`AUTHGATE_API_URL=${a.url}`],
      args: () => ['api', '/user'],
      ignored: ['AUTHGATE_API_URL'],
      check: (out) => assert.deepEqual([out.code, JSON.parse(out.stdout)], [0, { ok: true, path: '/user' }]),
    },
    {
      name: 'AUTHGATE_PROFILE: the profile is the user’s choice, not the repository’s',
      dotenv: () => ['AUTHGATE_PROFILE=staging'],
      args: () => ['api', '/user'],
      ignored: ['AUTHGATE_PROFILE'],
      check: (out) => assert.deepEqual([out.code, JSON.parse(out.stdout)], [0, { ok: true, path: '/user' }]),
    },
    {
      name: 'AUTHGATE_ALLOW_HOSTS: an absolute URL on the attacker’s origin is still refused (exit 2)',
      dotenv: () => ['AUTHGATE_ALLOW_HOSTS=127.0.0.1'],
      args: (a) => ['api', `${a.url}/steal`],
      ignored: ['AUTHGATE_ALLOW_HOSTS'],
      check: (out) => {
        assert.equal(out.code, 2, out.stderr)
        assert.match(out.stderr, /refusing to send the token to http:\/\/127\.0\.0\.1:\d+.*--allow-host/)
      },
    },
    {
      name: 'TOKEN_FILE (the Go bare name) and AUTHGATE_TOKEN_STORE: the user’s own store is read, nothing is written in the repo',
      dotenv: () => ['TOKEN_FILE=./stolen.json', 'AUTHGATE_TOKEN_STORE=encrypted'],
      args: () => ['token'],
      ignored: ['AUTHGATE_TOKEN_STORE', 'TOKEN_FILE'],
      check: (out, repo) => {
        assert.deepEqual([out.code, out.stdout], [0, `${VICTIM.access_token}\n`], out.stderr)
        assert.equal(existsSync(join(repo.dir, 'stolen.json')), false)
      },
    },
    {
      name: 'AUTHGATE_REFRESH_SKEW: a fresh token is not refreshed on every call',
      dotenv: () => ['AUTHGATE_REFRESH_SKEW=100000000'],
      args: () => ['token'],
      ignored: ['AUTHGATE_REFRESH_SKEW'],
      check: (out) => assert.deepEqual([out.code, out.stdout], [0, `${VICTIM.access_token}\n`], out.stderr),
    },
    {
      name: 'AUTHGATE_LOCK_DIR and AUTHGATE_LOCK_TIMEOUT: the refresh locks in the user’s lock dir, not in the repo',
      dotenv: () => ['AUTHGATE_LOCK_DIR=./locks', 'AUTHGATE_LOCK_TIMEOUT=0'],
      args: () => ['token'],
      expired: true,
      ignored: ['AUTHGATE_LOCK_DIR', 'AUTHGATE_LOCK_TIMEOUT'],
      check: (out, repo) => {
        assert.equal(out.code, 0, out.stderr)
        assert.match(out.stdout, /^AT-issued-\d+-0123456789\n$/)
        assert.equal(existsSync(join(repo.dir, 'locks')), false)
      },
    },
    {
      name: 'AUTHGATE_ALLOW_INSECURE_HTTP: plain http to a remote server stays refused',
      dotenv: () => ['AUTHGATE_SERVER_URL=http://authgate.attacker.invalid', 'AUTHGATE_ALLOW_INSECURE_HTTP=true'],
      args: () => ['token'],
      ignored: ['AUTHGATE_ALLOW_INSECURE_HTTP'],
      check: (out) => {
        assert.equal(out.code, 2, out.stderr)
        assert.match(out.stderr, /refusing plain http to authgate\.attacker\.invalid/)
      },
    },
  ]

  for (const c of cases) {
    test(c.name, async (t) => {
      const repo = userWithRepo(t, server, attacker, c.dotenv(attacker), c.expired)
      const seenBefore = server.tokenRequests().length
      const out = await inRepo(repo, c.args(attacker))
      c.check(out, repo)
      assertNoticedOnce(out.stderr, repo, c.ignored)
      assert.deepEqual(attacker.requests, [], 'the attacker’s server received nothing')
      if (!c.expired) assert.equal(server.tokenRequests().length, seenBefore, 'no refresh was needed')
    })
  }

  test('the settings a .env may set still apply, without a notice', async (t) => {
    const repo = userWithRepo(t, server, attacker, [`SERVER_URL=${server.url}`, `AUTHGATE_CLIENT_ID=${CLIENT}`])
    const out = await inRepo(repo, ['token'])
    assert.deepEqual([out.code, out.stdout, out.stderr], [0, `${VICTIM.access_token}\n`, ''])
  })

  test('git credential fill in the repository: no answer for the .env’s API host, the token for the user’s', async (t) => {
    if (spawnSync('git', ['--version']).status !== 0) {
      if (process.env.CI === 'true') assert.fail('git is missing (CI=true: install git)')
      return t.skip('git is not installed: apt-get install git')
    }
    const repo = userWithRepo(t, server, attacker, [`AUTHGATE_API_URL=${attacker.url}`])
    const toAttacker = await gitFill(repo, `protocol=http\nhost=${attacker.host}\npath=org/repo.git\n\n`)
    assert.doesNotMatch(toAttacker.stdout, /password=/, 'git got no credential for the attacker’s host')
    assert.doesNotMatch(toAttacker.stdout + toAttacker.stderr, /AT-victim/)
    assertNoticedOnce(toAttacker.stderr, repo, ['AUTHGATE_API_URL'])
    const toServer = await gitFill(repo, `protocol=http\nhost=${server.host}\npath=org/repo.git\n\n`)
    assert.equal(toServer.code, 0, toServer.stderr)
    assert.match(toServer.stdout, new RegExp(`^password=${VICTIM.access_token}$`, 'm'))
    assert.deepEqual(attacker.requests, [])
  })
})

/** `git credential fill` run in the repository, with authgate as its only helper and no prompt. */
function gitFill(repo: Repo, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = {
    ...repo.home.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
  }
  const helper = `credential.helper=!"${process.execPath}" "${BIN}" credential git`
  const child = spawn('git', ['-c', helper, 'credential', 'fill'], { cwd: repo.dir, env })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  child.stdin.end(input)
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })))
}

test('a relative XDG_CONFIG_HOME is ignored (XDG spec): a profile file in the working directory is never read', async (t) => {
  // env-paths resolved it against the working directory, where a cloned repository can put `rel/authgate/config.json`.
  const home = createCliHome('authgate-xdg-')
  t.after(home.remove)
  const repo = join(home.dir, 'repo')
  mkdirSync(join(repo, 'rel', 'authgate'), { recursive: true })
  const planted = { profiles: { default: { client_id: 'planted', api_url: 'https://attacker.example' } } }
  writeFileSync(join(repo, 'rel', 'authgate', 'config.json'), JSON.stringify(planted))
  const out = await runCli(['status', '--offline', '--json'], {
    home,
    cwd: repo,
    env: { XDG_CONFIG_HOME: 'rel', XDG_CACHE_HOME: 'rel' },
  })
  assert.equal(out.code, 2, out.stderr)
  assert.match(out.stderr, /no client id configured/)
  assert.equal(existsSync(join(repo, 'rel', 'authgate', 'tokens.json')), false)
})
