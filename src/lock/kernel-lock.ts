import type * as childProcess from 'node:child_process'
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { platform } from 'node:os'
import { dirname, resolve } from 'node:path'
import { InterruptedError, StoreError, TemporaryError } from '../errors.ts'
import { builtin, nativeLocks, nativeLocksModulePath } from './native-binding.ts'
import { checkPrivateDirectory, lockFileProblem, lockFileRefused, type OwnerCheck } from './private-dir.ts'
import type { LockFile, LockHandle, LockOptions } from './types.ts'

export interface KernelLockDeps {
  /** Written into the lock file by the holder, so that a waiter that times out can name it. */
  readonly pid: number
  /** Must settle and drop its timer as soon as `signal` aborts: a pending timer would keep the process alive. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /** Chooses how to wait (see `startWaiter`); the running platform when absent. Tests pass both. */
  readonly platform?: NodeJS.Platform | undefined
  /**
   * How a contended wait blocks. 'process' (the default) forks a waiter that can be killed, so a library caller that
   * timed out can exit. 'thread' waits on a native thread: about 40 ms of CPU cheaper per waiter, which a storm of 100
   * CLIs on two cores feels, but a timed-out process lingers until the lock is granted; the CLI can take it because it
   * ends with process.exit.
   */
  readonly waiter?: 'process' | 'thread' | undefined
  /** The user's uid: lock files and their directory must be theirs. Undefined (Windows) checks no owner. */
  readonly uid?: number | undefined
}

type Outcome = 'acquired' | 'timeout' | 'aborted'

interface Waiter {
  readonly acquired: Promise<void>
  /** We gave up: stop waiting if we can, free the lock if it is granted anyway, and close `fd`. */
  abandon(): void
}

/** The fd that CHILD_WAITER's stdio puts the lock file on. */
const CHILD_LOCK_FD = 4
/** Runs as `node -e CHILD_WAITER <fs-native-extensions path>`, in the child: its own `process`, not ours. */
const CHILD_WAITER = `
const self = require('node:process')
try {
  const locks = require(self.argv[1])
  self.send('waiting')
  locks.waitForLockSync(${CHILD_LOCK_FD}, 0, 0, { shared: self.argv[2] === 'shared' })
  self.send('locked', () => self.exit(0))
} catch (error) {
  self.stderr.write(String((error && error.code) || error))
  self.exit(1)
}`

const native = nativeLocks
/** node:child_process loads net, streams and dgram (about 3 ms): only the process waiter needs it, not a storm's. */
const childProcesses = () => builtin<typeof childProcess>('node:child_process')

/**
 * Every lock file (the session lock, the store lock `<token file>.lock`, the login lock `<hash>.login.lock`) is
 * opened by this one LockFile, so the checks below hold for all of them.
 * A LockFile backed by a kernel advisory lock (Linux OFD lock, macOS flock, Windows LockFileEx) on a file of its own,
 * never on the data: LockFileEx locks are mandatory, so locking the token file would stop readers on Windows.
 * The OS frees the lock when the holder dies, so there is no stale-lock guessing.
 */
export function createLockFile(deps: KernelLockDeps): LockFile {
  return async (path: string, options: LockOptions): Promise<LockHandle> => {
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs < 0) {
      throw new TypeError(`timeoutMs must be a non-negative number, got ${options.timeoutMs}`)
    }
    const lockPath = resolve(path)
    const fd = openLockFile(lockPath, { uid: deps.uid, platform: deps.platform ?? platform() })
    await acquire(fd, lockPath, options, deps)
    if (!options.shared) stampHolder(fd, deps.pid) // a reader must not overwrite the writer's pid
    return lockHandle(fd, lockPath)
  }
}

/**
 * The holder writes its pid into the lock file, so a lock file that leads elsewhere would let whoever planted it have
 * us truncate a file of the user's choosing. Hence: a directory only the user can write, no symlink followed
 * (O_NOFOLLOW), and a regular file of the user's with one link (a hard link is another name for the victim).
 */
function openLockFile(lockPath: string, owner: OwnerCheck): number {
  const dir = dirname(lockPath)
  const hint = `make ${dir} writable, or point --lock-dir (session locks) or --token-file (store lock) elsewhere`
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch (error) {
    throw new StoreError(`cannot create the lock directory ${dir}: ${reason(error)}`, { cause: error, hint })
  }
  checkPrivateDirectory(dir, owner)
  let fd: number
  try {
    fd = openSync(lockPath, constants.O_RDWR | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0), 0o600)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ELOOP') throw lockFileRefused(lockPath, 'it is a symbolic link', error)
    throw new StoreError(`cannot open the lock file ${lockPath}: ${reason(error)}`, { cause: error, hint })
  }
  const problem = owner.platform === 'win32' ? undefined : lockFileProblem(fstatSync(fd), owner.uid)
  if (problem) {
    closeQuietly(fd)
    throw lockFileRefused(lockPath, problem)
  }
  return fd
}

/** Owns `fd` on failure: closes it, or leaves that to the waiter it abandons. */
async function acquire(fd: number, lockPath: string, options: LockOptions, deps: KernelLockDeps): Promise<void> {
  let waiter: Waiter | undefined
  let outcome: Outcome
  try {
    const shared = options.shared === true
    if (options.signal?.aborted) outcome = 'aborted'
    else if (native().tryLock(fd, 0, 0, { shared })) return
    else if (options.timeoutMs === 0) outcome = 'timeout'
    else {
      options.onWait?.(readHolderPid(lockPath))
      waiter = startWaiter(fd, deps.platform ?? platform(), deps.waiter ?? 'process', shared)
      outcome = await raceWaiter(waiter.acquired, options, deps)
    }
  } catch (error) {
    closeQuietly(fd)
    throw new StoreError(`cannot lock ${lockPath}: ${reason(error)}`, { cause: error })
  }
  if (outcome === 'acquired') return
  if (waiter) waiter.abandon()
  else closeQuietly(fd)
  if (outcome === 'aborted') throw new InterruptedError(`interrupted while waiting for the lock ${lockPath}`)
  throw timedOut(lockPath, options.timeoutMs)
}

