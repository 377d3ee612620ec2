import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { Redactor } from '../../cli/redact.ts'
import { UsageError } from '../../errors.ts'
import type { Deps } from '../../session/deps.ts'
import { loadSettings, openSession, type GlobalFlags } from '../../session/open.ts'
import { httpGet, occupyPort } from '../../../test/support/login-cli.ts'
import type { CommandEnv } from '../command-env.ts'
import { runLogin, type LoginOptions } from './login.ts'

const SERVER = 'https://as.test'
const SECRET = 'cli-secret-do-not-print'
const DEVICE = {
  device_code: 'd'.repeat(40),
  user_code: 'WXYZ-2345',
  verification_uri: `${SERVER}/device`,
  verification_uri_complete: `${SERVER}/device?user_code=WXYZ-2345`,
  expires_in: 1800,
  interval: 5,
}
const tokens = (name: string) => ({
  access_token: `at-${name}-0123456789`,
  token_type: 'Bearer',
  refresh_token: `rt-${name}-0123456789`,
  expires_in: 3600,
  scope: 'email profile',
})
type Answer = Record<string, unknown> & { error?: string }

interface Fake {
  deviceAnswers?: Answer[]
  browser?: 'callback' | 'fail' | 'idle'
  env?: Record<string, string>
  tty?: boolean
  /** Aborts deps.signal at the n-th sleep (Ctrl+C). */
  interruptAtSleep?: number
}

interface Seen {
  stdout: string
  stderr: string
  forms: URLSearchParams[]
  opened: string[]
}

/** An AuthGate-like server behind a fake fetch: no discovery, device flow, PKCE-checked code exchange, tokeninfo. */
function fakeServer(seen: Seen, deviceAnswers: Answer[], now: () => number) {
  const challenges = new Map<string, string>()
  const answers = [...deviceAnswers]
  const fetch = (async (url: string | URL, init?: RequestInit) => {
    const u = new URL(String(url))
    const form = new URLSearchParams(String(init?.body ?? ''))
    if (u.pathname.startsWith('/.well-known/')) return new Response('no discovery', { status: 404 })
    if (u.pathname === '/oauth/tokeninfo')
      return Response.json({ active: true, user_id: 'user-42', scope: 'email profile', exp: now() / 1000 + 3600 })
    seen.forms.push(form)
    if (u.pathname === '/oauth/device/code') return Response.json(DEVICE)
    if (form.get('grant_type') === 'authorization_code') {
      const challenge = createHash('sha256')
        .update(form.get('code_verifier') ?? '')
        .digest('base64url')
      return challenges.get(form.get('code') ?? '') === challenge
        ? Response.json(tokens('browser'))
        : Response.json({ error: 'invalid_grant' }, { status: 400 })
    }
    const a: Answer = answers.shift() ?? tokens('device')
    return Response.json(a, { status: a.error ? 400 : 200 })
  }) as typeof globalThis.fetch
  return { fetch, challenges }
}

/** A browser that follows the authorization URL straight back to the CLI's real loopback listener, or fails to start. */
function fakeBrowser(seen: Seen, how: Fake['browser'], challenges: Map<string, string>): Deps['browser'] {
  return {
    async open(url: string) {
      seen.opened.push(url)
      if (how === 'fail') throw new Error('xdg-open: no method available')
      if (how !== 'callback') return
      const q = new URL(url).searchParams
      challenges.set('code-1', q.get('code_challenge') ?? '')
      await httpGet(`${q.get('redirect_uri')}?code=code-1&state=${q.get('state')}`)
    },
  }
}

