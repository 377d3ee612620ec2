import type { Settings } from '../config/settings.ts'
import type { LockFile } from '../lock/types.ts'
import type { KeyringApi } from '../stores/keyring-client.ts'
import type { Backends } from '../stores/placement.ts'
import type { TokenStore } from '../stores/types.ts'
import type { Deps } from './deps.ts'

export interface BackendDeps {
  /** The store-wide lock of the file stores (`<file>.lock`): the kernel lock, as for sessions. */
  readonly lockFile: LockFile
  readonly clock: { now(): number }
  /** Bounds every keyring call (see stores/keyring-client.ts). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  readonly platform: NodeJS.Platform
  /** Tests only: another keyring than @napi-rs/keyring. */
  readonly keyringApi?: KeyringApi | undefined
  readonly keyringTimeoutMs?: number | undefined
}

/**
 * The backend for this session. Only the backend in use is loaded: the file store costs a JSON parse, while the
 * keyring loads a native addon and talks D-Bus, which the hot path of `authgate token` should not pay for.
 */
export async function openStore(settings: Settings, deps: Deps): Promise<TokenStore> {
  const { createLockFile } = await import('../lock/kernel-lock.ts')
  const lockFile = createLockFile({
    pid: deps.pid,
    uid: deps.uid,
    sleep: deps.sleep,
    platform: deps.platform,
    waiter: deps.lockWaiter,
  })
  const backends = await openBackends(settings, {
    lockFile,
    clock: deps.clock,
    sleep: deps.sleep,
    platform: deps.platform,
  })
  switch (settings.tokenStore) {
    case 'file':
      return backends.file
    case 'keyring':
      return backends.keyring()
    case 'encrypted':
      return backends.encrypted()
    case 'postgres': {
      const { openPostgresStore } = await import('../stores/postgres-store.ts')
      return openPostgresStore(settings, deps)
    }
    case 'auto': {
      const { AutoStore } = await import('../stores/auto-store.ts')
      return new AutoStore(backends)
    }
  }
}

/** The three backends over the settings' paths; the keyring ones (and the addon) load on first use, sharing one client. */
export async function openBackends(
  settings: Pick<Settings, 'tokenFile' | 'lockTimeoutMs'>,
  deps: BackendDeps,
): Promise<Backends> {
  const { FileStore } = await import('../stores/file-store.ts')
  const options = { lockFile: deps.lockFile, lockTimeoutMs: settings.lockTimeoutMs, now: () => deps.clock.now() }
  const once = <T>(load: () => Promise<T>) => {
    let loaded: Promise<T> | undefined
    return () => (loaded ??= load())
  }
  const client = once(async () => {
    const { KeyringClient } = await import('../stores/keyring-client.ts')
    return new KeyringClient({
      sleep: deps.sleep,
      platform: deps.platform,
      api: deps.keyringApi,
      timeoutMs: deps.keyringTimeoutMs,
    })
  })
  return {
    file: new FileStore(settings.tokenFile, options),
    keyring: once(async () => {
      const { KeyringStore } = await import('../stores/keyring-store.ts')
      return new KeyringStore(await client(), options)
    }),
    encrypted: once(async () => {
      const { EncryptedStore, encryptedStorePath } = await import('../stores/encrypted-store.ts')
      return new EncryptedStore(encryptedStorePath(settings.tokenFile), { ...options, keyring: await client() })
    }),
  }
}