/**
 * waitForLock blocks a thread in fcntl(F_OFD_SETLKW) behind a ref'd uv_async handle that nothing can cancel or unref:
 * a process that timed out would stay alive until the holder let go, forever if the holder hangs. A worker thread
 * does not help (exit joins it, and its teardown runs the blocked loop). So on POSIX a child process waits on the
 * same open file description: the lock it gets belongs to that description, so it stays ours after the child exits,
 * and giving up is a SIGKILL. Windows ties LockFileEx locks to the process that took them, so there we wait on a
 * thread and accept that a timed-out process lingers until the lock is granted (the CLI exits explicitly).
 */
function startWaiter(fd: number, os: NodeJS.Platform, mode: 'process' | 'thread', shared: boolean): Waiter {
  return os === 'win32' || mode === 'thread' ? startThreadWaiter(fd, shared) : startChildWaiter(fd, shared)
}

function startChildWaiter(fd: number, shared: boolean): Waiter {
  // fork, not spawn: it knows the node binary, and src/ never reads `process`. No execArgv: no loader to start.
  const child = childProcesses().fork(nativeLocksModulePath(), [shared ? 'shared' : 'exclusive'], {
    execArgv: ['-e', CHILD_WAITER],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc', fd],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const acquired = new Promise<void>((resolvePromise, reject) => {
    child.once('error', reject)
    // The lock belongs to the open file description, which we share: it is ours as soon as the child has it, so the
    // hand-off does not wait for the child's exit (about 4 ms of the library's hand-off).
    // 'waiting' comes first, sent before the child blocks: both sides compile their IPC code then, not on the hand-off.
    child.on('message', (message) => void (message === 'locked' && resolvePromise()))
    // 'close', not 'exit': by then stderr has been read to the end.
    child.once('close', (code, signal) =>
      code === 0 ? resolvePromise() : reject(new Error(stderr.trim() || `the lock waiter ended by ${signal ?? code}`)),
    )
  })
  const abandon = (): void => {
    acquired.catch(() => {})
    child.kill('SIGKILL')
    child.unref()
    child.channel?.unref()
    // Safe at once: the child has its own descriptor, and dies with it; a lock it just got goes with both.
    closeQuietly(fd)
  }
  return { acquired, abandon }
}

function startThreadWaiter(fd: number, shared: boolean): Waiter {
  const acquired = native().waitForLock(fd, 0, 0, { shared })
  // Not closed before the thread returns: it could lock whatever file reused the number.
  const abandon = (): void =>
    void acquired.then(
      () => releaseFd(fd),
      () => closeQuietly(fd),
    )
  return { acquired, abandon }
}

async function raceWaiter(acquired: Promise<void>, options: LockOptions, deps: KernelLockDeps): Promise<Outcome> {
  const settled = new AbortController()
  const timer = deps.sleep(options.timeoutMs, settled.signal).then(
    () => 'timeout' as const,
    () => 'timeout' as const,
  )
  const aborted = new Promise<Outcome>((resolvePromise) => {
    options.signal?.addEventListener('abort', () => resolvePromise('aborted'), { once: true, signal: settled.signal })
  })
  try {
    return await Promise.race([acquired.then(() => 'acquired' as const), timer, aborted])
  } finally {
    // Drops the timer and the abort listener, whichever way the race went.
    settled.abort()
  }
}

function timedOut(lockPath: string, timeoutMs: number): TemporaryError {
  const pid = readHolderPid(lockPath)
  const holder = pid === undefined ? 'held by another process' : `held by pid ${pid}`
  return new TemporaryError(`timed out after ${timeoutMs / 1000}s waiting for the lock ${lockPath} (${holder})`, {
    hint: 'another authgate process is using this session; try again, or raise --lock-timeout',
  })
}

/** Undefined when the holder has not written its pid yet, or the OS refuses the read (Windows locks are mandatory). */
function readHolderPid(lockPath: string): number | undefined {
  try {
    const text = readFileSync(lockPath, 'utf8').trim()
    return /^\d+$/.test(text) ? Number(text) : undefined
  } catch {
    return undefined
  }
}

/**
 * The pid only helps a waiter's message: failing to write it must not cost us the lock we hold.
 * Written over the same 11 bytes every time (right-aligned in 10 columns, any pid fits), never truncated first: on
 * ext4 a truncate and a new write free and allocate a block, 0.25 ms of every lock against 0.02 ms for an overwrite
 * in place (the store lock is in every refresh's pre-flight, issue 15). A waiter reads it with trim().
 */
function stampHolder(fd: number, pid: number): void {
  try {
    writeSync(fd, `${String(pid).padStart(10)}\n`, 0)
  } catch {
    // best effort, see above
  }
}

function lockHandle(fd: number, path: string): LockHandle {
  let held = true
  return {
    path,
    release(): void {
      if (!held) return
      held = false
      releaseFd(fd)
    },
  }
}

/** Never throws: closing the descriptor frees the lock anyway, and the OS frees it at exit. */
function releaseFd(fd: number): void {
  try {
    native().unlock(fd)
  } catch {
    // closing below releases it
  }
  closeQuietly(fd)
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // already closed: nothing left to free
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
