import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** The narrow part of fs-native-extensions that we use (the package ships no types). */
export interface NativeLocks {
  tryLock(fd: number, offset: number, length: number, options: { shared: boolean }): boolean
  waitForLock(fd: number, offset: number, length: number, options: { shared: boolean }): Promise<void>
  unlock(fd: number): void
}

/** The raw N-API binding of fs-native-extensions 1.5.x (its index.js is a thin wrapper over these). */
interface RawBinding {
  tryLock(fd: number, offset: number, length: number, exclusive: boolean): void
  waitForLock(fd: number, offset: number, length: number, exclusive: boolean, req: object, done: Done): unknown
  unlock(fd: number, offset: number, length: number): void
}
type Done = (this: { resolve(): void; reject(err: unknown): void }, err: unknown) => void

/** Created on first use: createRequire and import.meta.url cost about 1 ms of the hot path's start-up. */
let required: NodeJS.Require | undefined
const requireHere = (): NodeJS.Require => (required ??= createRequire(import.meta.url))
let loaded: NativeLocks | undefined

/**
 * Loaded on first use: the hot path (a fresh token) never locks, so it never loads the addon.
 * The package finds its prebuilt binary through require-addon, which costs 12–22 ms per process here, against 2 ms for
 * loading the same file directly; every waiter of a storm pays it. So the prebuilt binary for this platform is loaded
 * directly when it is where the package ships it, and the package's own loader is the fallback. The package is
 * pinned to an exact version, and the lock tests exercise whichever path runs.
 */
export function nativeLocks(): NativeLocks {
  loaded ??= loadDirect() ?? (requireHere()('fs-native-extensions') as NativeLocks)
  return loaded
}

/** A Node built-in loaded on first use rather than at start-up. */
export function builtin<T>(name: string): T {
  return requireHere()(name) as T
}

/** The path of the package's JavaScript entry: a child process that waits for a lock loads it the ordinary way. */
export function nativeLocksModulePath(): string {
  return requireHere().resolve('fs-native-extensions')
}

function loadDirect(): NativeLocks | undefined {
  const dir = dirname(requireHere().resolve('fs-native-extensions/package.json'))
  // node:os on first use too: the hot path imports this file for builtin() alone.
  const { arch, platform } = builtin<typeof import('node:os')>('node:os')
  const file = join(dir, 'prebuilds', `${platform()}-${arch()}`, 'fs-native-extensions.node')
  if (!existsSync(file)) return undefined
  const raw = requireHere()(file) as RawBinding
  return {
    tryLock(fd, offset, length, { shared }) {
      try {
        raw.tryLock(fd, offset, length, !shared)
        return true
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return false
        throw err
      }
    },
    waitForLock(fd, offset, length, { shared }) {
      return new Promise<void>((resolve, reject) => {
        // The binding's request handle must stay reachable until `done` runs, or the collector frees it under the
        // waiting thread (a segfault): keep it on the request object, which the promise's closure holds.
        const req: { resolve(): void; reject(err: unknown): void; handle?: unknown } = { resolve, reject }
        req.handle = raw.waitForLock(fd, offset, length, !shared, req, function done(err) {
          req.handle = undefined
          if (err) this.reject(err)
          else this.resolve()
        })
      })
    },
    unlock: (fd) => raw.unlock(fd, 0, 0),
  }
}
