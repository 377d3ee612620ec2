/** A held lock. `release` is idempotent and never throws: a lock that cannot be released is freed at exit anyway. */
export interface LockHandle {
  readonly path: string
  release(): void
}

export interface LockOptions {
  /** Give up after this long with a TemporaryError naming the lock file and the holder's pid. 0 = try once, no wait. */
  timeoutMs: number
  /**
   * A shared (read) lock: any number of holders at once, none while someone holds it exclusively. Readers that only
   * re-read what a writer saved can all wake together when the writer releases, instead of one at a time.
   */
  shared?: boolean | undefined
  signal?: AbortSignal | undefined
  /**
   * Called once when the lock is taken and we are about to wait, with the holder's pid when it has stamped one: a
   * waiter that may wait for minutes (the login lock) says whom it waits for.
   */
  onWait?: ((holderPid: number | undefined) => void) | undefined
}

/** Takes an exclusive lock on a file path, waiting without polling. */
export type LockFile = (path: string, options: LockOptions) => Promise<LockHandle>
