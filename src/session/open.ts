import { dirname, resolve } from 'node:path'
import { requireSession, type Settings } from '../config/settings.ts'
import { sessionLockPath, type SessionKey } from '../session-key.ts'
import type { TokenStore } from '../stores/types.ts'
import { sessionContext } from './context.ts'
import type { Deps } from './deps.ts'
import { buildProtocol, type ProtocolHandle } from './protocol-client.ts'
import type { SessionContext } from './refresh-engine.ts'
import { openStore } from './stores.ts'

export type { ProtocolHandle } from './protocol-client.ts'
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
  const { context, protocol } = await sessionContext(settings, key, store, deps, {
    trace: options.trace,
    buildProtocol,
  })
  return { settings, key, store, context, protocol }
}

/**
 * Before any request to the server: a lock dir or token directory that someone else can write, or a planted lock
 * file, is refused now, not after a device code was shown or a refresh token spent (contract, "Where settings may
 * come from"). The lock opener checks again when it opens (the state may change in between).
 */
async function checkDirectories(settings: Settings, key: SessionKey, deps: Deps): Promise<void> {
  const { checkExistingLockFile, checkPrivateDirectory } = await import('../lock/private-dir.ts')
  const owner = { uid: deps.uid, platform: deps.platform }
  checkPrivateDirectory(resolve(settings.lockDir), owner)
  checkExistingLockFile(sessionLockPath(settings.lockDir, key), owner)
  if (settings.tokenStore === 'keyring') return
  checkPrivateDirectory(dirname(resolve(settings.tokenFile)), owner)
  // The store lock sits beside the file a write lands in: the link's target when the token file is a link.
  const { resolveWriteTarget } = await import('../stores/atomic-file.ts')
  checkExistingLockFile(`${resolveWriteTarget(resolve(settings.tokenFile))}.lock`, owner)
}
