import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test, type TestContext } from 'node:test'
import type { RawAnswer } from '../support/authgate-server/index.ts'
import { createCliHome, killAllClis, requireBuild, runCli, type CliHome } from '../support/cli.ts'
import { startOidcServer } from '../support/oidc-server.ts'
import { expiredAuthGateSession, revokeAtServer } from '../support/storm.ts'
import { obtainTokensFromOidc, readTokenEntry, sessionAccount, writeTokenFile } from '../support/tokens.ts'

/**
 * Issue 14, with real CLI processes: servers and proxies that answer errors without JSON. A refresh grant answered
 * 400/401 without a usable JSON error is the server rejecting the refresh token (exit 4, the entry cleared, never sent
 * again); 5xx and 429 stay temporary (exit 5, the entry kept); every message names the endpoint and the status.
 */

before(requireBuild)
after(killAllClis)

const REJECTIONS: Array<{ name: string; answer: RawAnswer; status: RegExp; command: string[] }> = [
  {
    name: '400 with an empty body',
    answer: { status: 400, body: '' },
    status: /answered 400 Bad Request with an empty body/,
    command: ['token'],
  },
  {
    name: '400 with HTML',
    answer: { status: 400, contentType: 'text/html', body: '<html><body><h1>400 Bad Request</h1></body></html>' },
    status: /answered 400 Bad Request: <html><body><h1>400 Bad Request<\/h1><\/body><\/html>/,
    command: ['token'],
  },
  {
    name: '401 text/plain',
    answer: { status: 401, contentType: 'text/plain', body: 'refresh token revoked' },
    status: /answered 401 Unauthorized: refresh token revoked/,
    command: ['refresh', '--force'],
  },
]

function home(t: TestContext): CliHome {
  const h = createCliHome('authgate-answers-')
  t.after(() => h.remove())
  return h
}

describe('a refresh grant answered without JSON', { timeout: 120_000 }, () => {
  for (const c of REJECTIONS) {
    test(`${c.name} (\`${c.command.join(' ')}\`): exit 4 naming the endpoint and status, the entry cleared, never sent again`, async (t) => {
      const { server, home: h, key, issued, args } = await expiredAuthGateSession(t, 'authgate-answers-')
      await revokeAtServer(server, issued.refresh_token!) // an admin revoked it: its next use is invalid_grant
      server.quirks.refreshRejection = c.answer
      const cli = (command: string[]) => runCli(args(command), { home: h })

      const first = await cli(c.command)
      assert.equal(first.code, 4, first.stderr)
      assert.equal(first.stdout, '')
      assert.match(
        first.stderr,
        RegExp(`^authgate: the server rejected the refresh token: token endpoint ${server.url}/oauth/token `),
      )
      assert.match(first.stderr, c.status)
      assert.match(first.stderr, /\n {2}→ run `authgate login`\n$/)
      assert.equal(readTokenEntry(h.tokenFile, key), undefined, 'the dead entry is still stored')
      assert.equal(server.stats.refreshGrants, 1)

      const next = await cli(['token'])
      assert.equal(next.code, 4, next.stderr)
      assert.match(next.stderr, /^authgate: not signed in to /)
      assert.equal(server.stats.refreshGrants, 1, 'the rejected refresh token was sent again')
    })
  }

  const OUTAGES: Array<{ name: string; answer: RawAnswer; status: RegExp }> = [
    {
      name: '503 with HTML',
      answer: { status: 503, contentType: 'text/html', body: '<h1>down for maintenance</h1>' },
      status: /answered 503 Service Unavailable: <h1>down for maintenance<\/h1>/,
    },
    {
      name: '429 with an empty body',
      answer: { status: 429, body: '' },
      status: /answered 429 Too Many Requests with an empty body/,
    },
  ]
  for (const c of OUTAGES) {
    test(`${c.name}: temporary, exit 5 naming the endpoint and status; the entry is kept byte for byte`, async (t) => {
      const { server, home: h, args } = await expiredAuthGateSession(t, 'authgate-answers-')
      const stored = readFileSync(h.tokenFile)
      server.quirks.tokenEndpoint = c.answer

      const r = await runCli(args(['token']), { home: h })
      assert.equal(r.code, 5, r.stderr)
      assert.match(r.stderr, RegExp(`^authgate: token endpoint ${server.url}/oauth/token `))
      assert.match(r.stderr, c.status)
      assert.deepEqual(readFileSync(h.tokenFile), stored, 'a temporary failure changed the store')
      assert.ok(server.stats.refreshGrants >= 1)
    })
  }

  test('oidc-provider behind a proxy that blanks its invalid_grant: exit 4, the entry cleared', async (t) => {
    const server = await startOidcServer({ quiet: true, quirks: { refreshRejection: { status: 400, body: '' } } })
    t.after(() => server.close())
    const h = home(t)
    const key = sessionAccount(server.url, 'cli')
    const issued = await obtainTokensFromOidc(server)
    writeTokenFile(h.tokenFile, key, issued, { expired: true })
    // Spend the refresh token elsewhere: with rotation, the stored copy is now a used one.
    const doc = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as {
      token_endpoint: string
    }
    const spent = await fetch(doc.token_endpoint, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: issued.refresh_token!,
        client_id: 'cli',
      }),
    })
    assert.equal(spent.status, 200)

    const r = await runCli(['token', '--server-url', server.url, '--client-id', 'cli', ...h.flags], { home: h })
    assert.equal(r.code, 4, r.stderr)
    assert.match(r.stderr, RegExp(`token endpoint ${server.url}/token answered 400 Bad Request with an empty body`))
    assert.equal(readTokenEntry(h.tokenFile, key), undefined)
  })
})

describe('logout when the revocation endpoint answers without JSON', { timeout: 60_000 }, () => {
  test('401 text/plain: a warning naming the endpoint and status, the local entry deleted anyway, exit 0', async (t) => {
    const { server, home: h, key, args } = await expiredAuthGateSession(t, 'authgate-answers-')
    server.quirks.revocation = { status: 401, contentType: 'text/plain', body: 'client authentication required' }

    const r = await runCli(args(['logout']), { home: h })
    assert.equal(r.code, 0, r.stderr)
    const endpoint = `revocation endpoint ${server.url}/oauth/revoke answered 401 Unauthorized: client authentication required`
    assert.ok(
      r.stderr.includes(
        `warning: could not revoke the refresh token (revocation failed: ${endpoint}); the local tokens are deleted anyway\n`,
      ),
      r.stderr,
    )
    assert.ok(
      r.stderr.includes(`warning: could not revoke the access token (revocation failed: ${endpoint})`),
      r.stderr,
    )
    assert.equal(readTokenEntry(h.tokenFile, key), undefined)
  })
})
