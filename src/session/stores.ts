import type { Settings } from '../config/settings.ts'
import type { SessionKey } from '../config/session-key.ts'
import type { TokenStore } from '../stores/types.ts'
import type { Deps } from './deps.ts'

/**
 * The backend for this session. Only the backend in use is loaded: the file store costs a JSON parse, while the
 * keyring loads a native addon and talks D-Bus, which the hot path of `authgate token` should not pay for.
 */
export async function openStore(settings: Settings, _key: SessionKey, deps: Deps): Promise<TokenStore> {
  const [{ FileStore }, { createLockFile }] = await Promise.all([import('../stores/file-store.ts'), import('../lock/kernel-lock.ts')])
  return new FileStore(settings.tokenFile, { lockFile: createLockFile({ pid: deps.pid, sleep: deps.sleep, platform: deps.platform, waiter: deps.lockWaiter }), lockTimeoutMs: settings.lockTimeoutMs, now: () => deps.clock.now() })
}
