/**
 * The file mechanics that the plain and the encrypted store share: read without a lock, change under the store-wide
 * lock, and replace the file atomically. What the bytes mean is the caller's business (file-codec.ts, encrypted-store.ts).
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { platform } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { StoreError } from '../errors.ts'

/**
 * The lock this store needs, declared here as stores/ sees it (lock/ provides one; stores/ never imports lock/): an
 * exclusive lock on a path, released by `release`.
 */
export type StoreLockFile = (path: string, options: { timeoutMs: number }) => Promise<{ release(): void }>

export interface StoreFileLock {
  /** Serialises read-modify-write cycles of every process on `<store file>.lock`. */
  readonly lockFile: StoreLockFile
  readonly lockTimeoutMs: number
}

/** Undefined when the file does not exist (an empty store). Throws StoreError when it cannot be read. */
export function readStoreFile(path: string): Buffer | undefined {
  try {
    return readFileSync(path)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined
    throw new StoreError(`cannot read the token store ${path}: ${reason(error)}`, { cause: error })
  }
}

/**
 * Lock, re-read, change, write atomically, unlock. `change` gets the current bytes (undefined: no file yet) and the
 * path really written, and returns the new content, or undefined when there is nothing to write. Whatever `change`
 * throws leaves the file as it was: a store that cannot be parsed is never overwritten.
 */
export async function updateStoreFile(
  path: string,
  lock: StoreFileLock,
  change: (current: Buffer | undefined, target: string) => Promise<string | Buffer | undefined>,
): Promise<void> {
  const target = resolveWriteTarget(path)
  ensureDirectory(dirname(target))
  const held = await lock.lockFile(`${target}.lock`, { timeoutMs: lock.lockTimeoutMs })
  try {
    const next = await change(readStoreFile(target), target)
    if (next !== undefined) writeAtomically(target, next)
  } finally {
    held.release()
  }
}

/**
 * Where a write lands. A symbolic link is followed to its target, and the temp file is renamed in the target's
 * directory, so the link survives (dotfile managers link these files into a repository) and the rename stays
 * within one file system. The lock sits beside the target too, so two paths to one file share one lock.
 */
export function resolveWriteTarget(path: string): string {
  try {
    return realpathSync(path)
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') {
      throw new StoreError(`cannot resolve the token store ${path}: ${reason(error)}`, { cause: error })
    }
  }
  // The file does not exist yet, or is a dangling link: follow links by hand so the first write creates the target.
  let current = path
  for (let hops = 0; hops < 40; hops++) {
    let link: string
    try {
      link = readlinkSync(current)
    } catch {
      return realDirectory(current)
    }
    current = resolve(dirname(current), link)
  }
  throw new StoreError(`cannot resolve the token store ${path}: too many levels of symbolic links`)
}

/** A missing file in an existing directory: resolve the directory, so that both spellings of it share a lock. */
function realDirectory(path: string): string {
  try {
    return join(realpathSync(dirname(path)), basename(path))
  } catch {
    return path
  }
}

export function ensureDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch (error) {
    throw new StoreError(`cannot create the token store directory ${dir}: ${reason(error)}`, { cause: error })
  }
}

/** Temp file in the same directory (rename is atomic only within one file system), 0600, flushed before the rename. */
function writeAtomically(target: string, content: string | Buffer): void {
  const temp = tempPathFor(target)
  let fd: number
  try {
    fd = openSync(temp, 'wx', 0o600)
  } catch (error) {
    unlinkQuietly(temp)
    throw cannotWrite(target, error)
  }
  completeAtomically(fd, temp, target, () => writeFileSync(fd, content))
}

/**
 * The end of every atomic write: `fill` writes the open temp file `temp`, which is then flushed, closed and renamed
 * over `target`, and the rename made durable. On failure the temp file is removed and `target` is as it was.
 */
export function completeAtomically(fd: number, temp: string, target: string, fill: () => void): void {
  let open = true
  try {
    fill()
    fsyncSync(fd)
    open = false // closeSync frees the number even when it reports an error: never close it twice
    closeSync(fd)
    renameSync(temp, target)
  } catch (error) {
    if (open) closeQuietly(fd)
    unlinkQuietly(temp)
    throw cannotWrite(target, error)
  }
  syncDirectory(dirname(target))
}

function cannotWrite(target: string, error: unknown): StoreError {
  return new StoreError(`cannot write the token store ${target}: ${reason(error)}`, { cause: error })
}

export function tempPathFor(target: string): string {
  // Writers hold the store lock, and 'wx' refuses to reuse a name, so a random suffix is enough; node:crypto is not
  // imported here because it costs the read-only hot path of `authgate token` about 4 ms of start-up.
  return join(dirname(target), `.${basename(target)}.${Math.random().toString(36).slice(2, 12)}.tmp`)
}

/** Makes the rename itself durable. Windows cannot open a directory; its rename is durable enough. */
function syncDirectory(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // best effort, see above
  } finally {
    if (fd !== undefined) closeQuietly(fd)
  }
}

/**
 * For `status`: one message per way in which other users can reach the tokens. Empty when the file is missing,
 * and on Windows, where modes do not describe access (ACLs do).
 */
export function permissionWarnings(path: string): string[] {
  if (platform() === 'win32') return []
  const file = realPathOrSelf(resolve(path))
  const warnings: string[] = []
  for (const [what, target, wanted] of [
    ['token store', file, '600'],
    ['token store directory', dirname(file), '700'],
  ] as const) {
    const mode = modeOf(target)
    if (mode !== undefined && (mode & 0o077) !== 0) {
      const shown = (mode & 0o777).toString(8).padStart(3, '0')
      warnings.push(`the ${what} ${target} is accessible to other users (mode ${shown}): run chmod ${wanted} ${target}`)
    }
  }
  return warnings
}

/** A linked store is judged by its target and the target's directory: that is where the tokens are. */
function realPathOrSelf(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

function modeOf(path: string): number | undefined {
  try {
    return statSync(path).mode
  } catch {
    return undefined
  }
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // nothing left to free
  }
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // it was never created
  }
}

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}

export function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
