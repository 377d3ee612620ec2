/**
 * The store file's half of "nothing is spent that cannot be saved" (issue 15): before a grant, the lock, the re-read
 * and the temp file of the coming write are all in hand; after the answer, the write only fills bytes that exist.
 */
import { fsync, ftruncateSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { StoreError } from '../errors.ts'
import {
  closeQuietly,
  completeAtomically,
  ensureDirectory,
  reason,
  readStoreFile,
  resolveWriteTarget,
  type StoreFileLock,
  tempPathFor,
  unlinkQuietly,
} from './atomic-file.ts'

/**
 * What a reservation leaves room for beyond the current document: a first sign-in's whole token set (JWT access and ID
 * tokens from Entra ID or Okta pass 4 KiB), or a rotated set that grew. The flush of these bytes overlaps the protocol
 * code's loading, so their size costs the refresh path little (bench/preflight.ts).
 */
export const RESERVE_SLACK_BYTES = 16 * 1024

/** A save proven possible before a grant (issue 15): the store lock is held and the temp file is allocated. */
export interface FileReservation {
  /** The document under the store lock (undefined: no file yet), and the path really written. */
  readonly current: Buffer | undefined
  readonly target: string
  /**
   * The temp file's flush, still running on the thread pool when the reservation is returned: a refresh loads its
   * protocol code meanwhile and awaits this before the grant. Rejects with a StoreError naming the file.
   */
  readonly flushed: Promise<void>
  /** Fills the temp file, renames it over the target, and releases the lock; on failure the target is unchanged. */
  commit(content: string | Buffer): Promise<void>
  /** Removes the temp file and releases the lock (once the flush has settled); nothing once committed. */
  abort(): Promise<void>
}

/** Commits what `build` makes; if building fails (a key the keyring will not give), the reservation is freed. */
export async function commitBuilt(
  reserved: FileReservation,
  build: () => Promise<string | Buffer> | string | Buffer,
): Promise<void> {
  let content: string | Buffer
  try {
    content = await build()
  } catch (error) {
    await reserved.abort()
    throw error
  }
  await reserved.commit(content)
}

/**
 * Takes the store lock, re-reads, and creates the temp file that `commit` will fill and rename, written to the
 * current size plus RESERVE_SLACK_BYTES and flushed: once that succeeds, writing the new document over those bytes
 * needs no new blocks, so a full disk, a read-only mount or a directory we cannot write shows up here, before the
 * grant is sent, and not after the server has spent the refresh token. The write fails at once on a full disk or a
 * quota (ext4, XFS, btrfs and tmpfs reserve blocks as they are written); the flush, which catches what only shows on
 * the way to the device (an NFS server out of space, EIO), runs on the thread pool: `flushed` is its outcome.
 */
export async function reserveStoreFile(path: string, lock: StoreFileLock): Promise<FileReservation> {
  const target = resolveWriteTarget(path)
  ensureDirectory(dirname(target))
  const held = await lock.lockFile(`${target}.lock`, { timeoutMs: lock.lockTimeoutMs })
  let temp: { path: string; fd: number; flushed: Promise<void> } | undefined
  try {
    removeStaleTemps(target)
    const current = readStoreFile(target)
    temp = createReserved(target, (current?.length ?? 0) + RESERVE_SLACK_BYTES)
    return reservation(current, target, temp, held)
  } catch (error) {
    if (temp !== undefined) {
      closeQuietly(temp.fd)
      unlinkQuietly(temp.path)
    }
    held.release()
    throw error
  }
}

function reservation(
  current: Buffer | undefined,
  target: string,
  temp: { path: string; fd: number; flushed: Promise<void> },
  held: { release(): void },
): FileReservation {
  let open = true
  // The descriptor stays open until the flush on the thread pool is done with it.
  const settled = temp.flushed.then(
    () => {},
    () => {},
  )
  return {
    current,
    target,
    flushed: temp.flushed,
    async commit(content) {
      if (!open) throw new TypeError('a reservation is used once')
      open = false
      try {
        await temp.flushed
      } catch (error) {
        closeQuietly(temp.fd)
        unlinkQuietly(temp.path)
        held.release()
        throw error
      }
      try {
        fillAndRename(temp.fd, temp.path, target, content) // closes and removes the temp file if it fails
      } finally {
        held.release()
      }
    },
    async abort() {
      if (!open) return
      open = false
      await settled
      closeQuietly(temp.fd)
      unlinkQuietly(temp.path)
      held.release()
    },
  }
}

/**
 * Every writer holds the store lock while its temp file exists, so one found by a holder of the lock was left by a
 * process that died (killed during the grant it reserved for): it is removed, or such files would pile up.
 */
function removeStaleTemps(target: string): void {
  const prefix = `.${basename(target)}.`
  let names: string[]
  try {
    names = readdirSync(dirname(target))
  } catch {
    return
  }
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) unlinkQuietly(join(dirname(target), name))
  }
}

function createReserved(target: string, bytes: number): { path: string; fd: number; flushed: Promise<void> } {
  const path = tempPathFor(target)
  let fd: number | undefined
  try {
    fd = openSync(path, 'wx', 0o600)
    writeFileSync(fd, Buffer.alloc(bytes))
  } catch (error) {
    if (fd !== undefined) closeQuietly(fd)
    unlinkQuietly(path)
    throw preparing(target, error)
  }
  // Only the flush goes to the thread pool, issued now: a write there would need the main thread back to issue the
  // flush after it, and the main thread is busy loading the protocol code (measured: the flush then overlaps nothing).
  const flushed = new Promise<void>((resolve, reject) =>
    fsync(fd, (error) => (error ? reject(preparing(target, error)) : resolve())),
  )
  flushed.catch(() => {}) // awaited by the grant, or settled by abort: never an unhandled rejection
  return { path, fd, flushed }
}

function preparing(target: string, error: unknown): StoreError {
  return new StoreError(`cannot prepare the token store ${target}: ${reason(error)}`, { cause: error })
}

/** Writes `content` over the reserved bytes, cuts the file to its length, and renames it over the target. */
function fillAndRename(fd: number, temp: string, target: string, content: string | Buffer): void {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content
  completeAtomically(fd, temp, target, () => {
    writeAt(fd, bytes)
    ftruncateSync(fd, bytes.length)
  })
}

function writeAt(fd: number, bytes: Buffer): void {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, done)
}
