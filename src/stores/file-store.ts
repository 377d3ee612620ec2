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
import type { SessionKey } from '../config/session-key.ts'
import { StoreError } from '../errors.ts'
import type { LockFile } from '../lock/types.ts'
import {
  encodeStore,
  type JsonObject,
  listSessions,
  parseStore,
  putSession,
  readSession,
  removeSession,
} from './file-codec.ts'
import type { StoredSession, TokenSet, TokenStore } from './types.ts'

export interface FileStoreOptions {
  /** Serialises read-modify-write cycles of every process on `<store file>.lock`. */
  readonly lockFile: LockFile
  readonly lockTimeoutMs: number
  /** Stamps `obtained_at` on tokens that arrive without it: a write follows the grant that produced them. */
  readonly now: () => number
}

/**
 * One JSON document holding every session (format in file-codec.ts and FORMAT.md), mode 0600 in a 0700 directory.
 * Reads take no lock: every write is a rename of a complete temp file, so a reader sees the old or the new document.
 * Writes and deletes hold the store-wide lock, so writers of different sessions never lose each other's entries.
 * A document that cannot be parsed is never overwritten.
 */
export class FileStore implements TokenStore {
  readonly kind = 'file' as const
  readonly location: string
  readonly #options: FileStoreOptions

  constructor(path: string, options: FileStoreOptions) {
    this.location = resolve(path)
    this.#options = options
  }

  async read(key: SessionKey): Promise<TokenSet | undefined> {
    const doc = loadDocument(this.location)
    return doc === undefined ? undefined : readSession(doc, key, this.location)
  }

  async write(key: SessionKey, tokens: TokenSet): Promise<void> {
    const stamped = tokens.obtainedAtMs === undefined ? { ...tokens, obtainedAtMs: this.#options.now() } : tokens
    await this.#update((doc, source) => putSession(doc, key, stamped, source))
  }

  async delete(key: SessionKey, ifRefreshToken?: string): Promise<boolean> {
    // Nothing to delete needs no lock, no directory and no lock file (logout when never signed in).
    if ((await this.read(key)) === undefined) return false
    let removed = false
    await this.#update((doc, source) => {
      const next = removeSession(doc, key, ifRefreshToken, source)
      removed = next !== undefined
      return next
    })
    return removed
  }

  async list(): Promise<StoredSession[]> {
    const doc = loadDocument(this.location)
    if (doc === undefined) return []
    return listSessions(doc, this.location).map(({ key, tokens }) => ({ key, tokens, store: this.kind }))
  }

  /** Lock, re-read, change, write atomically, unlock. `change` returns undefined when there is nothing to write. */
  async #update(change: (doc: JsonObject, source: string) => JsonObject | undefined): Promise<void> {
    const target = resolveWriteTarget(this.location)
    ensureDirectory(dirname(target))
    const lock = await this.#options.lockFile(`${target}.lock`, { timeoutMs: this.#options.lockTimeoutMs })
    try {
      const next = change(loadDocument(target) ?? {}, target)
      if (next !== undefined) writeAtomically(target, encodeStore(next))
    } finally {
      lock.release()
    }
  }
}

/** Undefined when the file does not exist (an empty store). Throws StoreError when it cannot be read or parsed. */
function loadDocument(path: string): JsonObject | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined
    throw new StoreError(`cannot read the token store ${path}: ${reason(error)}`, { cause: error })
  }
  return parseStore(text, path)
}

/**
 * Where a write lands. A symbolic link is followed to its target, and the temp file is renamed in the target's
 * directory, so the link survives (dotfile managers link these files into a repository) and the rename stays
 * within one file system. The lock sits beside the target too, so two paths to one file share one lock.
 */
function resolveWriteTarget(path: string): string {
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

function ensureDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch (error) {
    throw new StoreError(`cannot create the token store directory ${dir}: ${reason(error)}`, { cause: error })
  }
}

/** Temp file in the same directory (rename is atomic only within one file system), 0600, flushed before the rename. */
function writeAtomically(target: string, text: string): void {
  // Writers hold the store lock, and 'wx' refuses to reuse a name, so a random suffix is enough; node:crypto is not
  // imported here because it costs the read-only hot path of `authgate token` about 4 ms of start-up.
  const temp = join(dirname(target), `.${basename(target)}.${Math.random().toString(36).slice(2, 12)}.tmp`)
  let fd: number | undefined
  try {
    fd = openSync(temp, 'wx', 0o600)
    writeFileSync(fd, text)
    fsyncSync(fd)
    closeSync(fd)
    fd = undefined
    renameSync(temp, target)
  } catch (error) {
    if (fd !== undefined) closeQuietly(fd)
    unlinkQuietly(temp)
    throw new StoreError(`cannot write the token store ${target}: ${reason(error)}`, { cause: error })
  }
  syncDirectory(dirname(target))
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

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // nothing left to free
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // it was never created
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
