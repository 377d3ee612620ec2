import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { BIN, killAllClis, requireBuild, runCli } from '../support/cli.ts'
import { execCredentialProblems } from '../support/exec-credential.ts'
import { startOidcServer, type OidcTestServer } from '../support/oidc-server.ts'
import { startResourceServer, viaAuthGateTokenInfo } from '../support/resource-server.ts'
import { selfSignedCertificate } from '../support/tls.ts'
import { runProgram as run, signedIn } from '../support/signed-in.ts'
import { obtainTokensFromAuthGate, obtainTokensFromOidc } from '../support/tokens.ts'

/**
 * The helpers driven by the real programs: `git credential fill` with authgate as its helper, and `kubectl` with
 * authgate as its exec credential plugin, talking to a resource server that checks every token with the server.
 */

before(requireBuild)
after(killAllClis)

/** `git credential fill` with nothing from the machine's git config, and no prompt when no helper answers. */
function gitFill(env: Record<string, string>, helperKey: string, request: string) {
  const gitEnv = {
    ...env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
  }
  return run(
    'git',
    ['-c', `${helperKey}=!"${process.execPath}" "${BIN}" credential git`, 'credential', 'fill'],
    gitEnv,
    request,
  )
}

describe('git credential fill against AuthGate', () => {
  let server: AuthGateTestServer
  before(async () => {
    server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })
  })
  after(() => server.close())

  test('credential.<url>.helper: git gets oauth2 and a valid access token for the configured host', async (t) => {
    const issued = await obtainTokensFromAuthGate(server)
    const { env } = signedIn(t, server.url, server.publicClientId, issued)
    const { host } = new URL(server.url)
    const out = await gitFill(
      env,
      `credential.${server.url}.helper`,
      `protocol=http\nhost=${host}\npath=org/repo.git\n\n`,
    )
    assert.equal(out.code, 0, out.stderr)
    const answer = Object.fromEntries(
      out.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    )
    assert.deepEqual(
      { ...answer, password: answer.password === issued.access_token },
      { protocol: 'http', host, username: 'oauth2', password: true },
    )
    assert.ok(server.isTokenActive(answer.password!))
  })

  test('an expired token is refreshed once before git gets it', async (t) => {
    const issued = await obtainTokensFromAuthGate(server)
    const { env } = signedIn(t, server.url, server.publicClientId, issued, true)
    const grants = server.stats.refreshGrants
    const out = await gitFill(
      env,
      'credential.helper',
      `protocol=http\nhost=${new URL(server.url).host}\nusername=x-access-token\n\n`,
    )
    assert.equal(out.code, 0, out.stderr)
    const password = /^password=(.+)$/m.exec(out.stdout)?.[1]
    assert.match(out.stdout, /^username=x-access-token$/m)
    assert.notEqual(password, issued.access_token)
    assert.ok(server.isTokenActive(password!))
    assert.equal(server.stats.refreshGrants - grants, 1)
  })

  test('another host: the helper stays silent and git finds no credential', async (t) => {
    const { env } = signedIn(t, server.url, server.publicClientId, await obtainTokensFromAuthGate(server))
    const out = await gitFill(env, 'credential.helper', 'protocol=https\nhost=github.com\n\n')
    assert.notEqual(out.code, 0)
    assert.doesNotMatch(out.stdout, /password=/)
    assert.match(out.stderr, /could not read Username|terminal prompts disabled/)
  })

  test('an allowed host over plain http: no answer without --allow-insecure-http, as `api` refuses', async (t) => {
    // git would send the bearer in clear text to a host off this machine.
    const { env } = signedIn(t, server.url, server.publicClientId, await obtainTokensFromAuthGate(server))
    const allowed = { ...env, AUTHGATE_ALLOW_HOSTS: 'git.example' }
    const plain = await gitFill(allowed, 'credential.helper', 'protocol=http\nhost=git.example\n\n')
    assert.notEqual(plain.code, 0)
    assert.doesNotMatch(plain.stdout, /password=/)
    const secure = await gitFill(allowed, 'credential.helper', 'protocol=https\nhost=git.example\n\n')
    assert.equal(secure.code, 0, secure.stderr)
    assert.match(secure.stdout, /^password=.+$/m)
  })

  test('git approve/reject (store/erase) are accepted and change nothing', async (t) => {
    const issued = await obtainTokensFromAuthGate(server)
    const { home, env } = signedIn(t, server.url, server.publicClientId, issued)
    const request = `protocol=http\nhost=${new URL(server.url).host}\nusername=oauth2\npassword=${issued.access_token}\n\n`
    for (const op of ['approve', 'reject']) {
      const gitEnv = { ...env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' }
      const out = await run(
        'git',
        ['-c', `credential.helper=!"${process.execPath}" "${BIN}" credential git`, 'credential', op],
        gitEnv,
        request,
      )
      assert.deepEqual([out.code, out.stdout, out.stderr], [0, '', ''], op)
    }
    const token = await runCli(['token', ...home.flags], {
      home,
      env: { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: server.publicClientId },
    })
    assert.equal(token.stdout.trim(), issued.access_token)
  })
})

