import { TemporaryError } from '../errors.ts'
import type { LockFile, LockHandle } from './types.ts'

interface PathState {
  writer: boolean
  readers: number
  queue: Array<{ shared: boolean; grant: () => void }>
}

/**
 * An in-process LockFile double for unit tests: shared and exclusive like the kernel lock, FIFO per path, with the
 * same timeout error. `held` lists the paths locked exclusively.
 */
export function memoryLock(): LockFile & { held: Set<string> } {
  const states = new Map<string, PathState>()
  const held = new Set<string>()
  const state = (path: string) => {
    let s = states.get(path)
    if (!s) states.set(path, (s = { writer: false, readers: 0, queue: [] }))
    return s
  }
  const free = (s: PathState, shared: boolean) => !s.writer && (shared || s.readers === 0)
  const drain = (s: PathState) => {
    while (s.queue.length > 0 && free(s, s.queue[0]!.shared)) s.queue.shift()!.grant()
  }
  const grant = (path: string, shared: boolean): LockHandle => {
    const s = state(path)
    if (shared) s.readers++
    else ((s.writer = true), held.add(path))
    let released = false
    return {
      path,
      release() {
        if (released) return
        released = true
        if (shared) s.readers--
        else ((s.writer = false), held.delete(path))
        drain(s)
      },
    }
  }
  const lock = (async (path, options) => {
    const s = state(path)
    const shared = options.shared === true
    if (s.queue.length === 0 && free(s, shared)) return grant(path, shared)
    if (options.timeoutMs <= 0) throw new TemporaryError(`timed out waiting for the lock ${path}`)
    options.onWait?.(undefined)
    return new Promise<LockHandle>((resolve) => s.queue.push({ shared, grant: () => resolve(grant(path, shared)) }))
  }) as LockFile & { held: Set<string> }
  lock.held = held
  return lock
}
