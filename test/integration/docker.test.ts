import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { after, before, describe, test, type TestContext } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { BIN, killAllClis, requireBuild, runCli, type CliHome } from '../support/cli.ts'
import { startOidcServer, type OidcTestServer } from '../support/oidc-server.ts'
import { MANIFEST, startRegistryServer } from '../support/registry-server.ts'
import { runProgram, signedIn } from '../support/signed-in.ts'
import { obtainTokensFromAuthGate, obtainTokensFromOidc } from '../support/tokens.ts'

/**
 * The Docker credential helper through its protocol (stdin → stdout, as docker-credential-helpers' clients drive it),
 * installed under its own name, and through the real `docker` CLI: `docker manifest inspect` reads credentials and
 * talks to the registry itself, with no Docker engine, and `docker logout` runs the helper's `erase`.
 */

before(requireBuild)
after(killAllClis)

const NOT_FOUND = 'credentials not found in native keychain\n'

/** A bin dir with `docker-credential-authgate` → bin/authgate.js (what npm's second `bin` entry makes), and node. */
function helperOnPath(home: CliHome, env: Record<string, string>): Record<string, string> {
  const bin = join(home.dir, 'bin')
  mkdirSync(bin)
  symlinkSync(BIN, join(bin, 'docker-credential-authgate'))
  return { ...env, PATH: `${bin}:${dirname(process.execPath)}:${env.PATH}` }
}

function helper(env: Record<string, string>, action: string, input = '') {
  return runProgram('docker-credential-authgate', [action], env, input)
}

describe('docker-credential-authgate against AuthGate', () => {
  let server: AuthGateTestServer
  before(async () => {
    server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })
  })
  after(() => server.close())

  function session(t: TestContext, registries: string, expired = false) {
    return obtainTokensFromAuthGate(server).then((issued) => {
      const { home, env } = signedIn(t, server.url, server.publicClientId, issued, expired)
      return { home, issued, env: helperOnPath(home, { ...env, AUTHGATE_REGISTRY: registries }) }
    })
  }

  test('get for a configured registry, in any of the forms Docker uses: oauth2 and a live token', async (t) => {
    const { env, issued } = await session(t, 'registry.example,127.0.0.1:5000')
    for (const url of ['registry.example', 'https://registry.example/v1/', 'http://127.0.0.1:5000', '127.0.0.1:5000']) {
      const out = await helper(env, 'get', `${url}\n`)
      assert.equal(out.code, 0, out.stdout + out.stderr)
      assert.deepEqual(JSON.parse(out.stdout), { ServerURL: url, Username: 'oauth2', Secret: issued.access_token })
    }
    assert.ok(server.isTokenActive(issued.access_token))
  })

  test('an expired session is refreshed once, then answered', async (t) => {
    const { env, issued } = await session(t, 'registry.example', true)
    const grants = server.stats.refreshGrants
    const out = await helper(env, 'get', 'registry.example')
    assert.equal(out.code, 0, out.stderr)
    const secret = (JSON.parse(out.stdout) as { Secret: string }).Secret
    assert.notEqual(secret, issued.access_token)
    assert.ok(server.isTokenActive(secret))
    assert.equal(server.stats.refreshGrants - grants, 1)
  })

  test('any other host: the not-found text on stdout (which Docker reads), exit 1, no request to the server', async (t) => {
    const { env } = await session(t, 'registry.example')
    const requests = server.stats.tokenRequests
    for (const url of ['ghcr.io', 'registry.example:5000', 'registry.example.evil.example', new URL(server.url).host]) {
      const out = await helper(env, 'get', url)
      assert.deepEqual([out.code, out.stdout], [1, NOT_FOUND], url)
      assert.match(out.stderr, /not a configured registry; add it with --registry/)
    }
    assert.equal(server.stats.tokenRequests, requests)
  })

  test('a registry named only in the working directory’s .env is not the user’s: not found', async (t) => {
    const { home, env } = await session(t, '')
    writeFileSync(join(home.dir, '.env'), 'AUTHGATE_REGISTRY=registry.example\n')
    const out = await runProgram('docker-credential-authgate', ['get'], env, 'registry.example')
    assert.deepEqual([out.code, out.stdout], [1, NOT_FOUND])
  })

  test('store and erase succeed and change nothing; list names the configured registries', async (t) => {
    const { home, env } = await session(t, 'registry.example, 127.0.0.1:5000')
    const before = readFileSync(home.tokenFile, 'utf8')
    const stored = await helper(env, 'store', '{"ServerURL":"registry.example","Username":"me","Secret":"typed"}')
    const erased = await helper(env, 'erase', 'registry.example\n')
    assert.deepEqual([stored.code, stored.stdout, erased.code, erased.stdout], [0, '', 0, ''])
    assert.equal(readFileSync(home.tokenFile, 'utf8'), before)
    const list = await helper(env, 'list')
    assert.equal(list.code, 0, list.stderr)
    assert.deepEqual(JSON.parse(list.stdout), { 'registry.example': 'oauth2', '127.0.0.1:5000': 'oauth2' })
  })

  test('`authgate credential docker get` with --registry is the same helper; not signed in is exit 4', async (t) => {
    const { home, env, issued } = await session(t, '')
    const out = await runCli(['credential', 'docker', 'get', '--registry', 'Registry.Example'], {
      home,
      env,
      input: 'registry.example',
    })
    assert.equal(out.code, 0, out.stderr)
    assert.equal((JSON.parse(out.stdout) as { Secret: string }).Secret, issued.access_token)
    const none = await helper(
      { ...env, AUTHGATE_REGISTRY: 'registry.example', AUTHGATE_CLIENT_ID: 'x' },
      'get',
      'registry.example',
    )
    assert.equal(none.code, 4)
    assert.match(none.stdout, /not signed in/)
  })
})

