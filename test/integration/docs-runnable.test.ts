import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { before, test, type TestContext } from 'node:test'
import { BIN, createCliHome, requireBuild, ROOT } from '../support/cli.ts'
import { USER_CODE, userCodeOf } from '../support/login-cli.ts'
import { fences, manualPages, readPage, type Fence } from '../support/markdown.ts'
import { startAuthGateWithApi } from '../support/resource-server.ts'

/**
 * The code samples of README.md and docs/ marked `runnable` in their info string (```sh runnable, ```js runnable) run
 * here as a reader would run them, against the embedded AuthGate test server and a test API that asks AuthGate about
 * every token. The placeholders a reader replaces are replaced: the server, the API and the client id. A sample that
 * does not sign in itself runs after a device sign-in; every device code the CLI prints is approved as the person would.
 */

before(requireBuild)

interface Sample extends Fence {
  page: string
}

const samples: Sample[] = manualPages(ROOT).flatMap((page) =>
  fences(readPage(ROOT, page))
    .filter((f) => f.info.split(/\s+/).includes('runnable'))
    .map((f) => ({ ...f, page })),
)

/** `authgate` on PATH is this checkout's bin (`node bin/authgate.js`), as after `npm install -g`. */
function binDir(dir: string): string {
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  writeFileSync(
    join(bin, 'authgate'),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`,
  )
  chmodSync(join(bin, 'authgate'), 0o755)
  return bin
}

/** A shell line or a node program, its device codes approved as they appear. */
function run(cmd: string[], cwd: string, env: Record<string, string>, approve: (code: string) => Promise<void>) {
  const child = spawn(cmd[0], cmd.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const approvals: Promise<void>[] = []
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')))
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8')
    const codes = [...stderr.matchAll(new RegExp(USER_CODE.source, 'g'))].map((m) => userCodeOf(m))
    for (const code of codes.slice(approvals.length)) approvals.push(approve(code))
  })
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', async (code) => {
      await Promise.all(approvals)
      resolve({ code, stdout, stderr })
    }),
  )
}

async function setUp(t: TestContext) {
  const servers = await startAuthGateWithApi()
  t.after(() => servers.close())
  const home = createCliHome('authgate-docs-')
  t.after(() => home.remove())
  const env: Record<string, string> = {
    ...home.env,
    PATH: `${binDir(home.dir)}:${home.env.PATH}`,
    AUTHGATE_TOKEN_STORE: 'file',
    // A plain `authgate login` picks the device flow here on every platform, as over SSH (the README shows that run).
    SSH_CONNECTION: '203.0.113.7 50522 10.0.0.5 22',
  }
  const placeholders = (text: string) =>
    text
      .replaceAll('https://auth.example.com', servers.server.url)
      .replaceAll('https://api.example.com', servers.rs.url)
      .replaceAll('<your client id>', servers.server.publicClientId)
  const approve = async (code: string) => servers.server.approveDevice(code)
  const signIn = async () => {
    const vars = { ...env, AUTHGATE_SERVER_URL: servers.server.url, AUTHGATE_CLIENT_ID: servers.server.publicClientId }
    const login = await run(['sh', '-c', 'authgate login --device'], home.dir, vars, approve)
    assert.equal(login.code, 0, login.stderr)
    return vars
  }
  return { servers, home, env, placeholders, approve, signIn }
}

test('the manual has runnable samples: the quick start, a script using `authgate token`, the library', () => {
  const where = samples.map((s) => `${s.page} ${s.info}`)
  assert.ok(where.includes('README.md sh runnable'), where.join('\n'))
  assert.ok(
    samples.some((s) => s.info.startsWith('js') && s.page === 'docs/library.md'),
    where.join('\n'),
  )
  assert.ok(
    samples.some((s) => /\$\(authgate token\)/.test(s.body)),
    where.join('\n'),
  )
})

for (const sample of samples) {
  test(`${sample.page}:${sample.line} (${sample.info}) runs as written`, { timeout: 120_000 }, async (t) => {
    if (/\bcurl\b/.test(sample.body) && spawnSync('sh', ['-c', 'command -v curl']).status !== 0) {
      assert.notEqual(process.env.CI, 'true', 'curl is missing: apt-get install curl')
      return t.skip('needs curl: apt-get install curl')
    }
    const s = await setUp(t)
    const body = s.placeholders(sample.body)
    const isJs = sample.info.startsWith('js')
    const env = !isJs && /^authgate login\b/m.test(body) ? s.env : await s.signIn()
    const result = isJs ? await runJs(s.home.dir, body, env, s) : await runSh(body, env, s)
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`)
    assert.doesNotMatch(result.stderr, /^authgate: /m)
    const calls = s.servers.rs.requests
    if (/https:\/\/api\.example\.com|API_URL/.test(sample.body)) assert.ok(calls.length > 0, 'the API was not called')
    assert.ok(
      calls.every((r) => r.status === 200 && r.token !== undefined),
      JSON.stringify(calls),
    )
    if (/^authgate token\b/m.test(sample.body)) assert.match(result.stdout, /eyJ[\w-]+\.[\w-]+\.[\w-]+/)
  })
}

type Setup = Awaited<ReturnType<typeof setUp>>

function runSh(body: string, env: Record<string, string>, s: Setup) {
  return run(['sh', '-e', '-c', body], s.home.dir, env, s.approve)
}

/** A program in a project of its own that depends on authgate-cli (this checkout, as `npm install` would link it). */
function runJs(dir: string, body: string, env: Record<string, string>, s: Setup) {
  const project = join(dir, 'project')
  mkdirSync(join(project, 'node_modules'), { recursive: true })
  symlinkSync(ROOT, join(project, 'node_modules', 'authgate-cli'))
  writeFileSync(join(project, 'sample.mjs'), body)
  return run([process.execPath, 'sample.mjs'], project, { ...env, API_URL: s.servers.rs.url }, s.approve)
}
