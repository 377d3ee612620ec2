// `npm run demo`: the program's main job, end to end, against an embedded server on 127.0.0.1. Nothing leaves this
// machine and nothing touches your real tokens: settings, tokens and locks live in a temp directory.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startOidcServer } from '../test/support/oidc-server.ts'

const BIN = new URL('../bin/authgate.js', import.meta.url).pathname
const ACCESS_TOKEN_SECONDS = 4
const PROCESSES = 50
const browser = process.argv.includes('--browser')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function authgate(args: string[], env: NodeJS.ProcessEnv, onStderr?: (line: string) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c: Buffer) => {
      stderr += c
      for (const line of c.toString().split('\n')) if (line.trim()) onStderr?.(line)
    })
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const say = (text = '') => console.log(text)

/** oidc-provider warns that its in-memory store and dev keys are for development: true, and exactly what a demo is. */
async function quietly<T>(start: () => Promise<T>): Promise<T> {
  const warn = console.warn
  console.warn = (...args: unknown[]) => (String(args[0]).includes('development-only') ? undefined : warn(...args))
  try {
    return await start()
  } finally {
    console.warn = warn
  }
}
const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-demo-'))
  const server = await quietly(() =>
    startOidcServer({
      accessTokenTtlSeconds: ACCESS_TOKEN_SECONDS,
      autoApproveUser: browser ? undefined : 'demo',
      quiet: true,
    }),
  )
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    AUTHGATE_SERVER_URL: server.url,
    AUTHGATE_CLIENT_ID: 'cli',
    AUTHGATE_SCOPE: 'openid email profile',
    AUTHGATE_TOKEN_STORE: 'file',
    AUTHGATE_CALLBACK_PORT: '0',
  }
  try {
    say('authgate demo: sign in, let the token expire, then 50 processes ask for it at once.')
    say(`\n1. A local OAuth server is running at ${server.url}`)
    say(
      `   (oidc-provider: refresh tokens rotate, and a reused refresh token revokes the whole grant; access tokens live ${ACCESS_TOKEN_SECONDS} s)`,
    )
    say(`\n2. $ authgate login ${browser ? '--browser' : '--device'}`)
    if (!browser)
      say('   The demo server approves the device code as user "demo" the moment it is issued, standing in for you.')
    const login = await authgate(['login', browser ? '--browser' : '--device'], env, (line) => say(`    ${line}`))
    if (login.code !== 0) throw new Error(`login failed (exit ${login.code})`)

    say('\n3. $ authgate status')
    const status = await authgate(['status'], env)
    say(indent(status.stdout + status.stderr))

    say(`\n4. Waiting ${ACCESS_TOKEN_SECONDS} s for the access token to expire…`)
    await sleep(ACCESS_TOKEN_SECONDS * 1000 + 200)
    const before = { ...server.stats }

    say(`\n5. $ for i in $(seq ${PROCESSES}); do authgate token & done   # all at once, on the expired token`)
    const started = performance.now()
    const runs = await Promise.all(Array.from({ length: PROCESSES }, () => authgate(['token'], env)))
    const ms = Math.round(performance.now() - started)
    const failed = runs.filter((r) => r.code !== 0)
    const tokens = new Set(runs.filter((r) => r.code === 0).map((r) => r.stdout.trim()))
    const grants = server.stats.refreshGrants - before.refreshGrants
    const revoked = server.stats.grantsRevoked - before.grantsRevoked
    say(`    refresh grants the server saw: ${grants}`)
    say(`    processes that failed:         ${failed.length}`)
    say(`    distinct tokens printed:       ${tokens.size}`)
    say(`    grants revoked by reuse:       ${revoked}`)
    say(`    wall time:                     ${ms} ms`)
    const [token] = [...tokens]
    const active = token ? (await server.introspect(token)).active : false
    say(`    the printed token is ${active ? 'active' : 'NOT active'} at the server`)
    for (const f of failed.slice(0, 3)) say(indent(`exit ${f.code}: ${f.stderr}`))

    say('\n6. $ authgate logout')
    const logout = await authgate(['logout'], env)
    say(indent(logout.stderr || '(signed out)'))
    const after = await authgate(['token'], env)
    say(`    authgate token now exits ${after.code} (4 = sign in again)`)

    const ok = grants === 1 && failed.length === 0 && tokens.size === 1 && revoked === 0 && active && after.code === 4
    say(
      ok
        ? '\nOne refresh for fifty processes, nobody logged out. That is the job.'
        : '\nThe demo did NOT go as expected (see above).',
    )
    return ok ? 0 : 1
  } finally {
    await server.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : err}`)
    process.exit(1)
  },
)
