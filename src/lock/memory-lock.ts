import { TemporaryError } from '../errors.ts'
import type { LockFile, LockHandle } from './types.ts'

/** An in-process LockFile double for unit tests: FIFO per path, with the same timeout error as the kernel lock. */
export function memoryLock(): LockFile & { held: Set<string> } {
  const queues = new Map<string, Array<() => void>>()
  const held = new Set<string>()
  const grant = (path: string): LockHandle => {
    held.add(path)
    let released = false
    return {
      path,
      release() {
        if (released) return
        released = true
        held.delete(path)
        queues.get(path)?.shift()?.()
      },
    }
  }
  const lock = (async (path, options) => {
    if (!held.has(path)) return grant(path)
    if (options.timeoutMs > 0) options.onWait?.(undefined)
    return new Promise<LockHandle>((resolve, reject) => {
      const waiter = () => resolve(grant(path))
      const queue = queues.get(path) ?? []
      queue.push(waiter)
      queues.set(path, queue)
      if (options.timeoutMs <= 0) {
        queue.splice(queue.indexOf(waiter), 1)
        reject(new TemporaryError(`timed out waiting for the lock ${path}`))
      }
    })
  }) as LockFile & { held: Set<string> }
  lock.held = held
  return lock
}
