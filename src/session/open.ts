import { dirname, resolve } from 'node:path'
import type { LockFile, LockHandle } from '../lock/types.ts'
import { requireSession, type Settings } from '../config/settings.ts'
import type { SessionKey } from '../config/session-key.ts'
import type { TokenStore } from '../stores/types.ts'
import type { Deps } from './deps.ts'
import type { SessionContext } from './engine.ts'
import { openStore } from './stores.ts'
import type { createProtocol } from './protocol.ts'

export type ProtocolHandle = ReturnType<typeof createProtocol>

export { loadSettings, type GlobalFlags } from '../config/load.ts'

export interface OpenSession {
  readonly settings: Settings
  readonly key: SessionKey
  readonly store: TokenStore
  readonly context: SessionContext
  /** The protocol client, loaded and built on first call. */
  protocol(): Promise<ProtocolHandle>
}

export interface OpenOptions {
  trace?: ((line: string) => void) | undefined
  /** Learns every credential a request carries, so that no message echoing it (a server's error text) prints it. */
  secret?: ((value: string | undefined) => void) | undefined
  /** Store override (login's `--token-store` move, tests). */
  store?: TokenStore | undefined
}

/** Builds the session's store, lock and (lazily) protocol client from the settings. */
export async function openSession(settings: Settings, deps: Deps, options: OpenOptions = {}): Promise<OpenSession> {
  const key = requireSession(settings)
  const agent = settings.agentSock === undefined ? undefined : await import('./agent-source.ts')
  // Under an agent nothing local is used, so there is no directory to check (a container may have none).
  if (!agent) await checkDirectories(settings, key, deps)
  const store =
    options.store ??
    (agent && settings.agentSock ? agent.agentOnlyStore(settings.agentSock) : await openStore(settings, deps))
  let protocol: Promise<ProtocolHandle> | undefined
  const loadProtocol = () => (protocol ??= buildProtocol(settings, key, deps, options))
  const [{ createLockFile, loginLockPath, sessionLockPath }, { spentMarker }] = await Promise.all([
    import('../lock/kernel-lock.ts'),
    import('../stores/spent-marker.ts'),
  ])
  const lockPath = sessionLockPath(settings.lockDir, key)
  const context: SessionContext = {
    key,
    store,
    lockFile:
      store.sessionLock?.(key) ??
      inheriting(
        deps.heldLock,
        createLockFile({
          pid: deps.pid,
          uid: deps.uid,
          sleep: deps.sleep,
          platform: deps.platform,
          waiter: deps.lockWaiter,
        }),
      ),
    lockPath,
    loginLockPath: loginLockPath(settings.lockDir, key),
    spent: spentMarker(lockPath.replace(/\.lock$/, '.spent')),
    afterPreflight: deps.afterPreflight,
    lockTimeoutMs: settings.lockTimeoutMs,
    refreshSkewSeconds: settings.refreshSkewSeconds,
    clock: deps.clock,
    protocol: loadProtocol,
    signal: deps.signal,
    machine: settings.grant === 'client_credentials' ? { scope: settings.machineScope } : undefined,
    agent: agent && settings.agentSock ? agent.agentTokenSource(settings, settings.agentSock, key, deps) : undefined,
  }
  return { settings, key, store, context, protocol: loadProtocol }
}

/**
 * Before any request to the server: a lock dir or token directory that someone else can write, or a planted lock
 * file, is refused now, not after a device code was shown or a refresh token spent (contract, "Where settings may
 * come from"). The lock opener checks again when it opens (the state may change in between).
 */
async function checkDirectories(settings: Settings, key: SessionKey, deps: Deps): Promise<void> {
  const { checkExistingLockFile, checkPrivateDirectory } = await import('../lock/private-dir.ts')
  const { sessionLockPath } = await import('../lock/kernel-lock.ts')
  const owner = { uid: deps.uid, platform: deps.platform }
  checkPrivateDirectory(resolve(settings.lockDir), owner)
  checkExistingLockFile(sessionLockPath(settings.lockDir, key), owner)
  if (settings.tokenStore === 'keyring') return
  checkPrivateDirectory(dirname(resolve(settings.tokenFile)), owner)
  // The store lock sits beside the file a write lands in: the link's target when the token file is a link.
  const { resolveWriteTarget } = await import('../stores/atomic-file.ts')
  checkExistingLockFile(`${resolveWriteTarget(resolve(settings.tokenFile))}.lock`, owner)
}

/** Hands out a lock this process already holds, once, for its own path; every other request takes the lock anew. */
function inheriting(held: LockHandle | undefined, lockFile: LockFile): LockFile {
  let spare = held
  return async (path, options) => {
    if (spare && resolve(spare.path) === resolve(path)) {
      const handle = spare
      spare = undefined
      return handle
    }
    return lockFile(path, options)
  }
}

async function buildProtocol(
  settings: Settings,
  key: SessionKey,
  deps: Deps,
  { trace, secret }: OpenOptions,
): Promise<ProtocolHandle> {
  const [{ createProtocol }, { RetryBudget }] = await Promise.all([import('./protocol.ts'), import('../oauth/http.ts')])
  return createProtocol({
    serverUrl: key.serverUrl,
    clientId: key.clientId,
    clientSecret: settings.clientSecret,
    clientAuth: settings.clientAuth,
    http: {
      fetch: deps.fetch,
      sleep: deps.sleep,
      clock: deps.clock,
      trace,
      secret,
      signal: deps.signal,
      requestTimeoutMs: settings.httpTimeoutMs,
    },
    budget: new RetryBudget(deps.clock.now()),
  })
}
