import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { TestContext } from 'node:test'

/** Running the real CLI (`node bin/authgate.js`) the way a person or a script does, for the login integration tests. */

export const ROOT = resolve(import.meta.dirname, '../..')
/** AUTHGATE_TEST_BIN runs the tests against another build (as test/support/cli.ts does), e.g. an old one, to see them fail. */
const BIN = process.env.AUTHGATE_TEST_BIN ?? join(ROOT, 'bin/authgate.js')

/** The bundle the bin shim loads; `npm test` builds it first. */
export function requireBuild(): void {
  assert.ok(
    existsSync(join(ROOT, 'dist/cli.cjs')),
    'dist/cli.cjs is missing: run `npm run build` first (npm test does)',
  )
}

export interface TempHome {
  dir: string
  tokenFile: string
  lockDir: string
  /** A clean environment: no SSH_*, DISPLAY or AUTHGATE_* leak in from the machine running the tests. */
  env: Record<string, string>
  /** Flags that keep every file of the test in `dir`. */
  flags: string[]
}

export function tempHome(t: TestContext): TempHome {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-login-it-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const tokenFile = join(dir, 'tokens.json')
  const lockDir = join(dir, 'locks')
  return {
    dir,
    tokenFile,
    lockDir,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      XDG_CONFIG_HOME: join(dir, 'config'),
      XDG_CACHE_HOME: join(dir, 'cache'),
    },
    flags: ['--token-store', 'file', '--token-file', tokenFile, '--lock-dir', lockDir],
  }
}

export interface CliRun {
  readonly child: ChildProcessWithoutNullStreams
  stdout(): string
  stderr(): string
  /** Resolves with the first match of `re` on stderr; rejects if the CLI exits first or after `guardMs`. */
  waitForStderr(re: RegExp, guardMs?: number): Promise<RegExpExecArray>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export function startCli(t: TestContext, args: string[], env: Record<string, string>): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: 'pipe' })
  t.after(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')))
  let out = ''
  let err = ''
  const waiters = new Set<() => void>()
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')))
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString('utf8')
    for (const w of waiters) w()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('close', (code, signal) => done({ code, signal })),
  )
  const waitForStderr = (re: RegExp, guardMs = 30_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const guard = setTimeout(
        () => finish(() => reject(new Error(`no ${re} on stderr within ${guardMs} ms:\n${err}`))),
        guardMs,
      )
      const check = () => {
        const m = re.exec(err)
        if (m) finish(() => resolve(m))
      }
      const finish = (settle: () => void) => {
        clearTimeout(guard)
        waiters.delete(check)
        settle()
      }
      waiters.add(check)
      void exited.then(() => finish(() => reject(new Error(`the CLI exited before ${re} appeared on stderr:\n${err}`))))
      check()
    })
  return { child, stdout: () => out, stderr: () => err, waitForStderr, exited }
}

/** Runs the CLI to the end and returns what it printed. */
export async function runCli(t: TestContext, args: string[], env: Record<string, string>) {
  const run = startCli(t, args, env)
  const { code } = await run.exited
  return { code, stdout: run.stdout(), stderr: run.stderr() }
}

/** The user code the device flow printed (the contract: verbatim, on stderr). */
export const USER_CODE = /check that it shows the code (\S+)|enter the code (\S+)/

export function userCodeOf(m: RegExpExecArray): string {
  return (m[1] ?? m[2])!
}

/** The authorization URL the browser flow printed on a line of its own, after the line that announces it. */
export const AUTHORIZATION_URL =
  /(?:in a browser on this machine|If it did not open, visit|on this machine, open):\n(http\S+)\n/

/** A port nobody listens on right now (tiny race with other processes; fine for tests). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((done) => server.close(() => done()))
  return port
}

/** Holds a port on 127.0.0.1 for the rest of the test. */
export async function occupyPort(t: TestContext): Promise<number> {
  const server = createServer((_req, res) => res.end('someone else'))
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  t.after(() => new Promise<void>((done) => server.close(() => done())))
  return (server.address() as AddressInfo).port
}

/** The status code of a GET, sent to 127.0.0.1 even when the URL says localhost (the listener binds IPv4 only). */
export function httpGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(
      url.replace('//localhost:', '//127.0.0.1:'),
      (res) => (res.resume(), res.on('end', () => resolve(res.statusCode ?? 0))),
    )
      .on('error', reject)
      .end()
  })
}
