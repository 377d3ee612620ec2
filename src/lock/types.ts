/** A held lock. `release` is idempotent and never throws: a lock that cannot be released is freed at exit anyway. */
export interface LockHandle {
  readonly path: string
  release(): void
}

export interface LockOptions {
  /** Give up after this long with a TemporaryError naming the lock file and the holder's pid. */
  timeoutMs: number
  signal?: AbortSignal | undefined
}

/** Takes an exclusive lock on a file path, waiting without polling. */
export type LockFile = (path: string, options: LockOptions) => Promise<LockHandle>
