import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli, type CliHome } from '../support/cli.ts'
import { goSdkDocument, goToken, sealGoValue, writeGoFile } from '../support/go-files.ts'
import { obtainTokensFromAuthGate } from '../support/tokens.ts'
import { keyringEnv, realKeyringSkip } from './real-keyring.ts'

/**
 * `authgate import go` with the Go SDK's secrets in a real Secret Service: the master key of its `v1:` file, and
 * token JSON kept as a keyring item. The items are written with `secret-tool` under the attributes go-keyring uses
 * (`service`, `username`), so this also proves authgate finds what the Go tools wrote, and leaves it as it was.
 */

const skip = realKeyringSkip()
const MASTER = '__authgate_master_key__'

function secretToolStore(service: string, account: string, secret: string): void {
  const r = spawnSync(
    'secret-tool',
    ['store', '--label', `Password for '${account}' on '${service}'`, 'service', service, 'username', account],
    {
      input: secret,
      encoding: 'utf8',
    },
  )
  assert.equal(r.status, 0, r.stderr)
}

function secretToolLookup(service: string, account: string): string {
  return spawnSync('secret-tool', ['lookup', 'service', service, 'username', account], { encoding: 'utf8' }).stdout
}

describe('import go with the Go SDK’s keyring', { timeout: 120_000 }, () => {
  let server: AuthGateTestServer
  /** A home of its own per test: each imports the same client's session. */
  let home: CliHome
  if (!skip) {
    before(async () => {
      requireBuild()
      server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })
    })
    after(async () => (killAllClis(), await server.close()))
  }
  const homes: CliHome[] = []
  const freshHome = () => (homes.push(createCliHome('authgate-keyring-import-')), homes.at(-1)!)
  after(() => homes.forEach((h) => h.remove()))
  const cli = (args: string[], env: Record<string, string | undefined>) =>
    runCli([...args, ...home.flags], { home, env: { ...keyringEnv, ...env } })

  /** token prints the imported token, refresh --force renews it at the server: no new sign-in. */
  async function assertUsable(env: Record<string, string>, accessToken: string): Promise<void> {
    const token = await cli(['token'], env)
    assert.equal(token.stdout, `${accessToken}\n`, token.stderr)
    const refresh = await cli(['refresh', '--force'], env)
    assert.equal(refresh.code, 0, refresh.stderr)
    const fresh = (await cli(['token'], env)).stdout.trim()
    assert.notEqual(fresh, accessToken)
    assert.ok(server.isTokenActive(fresh))
  }

  /** Real tokens sealed into an SDK `.enc` file at `path` (in a fresh home) with a new master key under `service`. */
  async function sealedSession(service: string, path: string) {
    const clientId = server.publicClientId
    const issued = await obtainTokensFromAuthGate(server)
    const key = randomBytes(32)
    secretToolStore(service, MASTER, key.toString('base64'))
    writeGoFile(path, goSdkDocument({ [clientId]: sealGoValue(JSON.stringify(goToken(clientId, issued)), key) }))
    return { issued, key, env: { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: clientId } }
  }

  test('a v1: file named by its base path, the key under authgate-oauth-cli', { skip }, async () => {
    home = freshHome()
    const base = join(home.dir, 'go', 'tokens.json')
    const { issued, key, env } = await sealedSession('authgate-oauth-cli', `${base}.enc`)
    const before = readFileSync(`${base}.enc`)

    const imported = await cli(['import', 'go', '--file', base], env)
    assert.equal(imported.code, 0, imported.stderr)
    assert.equal(imported.stdout, '')
    assert.match(imported.stderr, new RegExp(`from the file ${base}\\.enc `))
    await assertUsable(env, issued.access_token)
    assert.deepEqual(readFileSync(`${base}.enc`), before, 'the .enc file is byte for byte unchanged')
    assert.equal(secretToolLookup('authgate-oauth-cli', MASTER), key.toString('base64'), 'the master key is untouched')
  })

  test('--keyring-service: the key under the Go app’s own service; a wrong key is refused', { skip }, async () => {
    home = freshHome()
    const file = join(home.dir, 'my-go-app', 'tokens.json.enc')
    const { issued, env } = await sealedSession('my-go-app', file)

    const wrong = await cli(['import', 'go', '--file', file], env)
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /no master key in the OS keyring \(Secret Service\) opens it/)
    assert.match(wrong.stderr, /--keyring-service/)
    const imported = await cli(['import', 'go', '--file', file, '--keyring-service', 'my-go-app'], env)
    assert.equal(imported.code, 0, imported.stderr)
    await assertUsable(env, issued.access_token)
  })

  test(
    'no --file: token JSON kept directly in the keyring (service authgate, account = client id)',
    { skip },
    async () => {
      const clientId = server.publicClientId
      home = freshHome()
      const issued = await obtainTokensFromAuthGate(server)
      const item = JSON.stringify(goToken(clientId, issued))
      secretToolStore('authgate', clientId, item)
      const env = { AUTHGATE_SERVER_URL: server.url, AUTHGATE_CLIENT_ID: clientId }

      const imported = await cli(['import', 'go'], env)
      assert.equal(imported.code, 0, imported.stderr)
      assert.match(imported.stderr, /from the OS keyring \(Secret Service\), service authgate /)
      await assertUsable(env, issued.access_token)
      assert.equal(secretToolLookup('authgate', clientId), item, 'the Go item is untouched')
    },
  )
})
