import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sessionAccount, writeTokenFile } from '../test/support/tokens.ts'
import { timedRun, type Command } from './lib/processes.ts'
import { median, percentile } from './lib/stats.ts'

/**
 * (b) The hot path: `authgate token` with a valid token against `node -e 0`, both in a clean environment (`env -i`
 * with PATH, HOME and the AUTHGATE_* settings: NODE_EXTRA_CA_CERTS alone adds ~30 ms to every node start). The runs
 * alternate, so a noisy neighbour slows both alike, and the medians are compared.
 */

export interface HotPathResult {
  runs: number
  tokenMedianMs: number
  tokenP90Ms: number
  nodeMedianMs: number
  nodeP90Ms: number
  ratio: number
}

export async function runHotPath(bin: string, pairs: number): Promise<HotPathResult> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-bench-hot-'))
  try {
    const serverUrl = 'https://auth.example.com'
    const tokenFile = join(dir, 'tokens.json')
    writeTokenFile(tokenFile, sessionAccount(serverUrl, 'bench'), {
      access_token: 'a'.repeat(800),
      token_type: 'Bearer',
      refresh_token: 'r'.repeat(64),
      expires_in: 3600,
      scope: 'email profile',
    })
    const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }
    const token: Command = {
      argv: [process.execPath, bin, 'token'],
      env: {
        ...base,
        AUTHGATE_SERVER_URL: serverUrl,
        AUTHGATE_CLIENT_ID: 'bench',
        AUTHGATE_TOKEN_STORE: 'file',
        AUTHGATE_TOKEN_FILE: tokenFile,
      },
      cwd: dir,
    }
    const node: Command = { argv: [process.execPath, '-e', '0'], env: base, cwd: dir }
    for (let i = 0; i < 3; i++) await Promise.all([timedRun(token), timedRun(node)]) // warm the page cache
    const tokenMs: number[] = []
    const nodeMs: number[] = []
    for (let i = 0; i < pairs; i++) {
      // Alternate which goes first, so neither always runs right after the other.
      const order = i % 2 === 0 ? [token, node] : [node, token]
      for (const cmd of order) {
        const run = await timedRun(cmd)
        if (run.code !== 0) throw new Error(`hot path: ${cmd.argv.join(' ')} failed: ${run.stderr}`)
        if (cmd === token && run.stdout !== `${'a'.repeat(800)}\n`)
          throw new Error(`hot path: unexpected output ${run.stdout.slice(0, 40)}`)
        ;(cmd === token ? tokenMs : nodeMs).push(run.ms)
      }
    }
    return {
      runs: pairs,
      tokenMedianMs: median(tokenMs),
      tokenP90Ms: percentile(tokenMs, 90),
      nodeMedianMs: median(nodeMs),
      nodeP90Ms: percentile(nodeMs, 90),
      ratio: median(tokenMs) / median(nodeMs),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
