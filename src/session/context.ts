import type { Settings } from '../config/settings.ts'
import { loginLockPath, sessionLockPath, spentMarkerPath, type SessionKey } from '../session-key.ts'
import { spentMarker } from '../stores/spent-marker.ts'
import type { TokenStore } from '../stores/types.ts'
import type { Deps } from './deps.ts'
import type { buildProtocol, ProtocolHandle } from './protocol-client.ts'
import type { SessionContext } from './refresh-engine.ts'

export type { ProtocolHandle } from './protocol-client.ts'

/** What building a session context needs of the edges: `token`'s lean start-up has just these. */
export type ContextDeps = Pick<
  Deps,
  'clock' | 'sleep' | 'fetch' | 'oauthFetch' | 'pid' | 'uid' | 'platform' | 'lockWaiter' | 'signal' | 'afterPreflight'
>

export interface ContextOptions {
  trace?: ((line: string) => void) | undefined
  /** Learns every credential a request carries, so that no message echoing it (a server's error text) prints it. */
  secret?: ((value: string | undefined) => void) | undefined
  /**
   * session/protocol-client.ts's `buildProtocol`, or a loader of it: `token`'s lean start-up gets it from the full
   * program's bundle, so that its own bundle carries no protocol code.
   */
  buildProtocol: typeof buildProtocol
  observe?: SessionContext['observe']
}

/**
 * The engine's input for one session, prepared before any lock is taken: the lock opener and its path, the
 * timeouts, and a protocol client that is loaded and built on first call only (a fresh token never loads it).
 */
export async function sessionContext(
  settings: Settings,
  key: SessionKey,
  store: TokenStore,
  deps: ContextDeps,
  options: ContextOptions,
): Promise<{ context: SessionContext; protocol: () => Promise<ProtocolHandle> }> {
  let protocol: Promise<ProtocolHandle> | undefined
  const loadProtocol = () => (protocol ??= options.buildProtocol(settings, key, deps, options))
  const context: SessionContext = {
    key,
    store,
    // A store that is its own lock (postgres: an advisory lock) says so; else the kernel lock, with its addon loaded
    // on the first lock: a fresh token takes none.
    lockFile:
      store.sessionLock?.(key) ??
      (async (path, options) => {
        const { createLockFile } = await import('../lock/kernel-lock.ts')
        const { pid, uid, sleep, platform, lockWaiter: waiter } = deps
        return createLockFile({ pid, uid, sleep, platform, waiter })(path, options)
      }),
    // A getter: the path hashes the session with node:crypto, which loads the stream modules (about 4 ms) that a
    // fresh token never needs.
    get lockPath() {
      return sessionLockPath(settings.lockDir, key)
    },
    get loginLockPath() {
      return loginLockPath(settings.lockDir, key)
    },
    machine: settings.grant === 'client_credentials' ? { scope: settings.machineScope } : undefined,
    agent: settings.agentSock === undefined ? undefined : agentSource(settings, settings.agentSock, key, deps),
    get spent() {
      return spentMarker(spentMarkerPath(settings.lockDir, key))
    },
    afterPreflight: deps.afterPreflight,
    lockTimeoutMs: settings.lockTimeoutMs,
    refreshSkewSeconds: settings.refreshSkewSeconds,
    clock: deps.clock,
    protocol: loadProtocol,
    signal: deps.signal,
    observe: options.observe,
  }
  return { context, protocol: loadProtocol }
}

/** Under `--agent-sock` the engine asks the agent, which runs steps 1–6 on its host; its client loads on first use. */
function agentSource(
  settings: Settings,
  socketPath: string,
  key: SessionKey,
  deps: ContextDeps,
): SessionContext['agent'] {
  return async (request) => {
    const { agentTokenSource } = await import('./agent-source.ts')
    return agentTokenSource(settings, socketPath, key, deps)(request)
  }
}
