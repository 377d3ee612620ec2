import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createCliHome, killAllClis, requireBuild, runCli, type CliHome } from '../support/cli.ts'
import { selfSignedCertificate } from '../support/tls.ts'
import { readTokenEntry, sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * The CLI's OAuth requests go through Node's https client (src/cli/node-fetch.ts), not the global fetch: what a
 * server's certificate is worth must not change with that. A real TLS server with a certificate nobody vouches for.
 */

before(requireBuild)
after(killAllClis)

const CLIENT = 'cli-tls'
let home: CliHome
let url = ''
let handshakes = 0
let requests = 0
let cert = ''
let server: ReturnType<typeof createServer> | undefined

before(async () => {
  if (spawnSync('openssl', ['version'], { stdio: 'ignore' }).error) {
    if (process.env.CI === 'true') assert.fail('openssl not installed: apt-get install openssl')
    return
  }
  home = createCliHome('authgate-tls-')
  const tls = selfSignedCertificate(home.dir)
  cert = tls.cert
  server = createServer(tls, (_req, res) => {
    requests++
    res.writeHead(500).end()
  })
  server.on('connection', () => handshakes++)
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(() => {
  server?.closeAllConnections()
  server?.close()
  home?.remove()
})

test('a certificate nobody vouches for: exit 5 at once, not retried, nothing sent, the stored token kept', async (t) => {
  if (!server) return t.skip('openssl not installed: apt-get install openssl')
  const tokens = { access_token: 'AT-tls-0123456789', refresh_token: 'RT-tls-0123456789', token_type: 'Bearer' }
  writeTokenFile(home.tokenFile, sessionAccount(url, CLIENT), { ...tokens, expires_in: 3600 }, { expired: true })
  const before = { handshakes, requests }
  const r = await runCli(['token', '--server-url', url, '--client-id', CLIENT, ...home.flags], { home })
  assert.equal(r.code, 5, r.stderr)
  assert.equal(r.stdout, '')
  assert.match(r.stderr, /DEPTH_ZERO_SELF_SIGNED_CERT \(its TLS certificate is not trusted; not retried\)/)
  assert.match(r.stderr, /NODE_EXTRA_CA_CERTS/)
  assert.equal(handshakes - before.handshakes, 1, 'one attempt: the same certificate fails again')
  assert.equal(requests - before.requests, 0, 'no request got through')
  assert.equal(readTokenEntry(home.tokenFile, sessionAccount(url, CLIENT))?.refresh_token, 'RT-tls-0123456789')

  // Trusted through NODE_EXTRA_CA_CERTS, the same server is reached (and answers 500: retried, then exit 5).
  const ca = join(home.dir, 'ca.pem')
  writeFileSync(ca, cert)
  const trusted = await runCli(['token', '--server-url', url, '--client-id', CLIENT, ...home.flags], {
    home,
    env: { NODE_EXTRA_CA_CERTS: ca },
  })
  assert.equal(trusted.code, 5, trusted.stderr)
  assert.doesNotMatch(trusted.stderr, /certificate/)
  assert.ok(requests - before.requests >= 1, 'with the CA trusted, requests reach the server')
})
