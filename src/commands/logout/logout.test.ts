import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CommanderError } from 'commander'
import { freshTokens, fakeRun, SERVER, type Seen } from '../../../test/support/command-env.ts'
import { registerLogout, runLogout, type LogoutOptions } from './logout.ts'
import { parsedOptions } from '../../../test/support/parse-table.ts'

// ---- parse table: argv → options, with the run function replaced ----

const parse = (argv: string[]) =>
  parsedOptions<LogoutOptions>(argv, (p, env, capture) => registerLogout(p, env, capture))

const parseCases: Array<{ argv: string[]; want: LogoutOptions | ((err: unknown) => boolean) }> = [
  { argv: ['logout'], want: { revoke: true } },
  { argv: ['logout', '--no-revoke'], want: { revoke: false } },
  { argv: ['--json', 'logout', '--no-revoke'], want: { revoke: false } },
  { argv: ['logout', '--revoke'], want: (e) => e instanceof CommanderError },
  { argv: ['logout', 'now'], want: (e) => e instanceof CommanderError },
]

for (const c of parseCases) {
  test(`parse: authgate ${c.argv.join(' ')}`, async () => {
    if (typeof c.want === 'function') return void (await assert.rejects(parse(c.argv), c.want))
    assert.deepEqual(await parse(c.argv), c.want)
  })
}

// ---- run table: options + fake server → stdout, stderr, error, store, requests ----

type Server = (request: Request, body: string) => Response
/** AuthGate without discovery: the fixed paths; `revoke` answers /oauth/revoke. */
const authgate =
  (revoke: Server): Server =>
  (req, body) =>
    new URL(req.url).pathname.startsWith('/.well-known/')
      ? new Response('404 page not found', { status: 404 })
      : revoke(req, body)
const revokeOk = authgate(() => new Response(null, { status: 200 }))
/** A standard server: discovery names its own revocation endpoint. */
const standard: Server = (req) =>
  new URL(req.url).pathname === '/.well-known/openid-configuration'
    ? Response.json({
        issuer: SERVER,
        token_endpoint: `${SERVER}/token`,
        revocation_endpoint: `${SERVER}/token/revocation`,
      })
    : new Response(null, { status: 200 })

const revocations = (requests: Seen[]) =>
  requests
    .filter((r) => r.method === 'POST')
    .map((r) => {
      const form = new URLSearchParams(r.body)
      return `${new URL(r.url).pathname} ${form.get('token_type_hint')} ${form.get('token')}`
    })

interface RunCase {
  name: string
  options?: LogoutOptions
  seeded?: ReturnType<typeof freshTokens> | null
  server?: Server
  env?: Record<string, string>
  /** `retried`: the requests were retried (5xx), so each distinct request is compared once. */
  want: {
    revocations: string[]
    retried?: boolean
    stderr: RegExp[]
    notStderr?: RegExp[]
    forms?: (forms: URLSearchParams[]) => void
  }
}

const runCases: RunCase[] = [
  {
    name: 'revokes the refresh token, then the access token (with hints), then deletes',
    server: revokeOk,
    want: {
      revocations: ['/oauth/revoke refresh_token RT1-0123456789', '/oauth/revoke access_token AT1-0123456789'],
      stderr: [
        /^Signed out of https:\/\/as\.test \(client cli\): revoked the refresh and access tokens at the server; deleted the tokens from \/.*tokens\.json\.$/m,
      ],
    },
  },
  {
    name: 'a standard server: its discovered revocation endpoint',
    server: standard,
    want: {
      revocations: ['/token/revocation refresh_token RT1-0123456789', '/token/revocation access_token AT1-0123456789'],
      stderr: [/revoked the refresh and access tokens/],
    },
  },
  {
    name: '--no-revoke: nothing sent, the entry deleted',
    options: { revoke: false },
    server: revokeOk,
    want: { revocations: [], stderr: [/: not revoked at the server \(--no-revoke\); deleted the tokens from /] },
  },
  {
    name: 'the server fails: warns for each token, deletes anyway',
    server: authgate(() => new Response('down', { status: 503 })),
    want: {
      revocations: ['/oauth/revoke refresh_token RT1-0123456789', '/oauth/revoke access_token AT1-0123456789'],
      retried: true,
      stderr: [
        /^warning: could not revoke the refresh token \(.*503.*\); the local tokens are deleted anyway$/m,
        /^warning: could not revoke the access token /m,
        /: the server did not confirm any revocation; deleted the tokens/,
      ],
    },
  },
  {
    name: 'unsupported_token_type for the access token: one warning',
    server: authgate((_r, body) =>
      new URLSearchParams(body).get('token_type_hint') === 'access_token'
        ? Response.json({ error: 'unsupported_token_type' }, { status: 400 })
        : new Response(null, { status: 200 }),
    ),
    want: {
      revocations: ['/oauth/revoke refresh_token RT1-0123456789', '/oauth/revoke access_token AT1-0123456789'],
      stderr: [
        /^warning: could not revoke the access token \(.*unsupported_token_type.*\)/m,
        /: revoked the refresh token at the server; deleted/,
      ],
      notStderr: [/revoke the refresh token/],
    },
  },
  {
    name: 'no refresh token: only the access token',
    seeded: { ...freshTokens(), refreshToken: undefined },
    server: revokeOk,
    want: {
      revocations: ['/oauth/revoke access_token AT1-0123456789'],
      stderr: [/: revoked the access token at the server;/],
    },
  },
  {
    name: 'a confidential client authenticates (client_secret_post); the secret is never printed',
    server: standard,
    env: { AUTHGATE_CLIENT_SECRET: 'cli-secret-do-not-print' },
    want: {
      revocations: ['/token/revocation refresh_token RT1-0123456789', '/token/revocation access_token AT1-0123456789'],
      stderr: [/revoked/],
      notStderr: [/cli-secret-do-not-print/],
      forms: (forms) =>
        assert.deepEqual(
          forms.map((f) => [f.get('client_id'), f.get('client_secret')]),
          [
            ['cli', 'cli-secret-do-not-print'],
            ['cli', 'cli-secret-do-not-print'],
          ],
        ),
    },
  },
  {
    name: 'not signed in: nothing to do, no request, not an error',
    seeded: null,
    server: revokeOk,
    want: { revocations: [], stderr: [/^Not signed in to https:\/\/as\.test \(client cli\); nothing to do\.$/m] },
  },
]

for (const c of runCases) {
  test(`run: ${c.name}`, async (t) => {
    const run = fakeRun(t, { server: c.server, env: c.env })
    if (c.seeded !== null) await run.seed(c.seeded ?? freshTokens())
    await runLogout(c.options ?? { revoke: true }, run.env)
    assert.equal(run.out.stdout, '')
    const sent = revocations(run.requests)
    assert.deepEqual(c.want.retried ? [...new Set(sent)] : sent, c.want.revocations)
    for (const re of c.want.stderr) assert.match(run.out.stderr, re)
    for (const re of c.want.notStderr ?? []) assert.doesNotMatch(run.out.stderr, re)
    assert.doesNotMatch(run.out.stderr, /[AR]T1-0123456789/, 'no token on stderr')
    c.want.forms?.(run.requests.filter((r) => r.method === 'POST').map((r) => new URLSearchParams(r.body)))
    assert.equal(await run.stored(), undefined)
  })
}
