import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startAuthGateServer, type AuthGateTestServer } from '../support/authgate-server/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli, type CliHome } from '../support/cli.ts'
import { goCliDocument, goSdkDocument, goToken, writeGoFile } from '../support/go-files.ts'
import { startOidcServer, type OidcTestServer } from '../support/oidc-server.ts'
import {
  obtainTokensFromAuthGate,
  obtainTokensFromOidc,
  readTokenEntry,
  sessionAccount,
  type IssuedTokens,
} from '../support/tokens.ts'

/**
 * `authgate import go` as a process: real tokens from both test servers, written as the Go tools write them, become
 * authgate's session with no new sign-in; the Go files are only read; every refusal; and a `.env` can neither direct
 * an import nor make authgate send a Go entry's tokens anywhere.
 */

before(requireBuild)
after(killAllClis)

/** A loopback server that answers 404 to everything and keeps every request, headers and body, as text. */
async function startLoggingServer(): Promise<{ url: string; log: () => string; close: () => Promise<void> }> {
  const lines: string[] = []
  const server = createServer((req: IncomingMessage, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    req.on('end', () => {
      lines.push(`${req.method} ${req.url}\n${JSON.stringify(req.headers)}\n${body}`)
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    log: () => lines.join('\n'),
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  }
}

/** The session's entry in authgate's token file, or undefined (no file yet counts as none). */
const stored = (home: CliHome, account: string) =>
  existsSync(home.tokenFile) ? readTokenEntry(home.tokenFile, account) : undefined

/** A user with real tokens from `server`, and a loopback server that logs what an attacker would receive. */
async function hostileSetup(server: AuthGateTestServer) {
  const attacker = await startLoggingServer()
  after(() => attacker.close())
  const home = createCliHome()
  after(() => home.remove())
  return { attacker, home, clientId: server.publicClientId, issued: await obtainTokensFromAuthGate(server) }
}

const user = (serverUrl: string, clientId: string) => ({ AUTHGATE_SERVER_URL: serverUrl, AUTHGATE_CLIENT_ID: clientId })

function importGo(home: CliHome, env: Record<string, string>, args: string[] = [], cwd?: string) {
  return runCli(['import', 'go', ...args, ...home.flags], { home, env, ...(cwd ? { cwd } : {}) })
}

describe('AuthGate (rotation): a Go CLI file', () => {
  let server: AuthGateTestServer
  before(async () => (server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })))
  after(() => server.close())

  test('import, then token and refresh --force work with no new sign-in; the Go file is unchanged', async () => {
    const home = createCliHome()
    after(() => home.remove())
    const clientId = server.publicClientId
    const issued = await obtainTokensFromAuthGate(server)
    assert.ok(issued.refresh_token)
    const goFile = join(home.dir, 'project', '.authgate-tokens.json')
    writeGoFile(goFile, goCliDocument({ [clientId]: { ...goToken(clientId, issued), flow: 'device' } }))
    const before = readFileSync(goFile)
    const env = user(server.url, clientId)

    const imported = await importGo(home, env, ['--file', goFile])
    assert.equal(imported.code, 0, imported.stderr)
    assert.equal(imported.stdout, '')
    assert.match(imported.stderr, new RegExp(`Imported the Go session for client ${clientId} from the file ${goFile} `))
    assert.doesNotMatch(imported.stderr, new RegExp(`${issued.access_token}|${issued.refresh_token}`))
    assert.equal(stored(home, sessionAccount(server.url, clientId))?.access_token, issued.access_token)

    const token = await runCli(['token', ...home.flags], { home, env })
    assert.equal(token.code, 0, token.stderr)
    assert.equal(token.stdout, `${issued.access_token}\n`, 'the imported token, with no request for a new one')
    const refresh = await runCli(['refresh', '--force', ...home.flags], { home, env })
    assert.equal(refresh.code, 0, refresh.stderr)
    const after2 = await runCli(['token', ...home.flags], { home, env })
    const fresh = after2.stdout.trim()
    assert.notEqual(fresh, issued.access_token)
    assert.ok(server.isTokenActive(fresh), 'the server accepts the refreshed token')
    assert.equal(server.stats.invalidGrants, 0)
    assert.deepEqual(readFileSync(goFile), before, 'the Go file is byte for byte unchanged')
  })

  test('refusals exit 1 naming the reason; the authgate store and the Go file are left alone', async () => {
    const home = createCliHome()
    after(() => home.remove())
    const clientId = server.publicClientId
    const issued = await obtainTokensFromAuthGate(server)
    const env = user(server.url, clientId)
    const goFile = join(home.dir, 'go.json')
    const write = (entries: Record<string, Record<string, string>>) => {
      writeGoFile(goFile, goCliDocument(entries))
      return readFileSync(goFile)
    }
    const expired = { ...goToken(clientId, issued), refresh_token: '', expires_at: '2020-01-01T00:00:00Z' }
    const cases: Array<{ entries: Record<string, Record<string, string>>; stderr: RegExp }> = [
      { entries: { other: goToken('other', issued) }, stderr: /no Go session for client id ".*" in \/.*go\.json/ },
      { entries: { [clientId]: expired }, stderr: /has expired and has no refresh token to renew it/ },
    ]
    for (const c of cases) {
      const bytes = write(c.entries)
      const r = await importGo(home, env, ['--file', goFile])
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stderr, c.stderr)
      assert.equal(r.stdout, '')
      assert.deepEqual(readFileSync(goFile), bytes)
      assert.equal(stored(home, sessionAccount(server.url, clientId)), undefined)
    }
    const bytes = write({ [clientId]: goToken(clientId, issued) })
    assert.equal((await importGo(home, env, ['--file', goFile])).code, 0)
    const again = await importGo(home, env, ['--file', goFile])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /authgate already has a session for client id .* at http:\/\/127\.0\.0\.1:\d+ \(/)
    assert.match(again.stderr, /pass --force/)
    assert.equal((await importGo(home, env, ['--file', goFile, '--force'])).code, 0)
    assert.deepEqual(readFileSync(goFile), bytes)
  })

  test('a .env naming another server cannot direct an import', async () => {
    const { attacker, home, clientId, issued } = await hostileSetup(server)
    const repo = join(home.dir, 'repo')
    mkdirSync(repo)
    writeFileSync(join(repo, '.env'), `SERVER_URL=${attacker.url}\nCLIENT_ID=${clientId}\n`)
    const goFile = join(repo, '.authgate-tokens.json')
    writeGoFile(goFile, goCliDocument({ [clientId]: goToken(clientId, issued) }))

    const onlyDotenv = await importGo(home, {}, ['--file', goFile], repo)
    assert.equal(onlyDotenv.code, 2, onlyDotenv.stderr)
    assert.match(onlyDotenv.stderr, /server URL set by you: here it comes only from a \.env file/)
    assert.equal(stored(home, sessionAccount(attacker.url, clientId)), undefined)

    const overridden = await importGo(home, user(server.url, clientId), ['--file', goFile], repo)
    assert.equal(overridden.code, 0, overridden.stderr)
    assert.equal(stored(home, sessionAccount(server.url, clientId))?.access_token, issued.access_token)
    assert.equal(stored(home, sessionAccount(attacker.url, clientId)), undefined)
    assert.equal(attacker.log(), '', 'the other server heard nothing')
  })
})