/** Fake edges around the real store and lock in a temp dir; time moves only when the code sleeps. */
function fakeDeps(t: TestContext, fake: Fake): { deps: Deps; seen: Seen; dirs: { config: string; cache: string } } {
  const root = mkdtempSync(join(tmpdir(), 'authgate-login-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const seen: Seen = { stdout: '', stderr: '', forms: [], opened: [] }
  let nowMs = 1_700_000_000_000
  let sleeps = 0
  const controller = new AbortController()
  const { fetch, challenges } = fakeServer(seen, fake.deviceAnswers ?? [], () => nowMs)
  const deps: Deps = {
    clock: { now: () => nowMs },
    async sleep(ms, signal) {
      if (++sleeps === fake.interruptAtSleep) controller.abort(new Error('SIGINT'))
      if (signal?.aborted) throw signal.reason
      nowMs += ms
    },
    fetch,
    env: { AUTHGATE_SERVER_URL: SERVER, AUTHGATE_CLIENT_ID: 'cli', ...fake.env },
    io: {
      stdout: { write: (s: string) => void (seen.stdout += s) },
      stderr: { write: (s: string) => void (seen.stderr += s) },
      stdin: undefined as unknown as NodeJS.ReadableStream,
      isStdoutTTY: false,
      isStderrTTY: fake.tty === true,
      isStdinTTY: false,
    },
    browser: fakeBrowser(seen, fake.browser, challenges),
    paths: { config: join(root, 'config'), cache: join(root, 'cache') },
    cwd: root,
    pid: 4242,
    platform: 'linux',
    signal: controller.signal,
  }
  return { deps, seen, dirs: deps.paths }
}

function commandEnv(deps: Deps, flags: GlobalFlags, json: boolean): CommandEnv {
  const redactor = new Redactor()
  return {
    deps,
    flags,
    json,
    trace: undefined,
    secret: (v) => redactor.add(v),
    say: (line) => void deps.io.stderr.write(redactor.redact(`${line}\n`)),
  }
}

interface RunCase {
  name: string
  options?: Partial<LoginOptions>
  fake?: Fake
  busyPort?: boolean
  want: {
    error?: (err: unknown) => boolean
    stderr?: RegExp[]
    stderrLines?: string[]
    notStderr?: RegExp[]
    stdout?: (out: string) => void
    saved?: { flow: string; accessToken: string } | null
    opened?: number
    forms?: (forms: URLSearchParams[]) => void
  }
}

const DESKTOP = { DISPLAY: ':0' }
const denied = (code: string) => (e: unknown) =>
  (e as { error?: string }).error === code && (e as { exitCode?: number }).exitCode === 1

const runCases: RunCase[] = [
  {
    name: '--device: the complete URL and the code verbatim, who is signed in, where the tokens are',
    options: { flow: 'device' },
    fake: { env: DESKTOP },
    want: {
      stderrLines: [
        `To sign in to ${SERVER}, open this page in a browser on any device:`,
        `${SERVER}/device?user_code=WXYZ-2345`,
        'and check that it shows the code WXYZ-2345',
        'Waiting for approval; the code expires in 30 min.',
      ],
      stderr: [
        /^Signed in to https:\/\/as\.test as user-42 \(client cli\)\. Tokens saved in \/.*\/tokens\.json \(file store\)\.$/m,
      ],
      stdout: (out) => assert.equal(out, ''),
      saved: { flow: 'device', accessToken: 'at-device-0123456789' },
      opened: 0,
    },
  },
  {
    name: '--json: the status object on stdout, never a token',
    options: { flow: 'device', json: true },
    want: {
      stdout: (out) => {
        const r = JSON.parse(out) as Record<string, unknown>
        assert.deepEqual(
          {
            signed_in: r.signed_in,
            server_url: r.server_url,
            client_id: r.client_id,
            store: r.store,
            subject: r.subject,
            has_refresh_token: r.has_refresh_token,
            verified: r.verified,
          },
          {
            signed_in: true,
            server_url: SERVER,
            client_id: 'cli',
            store: 'file',
            subject: 'user-42',
            has_refresh_token: true,
            verified: true,
          },
        )
        assert.doesNotMatch(out, /at-device|rt-device/)
      },
    },
  },
  {
    name: 'SSH without a display: device flow, and says why',
    fake: { env: { SSH_CONNECTION: '10.0.0.1 5000 10.0.0.2 22' }, browser: 'fail' },
    want: {
      stderr: [/^Using the device flow: this is an SSH session without a display\.$/m],
      saved: { flow: 'device', accessToken: 'at-device-0123456789' },
      opened: 0,
    },
  },
  {
    name: 'Linux without a display: device flow',
    fake: { env: {} },
    want: { stderr: [/^Using the device flow: there is no display/m], opened: 0 },
  },
  {
    name: 'a desktop: the browser flow, PKCE checked by the server, tokens saved',
    fake: { env: DESKTOP, browser: 'callback' },
    want: {
      stderrLines: ['Opened a browser to sign in to https://as.test. If it did not open, visit:'],
      stderr: [
        /^https:\/\/as\.test\/oauth\/authorize\?response_type=code&client_id=cli&redirect_uri=http%3A%2F%2Flocalhost%3A\d+%2Fcallback&scope=email\+profile&state=[\w-]+&code_challenge=[\w-]+&code_challenge_method=S256$/m,
      ],
      saved: { flow: 'browser', accessToken: 'at-browser-0123456789' },
      opened: 1,
    },
  },
  {
    name: '--no-open: the URL on a line of its own; no callback in time → device flow',
    options: { open: false },
    fake: { env: DESKTOP },
    want: {
      stderr: [
        /^https:\/\/as\.test\/oauth\/authorize\?response_type=code&.*$/m,
        /^No sign-in came back from the browser within 120 s; switching to the device flow\.$/m,
        /^https:\/\/as\.test\/device\?user_code=WXYZ-2345$/m,
      ],
      saved: { flow: 'device', accessToken: 'at-device-0123456789' },
      opened: 0,
    },
  },
  {
    name: 'the browser cannot be opened: URL printed, device flow at once',
    fake: { env: DESKTOP, browser: 'fail' },
    want: {
      stderr: [
        /^Could not open a browser \(xdg-open: no method available\)\. To sign in on this machine, open:$/m,
        /^https:\/\/as\.test\/oauth\/authorize\?/m,
        /^or use the code below from any device\.$/m,
        /^https:\/\/as\.test\/device\?user_code=WXYZ-2345$/m,
      ],
      saved: { flow: 'device', accessToken: 'at-device-0123456789' },
    },
  },
  {
    name: 'callback port busy: device flow, and says why',
    busyPort: true,
    fake: { env: DESKTOP, browser: 'fail' },
    want: {
      stderr: [/^Using the device flow: the callback port cannot be bound \(port \d+ on 127\.0\.0\.1 is in use\)\.$/m],
      opened: 0,
      saved: { flow: 'device', accessToken: 'at-device-0123456789' },
    },
  },
  {
    name: '--browser with a busy port: a usage error, nothing saved',
    busyPort: true,
    options: { flow: 'browser' },
    fake: { env: DESKTOP },
    want: {
      error: (e) => e instanceof UsageError && /port \d+ on 127\.0\.0\.1 is in use/.test(e.message),
      saved: null,
      opened: 0,
    },
  },
  {
    name: 'a terminal gets a live countdown, cleared at the end',
    options: { flow: 'device' },
    fake: { tty: true, deviceAnswers: [{ error: 'authorization_pending' }] },
    want: {
      stderr: [
        /\r\x1b\[2KWaiting for approval… the code expires in 30:00/,
        /\r\x1b\[2KWaiting for approval… the code expires in 29:51/,
        /\r\x1b\[2KSigned in to/,
      ],
    },
  },
  {
    name: 'plain stderr: one waiting line however long it takes',
    options: { flow: 'device' },
    fake: {
      deviceAnswers: [
        { error: 'authorization_pending' },
        { error: 'authorization_pending' },
        { error: 'authorization_pending' },
      ],
    },
    want: { stderr: [/^Waiting for approval; the code expires in 30 min\.\n(?!Waiting)/m], notStderr: [/\r/] },
  },
  {
    name: 'slow_down: polls slower and says so',
    options: { flow: 'device' },
    fake: { deviceAnswers: [{ error: 'slow_down' }] },
    want: {
      stderr: [/^The server asked to slow down; polling every 10 s\.$/m],
      saved: { flow: 'device', accessToken: 'at-device-0123456789' },
    },
  },
  {
    name: 'access_denied: exit 1, nothing saved',
    options: { flow: 'device' },
    fake: { deviceAnswers: [{ error: 'access_denied' }] },
    want: { error: denied('access_denied'), saved: null },
  },
  {
    name: 'expired_token: exit 1, nothing saved',
    options: { flow: 'device' },
    fake: { deviceAnswers: [{ error: 'authorization_pending' }, { error: 'expired_token' }] },
    want: { error: denied('expired_token'), saved: null },
  },
  {
    name: 'Ctrl+C while polling: exit 130 at once, nothing saved',
    options: { flow: 'device' },
    fake: { interruptAtSleep: 2, deviceAnswers: [{ error: 'authorization_pending' }] },
    want: { error: (e) => (e as { exitCode?: number }).exitCode === 130, saved: null },
  },
  {
    name: 'Ctrl+C while waiting for the browser: exit 130, nothing saved, no device flow',
    fake: { env: DESKTOP, browser: 'idle', interruptAtSleep: 1 },
    want: { error: (e) => (e as { exitCode?: number }).exitCode === 130, saved: null, notStderr: [/user_code/] },
  },
  {
    name: 'a confidential client: client_secret_post, and the secret never on stderr',
    options: { flow: 'device' },
    fake: { env: { AUTHGATE_CLIENT_SECRET: SECRET } },
    want: {
      notStderr: [new RegExp(SECRET)],
      forms: (forms) =>
        assert.deepEqual(
          forms.map((f) => f.get('client_secret')),
          [SECRET, SECRET],
        ),
    },
  },
  {
    name: 'a confidential client in the browser: the secret in the form of the code exchange',
    fake: { env: { ...DESKTOP, AUTHGATE_CLIENT_SECRET: SECRET }, browser: 'callback' },
    want: {
      saved: { flow: 'browser', accessToken: 'at-browser-0123456789' },
      forms: (forms) => assert.equal(forms[0]!.get('client_secret'), SECRET),
    },
  },
]

for (const c of runCases) {
  test(`run: ${c.name}`, async (t) => {
    const { deps, seen, dirs } = fakeDeps(t, c.fake ?? {})
    const port = c.busyPort ? await occupyPort(t) : 0
    const flags: GlobalFlags = {
      tokenStore: 'file',
      tokenFile: join(dirs.config, 'tokens.json'),
      lockDir: join(dirs.cache, 'locks'),
      callbackPort: String(port),
    }
    const options: LoginOptions = { flow: undefined, open: true, json: false, ...c.options }
    const run = runLogin(options, commandEnv(deps, flags, options.json))
    if (c.want.error) await assert.rejects(run, c.want.error)
    else await run
    for (const line of c.want.stderrLines ?? [])
      assert.ok(seen.stderr.split('\n').includes(line), `stderr has the line ${JSON.stringify(line)}:\n${seen.stderr}`)
    for (const re of c.want.stderr ?? []) assert.match(seen.stderr, re)
    for (const re of c.want.notStderr ?? []) assert.doesNotMatch(seen.stderr, re)
    c.want.stdout?.(seen.stdout)
    c.want.forms?.(seen.forms)
    if (c.want.opened !== undefined) assert.equal(seen.opened.length, c.want.opened)
    if (c.want.saved !== undefined) {
      const session = await openSession(loadSettings(flags, deps), { ...deps, signal: undefined })
      const stored = await session.store.read(session.key)
      assert.deepEqual(stored && { flow: stored.flow, accessToken: stored.accessToken }, c.want.saved ?? undefined)
    }
  })
}
