/**
 * The last line of issue 15: a refresh token the server has spent, whose answer could not be saved and whose entry
 * could not be cleared either (the disk went read-only, the keyring died between the pre-flight and the save). Its
 * SHA-256 is written beside the session lock, in the lock dir, which is not the store's file system or backend, so the
 * next process refuses to send that token (a rotating server would take it for theft and revoke the whole grant).
 * Only the hash: the file holds nothing that could be used.
 */
import { constants, closeSync, existsSync, fsyncSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { sha256Hex } from '../sha256.ts'

export interface SpentMarker {
  /** Reads one small file; without a marker (always, but after such a failure) no hashing is done at all. */
  isSpent(refreshToken: string): Promise<boolean>
  mark(refreshToken: string): Promise<void>
  clear(): void
}

export function spentMarker(path: string): SpentMarker {
  return {
    async isSpent(refreshToken) {
      // Almost always absent: existsSync says so without building an ENOENT error (0.1–0.2 ms of every refresh).
      if (!existsSync(path)) return false
      let text: string
      try {
        text = readFileSync(path, 'utf8')
      } catch {
        return false
      }
      return text.trim() === sha256Hex(refreshToken)
    },
    async mark(refreshToken) {
      const line = `${sha256Hex(refreshToken)}\n`
      // Never through a link, as the lock files beside it (issue 9).
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (constants.O_NOFOLLOW ?? 0)
      const fd = openSync(path, flags, 0o600)
      try {
        writeSync(fd, line)
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
    },
    clear() {
      try {
        unlinkSync(path)
      } catch {
        // already gone
      }
    },
  }
}
