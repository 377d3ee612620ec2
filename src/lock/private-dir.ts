import { lstatSync, statSync, type Stats } from 'node:fs'
import { StoreError } from '../errors.ts'

export interface OwnerCheck {
  /** The user's uid; undefined checks no owner (Windows has no uids). */
  readonly uid: number | undefined
  /** Undefined: a POSIX system. */
  readonly platform?: NodeJS.Platform | undefined
}

/**
 * A directory that holds lock files or the token file must be the user's own and writable by nobody else: whoever
 * can write there can swap a lock file for a link to any file of the user's, or the token file for one they read.
 * Only the directory itself is checked, not its parents (as ssh checks ~/.ssh). A directory that does not exist yet
 * passes: authgate creates it 0700 when it needs it.
 * @throws StoreError (exit 1) naming the directory.
 */
export function checkPrivateDirectory(dir: string, owner: OwnerCheck): void {
  if (owner.platform === 'win32') return
  let stat
  try {
    // throwIfNoEntry: an absent directory is the common case on the hot path, and building the ENOENT error (its
    // stack trace) costs more than the stat itself.
    stat = statSync(dir, { throwIfNoEntry: false })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return
    throw new StoreError(`cannot check the directory ${dir}: ${(error as Error).message}`, { cause: error })
  }
  // Absent (or under a file): nothing to trust or distrust yet; creating it, 0700, reports what goes wrong.
  if (stat === undefined) return
  const problem = directoryProblem(stat, owner.uid)
  if (problem) {
    throw new StoreError(`refusing to use the directory ${dir}: ${problem}`, {
      hint: `use a directory only you can write (chmod 700 ${dir}, owned by you), or point --lock-dir / --token-file elsewhere`,
    })
  }
}

/** Why a directory may not hold locks or tokens; undefined when it may. */
function directoryProblem(stat: Stats, uid: number | undefined): string | undefined {
  if (!stat.isDirectory()) return 'it is not a directory'
  if (uid !== undefined && stat.uid !== uid) return `it belongs to uid ${stat.uid}, not to you (uid ${uid})`
  if ((stat.mode & 0o022) === 0) return undefined
  const who = [stat.mode & 0o020 ? 'its group' : '', stat.mode & 0o002 ? 'others' : ''].filter(Boolean).join(' and ')
  return `it is writable by ${who} (mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')})`
}

/** Why a lock file (already opened or merely found) may not be used; undefined when it may. */
export function lockFileProblem(stat: Stats, uid: number | undefined): string | undefined {
  if (stat.isSymbolicLink()) return 'it is a symbolic link'
  if (!stat.isFile()) return 'it is not a regular file'
  if (uid !== undefined && stat.uid !== uid) return `it belongs to uid ${stat.uid}, not to you (uid ${uid})`
  if (stat.nlink !== 1) return `it has ${stat.nlink} links (a hard link to another file)`
  return undefined
}

/**
 * The same checks as the lock opener makes, done early on a lock file that already exists, so that a planted link
 * stops the command before a refresh token is spent rather than when its answer is about to be saved.
 * @throws StoreError (exit 1) naming the lock file.
 */
export function checkExistingLockFile(path: string, owner: OwnerCheck): void {
  if (owner.platform === 'win32') return
  let stat: Stats
  try {
    stat = lstatSync(path)
  } catch {
    return // absent (created safely later), or unreadable (the opener reports it)
  }
  const problem = lockFileProblem(stat, owner.uid)
  if (problem) throw lockFileRefused(path, problem)
}

export function lockFileRefused(path: string, problem: string, cause?: unknown): StoreError {
  return new StoreError(`refusing the lock file ${path}: ${problem}`, {
    cause,
    hint: `remove ${path} if you did not put it there, and check who else can write to its directory`,
  })
}
