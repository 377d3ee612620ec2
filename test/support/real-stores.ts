import { setTimeout as delay } from 'node:timers/promises'
import type { SessionKey } from '../../src/session-key.ts'
import type { Settings } from '../../src/config/settings.ts'
import { createLockFile } from '../../src/lock/kernel-lock.ts'
import { sessionLockPath } from '../../src/session-key.ts'
import type { SessionContext } from '../../src/session/refresh-engine.ts'
import type { LoginSaveSession } from '../../src/session/login-save.ts'
import { openBackends } from '../../src/session/stores.ts'
import type { TokenStore } from '../../src/stores/types.ts'

/** The stores as the CLI opens them (real files, kernel lock, @napi-rs/keyring), for tests that run in-process. */

/** The real sleep the CLI uses (cli/system.ts): bounds keyring calls and lock waits. */
export const sleep = (ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : {})

export const lockFile = createLockFile({ pid: process.pid, sleep })
const clock = { now: () => Date.now() }

/** The three real backends over `tokenFile`. */
export function realBackends(tokenFile: string) {
  return openBackends({ tokenFile, lockTimeoutMs: 10_000 }, { lockFile, clock, sleep, platform: process.platform })
}

/** What saveLoginTokens needs, over a real store and the real session lock. */
export function loginSession(
  settings: Pick<Settings, 'tokenStore' | 'tokenFile' | 'lockDir'>,
  key: SessionKey,
  store: TokenStore,
): LoginSaveSession {
  const context: SessionContext = {
    key,
    store,
    lockFile,
    lockPath: sessionLockPath(settings.lockDir, key),
    lockTimeoutMs: 10_000,
    refreshSkewSeconds: 60,
    clock,
    protocol: () => Promise.reject(new Error('no protocol here')),
  }
  return { settings: { ...settings, lockTimeoutMs: 10_000 }, context }
}

export const storeDeps = { sleep, platform: process.platform }
