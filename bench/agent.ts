import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sessionAccount, writeTokenFile } from '../test/support/tokens.ts'
import { timedRun, type Command } from './lib/processes.ts'
import { median, percentile } from './lib/stats.ts'

/**
 * (e) Issue 17: `authgate token` through an agent (a "container" with an empty HOME and only AUTHGATE_AGENT_SOCK)
 * against the local hot path (a fresh token in the file store), alternating, medians compared. Target: agent ≤ local
 * + 2 ms.
 */

export interface AgentPathResult {
  runs: number
  localMedianMs: number
  localP90Ms: number
  agentMedianMs: number
  agentP90Ms: number
  /** agent median − local median. */
  extraMs: number
}

export async function runAgentPath(bin: string, pairs: number): Promise<AgentPathResult> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-bench-agent-'))
  const container = join(dir, 'container')
  mkdirSync(container)
  mkdirSync(join(dir, 'run'), { mode: 0o700 })
  const serverUrl = 'https://auth.example.com'
  const tokenFile = join(dir, 'tokens.json')
  const accessToken = 'a'.repeat(800)
  writeTokenFile(tokenFile, sessionAccount(serverUrl, 'bench'), {
    access_token: accessToken,
    token_type: 'Bearer',
    refresh_token: 'r'.repeat(64),
    expires_in: 3600,
  })
  const base = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    AUTHGATE_SERVER_URL: serverUrl,
    AUTHGATE_CLIENT_ID: 'bench',
  }
  const hostEnv = { ...base, HOME: dir, AUTHGATE_TOKEN_STORE: 'file', AUTHGATE_TOKEN_FILE: tokenFile }
  const socket = join(dir, 'run', 'agent.sock')
  const agent = spawn(process.execPath, [bin, 'agent', '--socket', socket], {
    env: hostEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  try {
    await new Promise<void>((ready, fail) => {
      agent.stdout.once('data', () => ready())
      agent.once('exit', (code) => fail(new Error(`agent exited ${code}`)))
    })
    const local: Command = { argv: [process.execPath, bin, 'token'], env: hostEnv, cwd: dir }
    const viaAgent: Command = {
      argv: [process.execPath, bin, 'token'],
      env: { ...base, HOME: container, AUTHGATE_AGENT_SOCK: socket },
      cwd: container,
    }
    for (let i = 0; i < 3; i++) await Promise.all([timedRun(local), timedRun(viaAgent)]) // warm up
    const localMs: number[] = []
    const agentMs: number[] = []
    for (let i = 0; i < pairs; i++) {
      for (const cmd of i % 2 === 0 ? [local, viaAgent] : [viaAgent, local]) {
        const run = await timedRun(cmd)
        if (run.code !== 0 || run.stdout !== `${accessToken}\n`) throw new Error(`agent bench: ${run.stderr}`)
        ;(cmd === local ? localMs : agentMs).push(run.ms)
      }
    }
    return {
      runs: pairs,
      localMedianMs: median(localMs),
      localP90Ms: percentile(localMs, 90),
      agentMedianMs: median(agentMs),
      agentP90Ms: percentile(agentMs, 90),
      extraMs: median(agentMs) - median(localMs),
    }
  } finally {
    agent.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
}

export function agentPathLine(r: AgentPathResult): string {
  const f = (ms: number) => `${ms.toFixed(1)} ms`
  return (
    `agent: token via the agent median ${f(r.agentMedianMs)} (p90 ${f(r.agentP90Ms)}) vs local hot path median ` +
    `${f(r.localMedianMs)} (p90 ${f(r.localP90Ms)}), ${r.runs} pairs: ${r.extraMs >= 0 ? '+' : ''}${f(r.extraMs)} ` +
    `(target ≤ +2 ms: ${r.extraMs <= 2 ? 'met' : 'NOT met'})`
  )
}