describe('docker-credential-authgate against oidc-provider', () => {
  let oidc: OidcTestServer
  before(async () => {
    oidc = await startOidcServer({ quiet: true })
  })
  after(() => oidc.close())

  test('get answers with a token the server says is active', async (t) => {
    const { home, env } = signedIn(t, oidc.url, 'cli', await obtainTokensFromOidc(oidc))
    const out = await helper(
      helperOnPath(home, { ...env, AUTHGATE_REGISTRY: 'registry.example' }),
      'get',
      'registry.example',
    )
    assert.equal(out.code, 0, out.stderr)
    assert.equal((await oidc.introspect((JSON.parse(out.stdout) as { Secret: string }).Secret)).active, true)
  })
})

describe('the real docker CLI with "credHelpers": {"<registry>": "authgate"}', () => {
  let server: AuthGateTestServer
  before(async () => {
    server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })
  })
  after(() => server.close())

  async function dockerSession(t: TestContext, configured: boolean) {
    if (spawnSync('docker', ['--version'], { stdio: 'ignore' }).error !== undefined) {
      const why = 'the docker CLI is not installed: apt-get install docker.io (only the client is used)'
      if (process.env.CI === 'true') assert.fail(why)
      t.skip(why)
      return undefined
    }
    const registry = await startRegistryServer((token) => server.isTokenActive(token))
    t.after(() => registry.close())
    const issued = await obtainTokensFromAuthGate(server)
    const { home, env } = signedIn(t, server.url, server.publicClientId, issued)
    const dockerConfig = join(home.dir, 'docker')
    mkdirSync(dockerConfig)
    writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'authgate' } }))
    const dockerEnv = helperOnPath(home, {
      ...env,
      DOCKER_CONFIG: dockerConfig,
      AUTHGATE_REGISTRY: configured ? registry.host : 'registry.example',
    })
    return { registry, issued, home, env: dockerEnv }
  }

  test('docker manifest inspect: docker asks the helper and sends oauth2:<live token> to the registry', async (t) => {
    const s = await dockerSession(t, true)
    if (!s) return
    const out = await runProgram(
      'docker',
      ['manifest', 'inspect', '--insecure', `${s.registry.host}/team/app:1.0`],
      s.env,
    )
    assert.equal(out.code, 0, out.stderr + JSON.stringify(s.registry.seen.map((r) => r.path)))
    assert.deepEqual(JSON.parse(out.stdout), JSON.parse(MANIFEST))
    const sent = s.registry.seen.filter((r) => r.credentials !== null).map((r) => r.credentials)
    assert.ok(sent.length > 0)
    assert.deepEqual(new Set(sent), new Set([`oauth2:${s.issued.access_token}`]))
  })

  test('a registry the user did not configure: docker gets "not found" and the registry never sees a token', async (t) => {
    const s = await dockerSession(t, false)
    if (!s) return
    const out = await runProgram(
      'docker',
      ['manifest', 'inspect', '--insecure', `${s.registry.host}/team/app:1.0`],
      s.env,
    )
    assert.notEqual(out.code, 0)
    assert.doesNotMatch(out.stderr, /error getting credentials/)
    assert.ok(s.registry.seen.length > 0)
    assert.deepEqual(
      s.registry.seen.filter((r) => r.credentials !== null),
      [],
    )
  })

  test('docker logout runs erase: it succeeds and the session stays', async (t) => {
    const s = await dockerSession(t, true)
    if (!s) return
    const before = readFileSync(s.home.tokenFile, 'utf8')
    const out = await runProgram('docker', ['logout', s.registry.host], s.env)
    assert.equal(out.code, 0, out.stderr)
    assert.match(out.stdout, /Removing login credentials/)
    assert.equal(readFileSync(s.home.tokenFile, 'utf8'), before)
  })
})
