import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import type { TestContext } from 'node:test'
import { Redactor } from '../../src/cli/redact.ts'
import type { CommandEnv } from '../../src/commands/command-env.ts'
import type { Deps } from '../../src/session/deps.ts'
import { loadSettings, openSession, type GlobalFlags } from '../../src/session/open.ts'
import type { TokenSet } from '../../src/stores/types.ts'

/**
 * The run half of a command's tests (gh's TestTokenRun): fake edges (a `Request → Response` server, streams, a clock
 * that moves only when the code sleeps) around the real file store and kernel lock in a temp dir.
 */

export const SERVER = 'https://as.test'
export const NOW = 1_700_000_000_000

/** What the fake server saw: the request and its body as text, read before the handler answers. */
export interface Seen {
  method: string
  url: string
  headers: Headers
  body: string
}

export interface FakeOptions {
  /** The whole network. Unanswered discovery is fine: a 404 means AuthGate's fixed paths. */
  server?: (request: Request, body: string) => Response | Promise<Response>
  env?: Record<string, string>
  stdin?: string
}

export interface FakeRun {
  env: CommandEnv
  deps: Deps
  flags: GlobalFlags
  out: { stdout: string; stderr: string }
  requests: Seen[]
  /** Saves tokens for the configured session (the state before the command runs). */
  seed(tokens: TokenSet): Promise<void>
  /** The configured session's entry after the command. */
  stored(): Promise<TokenSet | undefined>
}

export function fakeRun(t: TestContext, o: FakeOptions = {}): FakeRun {
  const root = mkdtempSync(join(tmpdir(), 'authgate-cmd-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const out = { stdout: '', stderr: '' }
  const requests: Seen[] = []
  let nowMs = NOW
  const deps: Deps = {
    clock: { now: () => nowMs },
    sleep: async (ms) => void (nowMs += ms),
    fetch: recordingFetch(o.server ?? (() => new Response('not found', { status: 404 })), requests),
    env: { AUTHGATE_SERVER_URL: SERVER, AUTHGATE_CLIENT_ID: 'cli', ...o.env },
    io: {
      stdout: { write: (s: string) => void (out.stdout += s) },
      stderr: { write: (s: string) => void (out.stderr += s) },
      stdin: Readable.from(o.stdin === undefined ? [] : [Buffer.from(o.stdin)]),
      isStdoutTTY: false,
      isStderrTTY: false,
      isStdinTTY: false,
    },
    browser: {
      open: async () => {
        throw new Error('no browser in command tests')
      },
    },
    paths: { config: join(root, 'config'), cache: join(root, 'cache') },
    cwd: root,
    pid: 4242,
    platform: 'linux',
  }
  const flags: GlobalFlags = { tokenStore: 'file', tokenFile: join(root, 'tokens.json'), lockDir: join(root, 'locks') }
  const redactor = new Redactor()
  const env: CommandEnv = {
    deps,
    flags,
    json: false,
    trace: undefined,
    secret: (v) => redactor.add(v),
    say: (line) => void (out.stderr += redactor.redact(`${line}\n`)),
  }
  const session = () => openSession(loadSettings(flags, deps), deps)
  return {
    env,
    deps,
    flags,
    out,
    requests,
    seed: async (tokens) => (await session()).store.write((await session()).key, tokens),
    stored: async () => {
      const s = await session()
      return s.store.read(s.key)
    },
  }
}

/** The whole network as one function; every request is recorded with its body before the server answers. */
function recordingFetch(server: NonNullable<FakeOptions['server']>, requests: Seen[]): typeof globalThis.fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init)
    const body = await request.clone().text()
    requests.push({ method: request.method, url: request.url, headers: request.headers, body })
    return server(request, body)
  }) as typeof globalThis.fetch
}

/** A token set that is valid for an hour from NOW. */
export const freshTokens = (name = '1'): TokenSet => ({
  accessToken: `AT${name}-0123456789`,
  tokenType: 'Bearer',
  refreshToken: `RT${name}-0123456789`,
  expiresAtMs: NOW + 3_600_000,
  obtainedAtMs: NOW,
  scope: 'email profile',
})

/** An AuthGate refresh answer (rotation mode: a new refresh token). */
export const grant = (name: string) =>
  Response.json({
    access_token: `AT${name}-0123456789`,
    token_type: 'Bearer',
    refresh_token: `RT${name}-0123456789`,
    expires_in: 3600,
    scope: 'email profile',
  })

/** A token endpoint that answers every grant with `grant('2')`; anything else is AuthGate's 404. */
export const refreshingServer = (req: Request) =>
  new URL(req.url).pathname === '/oauth/token' ? grant('2') : new Response('404 page not found', { status: 404 })
