import type { SessionKey } from '../../src/session-key.ts'
import { memoryLock } from '../../src/lock/memory-lock.ts'
import type { SessionContext } from '../../src/session/refresh-engine.ts'
import type { Protocol } from '../../src/session/protocol-types.ts'
import type { TokenStore } from '../../src/stores/types.ts'

/** An engine context over in-memory doubles (store, lock, protocol) at a fixed time, for unit tests of session/. */
export function memoryContext(
  key: SessionKey,
  nowMs: number,
  store: TokenStore,
  protocol: Protocol,
  over: Partial<SessionContext> = {},
): SessionContext {
  return {
    key,
    store,
    lockFile: memoryLock(),
    lockPath: '/locks/x.lock',
    lockTimeoutMs: 1000,
    refreshSkewSeconds: 60,
    clock: { now: () => nowMs },
    protocol: async () => protocol,
    ...over,
  }
}
