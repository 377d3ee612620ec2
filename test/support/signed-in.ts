import { spawn } from 'node:child_process'
import type { TestContext } from 'node:test'
import { createCliHome, type CliHome } from './cli.ts'
import { sessionAccount, writeTokenFile, type IssuedTokens } from './tokens.ts'

/**
 * A home with a signed-in session (tokens written to its file store), and the settings as environment variables, so
 * a program that runs authgate as a helper (git, kubectl, docker) passes them through untouched.
 */
export function signedIn(
  t: TestContext,
  serverUrl: string,
  clientId: string,
  tokens: IssuedTokens,
  expired = false,
): { home: CliHome; env: Record<string, string> } {
  const home = createCliHome()
  t.after(home.remove)
  writeTokenFile(home.tokenFile, sessionAccount(serverUrl, clientId), tokens, { expired })
  return {
    home,
    env: {
      ...home.env,
      AUTHGATE_SERVER_URL: serverUrl,
      AUTHGATE_CLIENT_ID: clientId,
      AUTHGATE_TOKEN_STORE: 'file',
      AUTHGATE_TOKEN_FILE: home.tokenFile,
      AUTHGATE_LOCK_DIR: home.lockDir,
    },
  }
}

/** Runs any program to the end with `input` on stdin; its exit code and output. */
export function runProgram(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  input = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { env, stdio: 'pipe' })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    child.stdin.on('error', () => {})
    child.stdin.end(input)
    child.on('error', (err) => done({ code: null, stdout, stderr: `${stderr}${err.message}` }))
    child.on('close', (code) => done({ code, stdout, stderr }))
  })
}
