import { fork } from 'node:child_process'
import type { AuthGateStats } from '../../test/support/authgate-server/index.ts'
import type { IssuedTokens } from '../../test/support/tokens.ts'

export interface ServerProcess {
  url: string
  publicClientId: string
  issued: IssuedTokens
  stats(): Promise<AuthGateStats>
  isTokenActive(token: string): Promise<boolean>
  close(): Promise<void>
}

/** Starts bench/lib/server-child.ts and waits until its server listens and has issued a session's tokens. */
export function startServerProcess(): Promise<ServerProcess> {
  const child = fork(new URL('./server-child.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  let next = 0
  const pending = new Map<number, (value: unknown) => void>()
  const ask = <T>(op: string, token?: string) =>
    new Promise<T>((resolve) => {
      const id = next++
      pending.set(id, resolve as (value: unknown) => void)
      child.send({ id, op, token })
    })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the server process exited with ${code}`)))
    child.on(
      'message',
      (msg: { id?: number; value?: unknown; ready?: Omit<ServerProcess, 'stats' | 'isTokenActive' | 'close'> }) => {
        if (msg.ready) {
          child.removeAllListeners('exit')
          resolve({
            ...msg.ready,
            stats: () => ask<AuthGateStats>('stats'),
            isTokenActive: (token) => ask<boolean>('isTokenActive', token),
            close: () => new Promise<void>((done) => (child.once('exit', () => done()), child.send({ op: 'close' }))),
          })
        } else if (msg.id !== undefined) {
          pending.get(msg.id)?.(msg.value)
          pending.delete(msg.id)
        }
      },
    )
  })
}