describe('kubectl exec credential plugin', () => {
  let server: AuthGateTestServer
  let oidc: OidcTestServer
  before(async () => {
    server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })
    oidc = await startOidcServer({ quiet: true })
  })
  after(async () => {
    await server.close()
    await oidc.close()
  })

  test('AuthGate: an ExecCredential that matches the schema, with a live token and its expiry', async (t) => {
    const issued = await obtainTokensFromAuthGate(server)
    const { home, env } = signedIn(t, server.url, server.publicClientId, issued, true)
    const out = await runCli(['credential', 'kubectl'], {
      home,
      env: {
        ...env,
        KUBERNETES_EXEC_INFO:
          '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}',
      },
    })
    assert.equal(out.code, 0, out.stderr)
    const doc = JSON.parse(out.stdout) as { status: { token: string; expirationTimestamp: string } }
    assert.deepEqual(execCredentialProblems(doc), [])
    assert.ok(server.isTokenActive(doc.status.token), 'the expired token was refreshed first')
    assert.ok(Date.parse(doc.status.expirationTimestamp) > Date.now())
  })

  test('oidc-provider: the same shape; not signed in → exit 4, stdout empty', async (t) => {
    const { home, env } = signedIn(t, oidc.url, 'cli', await obtainTokensFromOidc(oidc))
    const out = await runCli(['credential', 'kubectl'], { home, env })
    assert.equal(out.code, 0, out.stderr)
    const doc = JSON.parse(out.stdout) as { status: { token: string } }
    assert.deepEqual(execCredentialProblems(doc), [])
    assert.equal((await oidc.introspect(doc.status.token)).active, true)
    const none = await runCli(['credential', 'kubectl'], {
      home,
      env: { ...env, AUTHGATE_CLIENT_ID: 'cli-confidential' },
    })
    assert.deepEqual([none.code, none.stdout], [4, ''])
  })

  test('the real kubectl runs the plugin and sends its token to the API server', async (t) => {
    const missing = [
      ['kubectl', 'version', '--client'],
      ['openssl', 'version'],
    ]
      .filter(([cmd, ...args]) => spawnSync(cmd!, args, { stdio: 'ignore' }).error !== undefined)
      .map(([cmd]) => cmd)
    if (missing.length && process.env.CI === 'true')
      assert.fail(`${missing.join(' and ')} not installed: apt-get install kubectl openssl`)
    if (missing.length) return t.skip(`${missing.join(' and ')} not installed: apt-get install kubectl openssl`)
    const { home, env } = signedIn(t, server.url, server.publicClientId, await obtainTokensFromAuthGate(server))
    const tls = selfSignedCertificate(home.dir)
    const apiServer = await startResourceServer(viaAuthGateTokenInfo(server.url), { tls })
    t.after(() => apiServer.close())
    const kubeconfig = join(home.dir, 'kubeconfig')
    writeFileSync(kubeconfig, kubeconfigFor(apiServer.url, tls.cert, env))
    const out = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', '/api/v1/namespaces'], {
      PATH: env.PATH!,
      HOME: home.dir,
    })
    assert.equal(out.code, 0, out.stderr + JSON.stringify(apiServer.requests))
    assert.deepEqual(JSON.parse(out.stdout), { ok: true, method: 'GET', path: '/api/v1/namespaces', body: '' })
    assert.equal(apiServer.requests.at(-1)?.status, 200)
  })
})

/** The stanza the README shows, with the settings passed through the plugin's env. */
function kubeconfigFor(apiUrl: string, caPem: string, env: Record<string, string>): string {
  const vars = [
    'AUTHGATE_SERVER_URL',
    'AUTHGATE_CLIENT_ID',
    'AUTHGATE_TOKEN_STORE',
    'AUTHGATE_TOKEN_FILE',
    'AUTHGATE_LOCK_DIR',
  ]
  return `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${apiUrl}
    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}
contexts:
- name: test
  context: { cluster: test, user: authgate }
current-context: test
users:
- name: authgate
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ${process.execPath}
      args: [${JSON.stringify(BIN)}, credential, kubectl]
      env:
${vars.map((name) => `      - { name: ${name}, value: ${JSON.stringify(env[name])} }`).join('\n')}
      interactiveMode: Never
`
}
