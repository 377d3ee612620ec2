/**
 * The store file's half of "nothing is spent that cannot be saved" (issue 15): before a grant, the lock, the re-read
 * and the temp file of the coming write are all in hand; after the answer, the write only fills bytes that exist.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { StoreError } from '../errors.ts'
import {
  closeQuietly,
  ensureDirectory,
  reason,
  readStoreFile,
  resolveWriteTarget,
  type StoreFileLock,
  syncDirectory,
  tempPathFor,
  unlinkQuietly,
} from './atomic-file.ts'

/** What a reservation leaves room for beyond the current document: a rotated token set is rarely this much larger. */
export const RESERVE_SLACK_BYTES = 16 * 1024

/** A save proven possible before a grant (issue 15): the store lock is held and the temp file is allocated. */
export interface FileReservation {
  /** The document under the store lock (undefined: no file yet), and the path really written. */
  readonly current: Buffer | undefined
  readonly target: string
  /** Fills the temp file, renames it over the target, and releases the lock; on failure the target is unchanged. */
  commit(content: string | Buffer): void
  /** Removes the temp file and releases the lock. */
  abort(): void
}

/**
 * Takes the store lock, re-reads, and creates the temp file that `commit` will fill and rename, written to the
 * current size plus RESERVE_SLACK_BYTES and flushed: once that succeeds, writing the new document over those bytes
 * needs no new blocks, so a full disk, a read-only mount or a directory we cannot write shows up here, before the
 * grant is sent, and not after the server has spent the refresh token.
 */
export async function reserveStoreFile(path: string, lock: StoreFileLock): Promise<FileReservation> {
  const target = resolveWriteTarget(path)
  ensureDirectory(dirname(target))
  const held = await lock.lockFile(`${target}.lock`, { timeoutMs: lock.lockTimeoutMs })
  let temp: { path: string; fd: number } | undefined
  try {
    const current = readStoreFile(target)
    temp = createReserved(target, (current?.length ?? 0) + RESERVE_SLACK_BYTES)
    const { path: tempPath, fd } = temp
    let open = true
    const finish = () => {
      if (!open) throw new TypeError('a reservation is used once')
      open = false
    }
    return {
      current,
      target,
      commit(content) {
        finish()
        try {
          fillAndRename(fd, tempPath, target, content)
        } finally {
          held.release()
        }
      },
      abort() {
        if (!open) return
        open = false
        closeQuietly(fd)
        unlinkQuietly(tempPath)
        held.release()
      },
    }
  } catch (error) {
    if (temp !== undefined) {
      closeQuietly(temp.fd)
      unlinkQuietly(temp.path)
    }
    held.release()
    throw error
  }
}

function createReserved(target: string, bytes: number): { path: string; fd: number } {
  const path = tempPathFor(target)
  let fd: number | undefined
  try {
    fd = openSync(path, 'wx', 0o600)
    writeFileSync(fd, Buffer.alloc(bytes))
    fsyncSync(fd)
    return { path, fd }
  } catch (error) {
    if (fd !== undefined) closeQuietly(fd)
    unlinkQuietly(path)
    throw new StoreError(`cannot prepare the token store ${target}: ${reason(error)}`, { cause: error })
  }
}

function fillAndRename(fd: number, temp: string, target: string, content: string | Buffer): void {
  try {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content
    writeAt(fd, bytes)
    ftruncateSync(fd, bytes.length)
    fsyncSync(fd)
    closeSync(fd)
    renameSync(temp, target)
  } catch (error) {
    closeQuietly(fd)
    unlinkQuietly(temp)
    throw new StoreError(`cannot write the token store ${target}: ${reason(error)}`, { cause: error })
  }
  syncDirectory(dirname(target))
}

function writeAt(fd: number, bytes: Buffer): void {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, done)
}