describe('oidc-provider: the Go SDK file in its default place', () => {
  let server: OidcTestServer
  before(async () => (server = await startOidcServer({ quiet: true })))
  after(() => server.close())

  test('found without --file under the user config dir; token and refresh --force work; the file is unchanged', async () => {
    const home = createCliHome()
    after(() => home.remove())
    const issued: IssuedTokens = await obtainTokensFromOidc(server)
    assert.ok(issued.refresh_token && issued.id_token)
    const goFile = join(home.dir, 'config', 'authgate-oauth-cli', 'tokens.json')
    writeGoFile(goFile, goSdkDocument({ cli: JSON.stringify(goToken('cli', issued)) }))
    const before = readFileSync(goFile)
    const env = user(server.url, 'cli')

    const imported = await importGo(home, env)
    assert.equal(imported.code, 0, imported.stderr)
    assert.match(imported.stderr, new RegExp(`from the file ${goFile} `))
    const token = await runCli(['token', ...home.flags], { home, env })
    assert.equal(token.stdout, `${issued.access_token}\n`)
    const refresh = await runCli(['refresh', '--force', ...home.flags], { home, env })
    assert.equal(refresh.code, 0, refresh.stderr)
    const fresh = (await runCli(['token', ...home.flags], { home, env })).stdout.trim()
    assert.notEqual(fresh, issued.access_token)
    assert.equal((await server.introspect(fresh)).active, true)
    assert.equal(server.stats.invalidGrants, 0)
    assert.deepEqual(readFileSync(goFile), before)
  })
})

describe('trust: a Go CLI entry never follows a server named only in .env (issue 9, item 2)', () => {
  let server: AuthGateTestServer
  before(async () => (server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })))
  after(() => server.close())

  test('status, api, refresh --force and token send neither Go token to the .env server', async () => {
    const { attacker, home, clientId, issued } = await hostileSetup(server)
    const entry = goCliDocument({ [clientId]: goToken(clientId, issued) })
    const repo = join(home.dir, 'repo')
    // The Go CLI's file where authgate keeps its own (the token-file path) and where the Go CLI keeps it (the cwd).
    writeGoFile(home.tokenFile, entry)
    writeGoFile(join(repo, '.authgate-tokens.json'), entry)
    writeFileSync(join(repo, '.env'), `SERVER_URL=${attacker.url}\n`)
    const env = { AUTHGATE_CLIENT_ID: clientId }
    const runs: Array<[string, Awaited<ReturnType<typeof runCli>>]> = []
    for (const args of [['status'], ['api', '/user'], ['refresh', '--force'], ['token']]) {
      runs.push([args.join(' '), await runCli([...args, ...home.flags], { home, env, cwd: repo })])
    }
    const log = attacker.log()
    assert.ok(!log.includes(issued.access_token), 'the access token never reached the .env server')
    assert.ok(!log.includes(issued.refresh_token!), 'the refresh token never reached the .env server')
    for (const [command, r] of runs) {
      assert.equal(r.code, 4, `${command}: not signed in (${r.stderr})`)
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(`${issued.access_token}|${issued.refresh_token}`))
    }
    assert.equal(readFileSync(home.tokenFile, 'utf8'), entry, 'the Go entry is not rewritten with anything')
    assert.ok(server.isTokenActive(issued.access_token))
  })
})
