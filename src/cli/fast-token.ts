import { dirname, resolve } from 'node:path'
import { loadSettings } from '../config/load.ts'
import { checkPrivateDirectory } from '../lock/private-dir.ts'
import { dotenvNotice, requireSession, type Settings } from '../config/settings.ts'
import { escapeTerminal } from '../commands/terminal-text.ts'
import type { SessionKey } from '../config/session-key.ts'
import { AuthgateError } from '../errors.ts'
import { hasPeerRefreshed, isExpiring } from '../session/expiry.ts'
import type { Deps } from '../session/deps.ts'
import { FileStore } from '../stores/file-store.ts'
import type { LockHandle } from '../lock/types.ts'
import type { TokenSet } from '../stores/types.ts'
import { reportError } from './exit.ts'
import { parseTokenArgv } from './global-options.ts'
import { Redactor } from './redact.ts'

/** `code`: handled, exit with it. Otherwise the full program runs, inheriting `heldLock` when there is one. */
export interface FastOutcome {
  code?: number
  heldLock?: LockHandle
}

export type FastDeps = Pick<Deps, 'env' | 'cwd' | 'paths' | 'clock' | 'pid' | 'uid' | 'sleep'> & {
  platform?: NodeJS.Platform | undefined
  io: { stdout: { write(text: string): unknown }; stderr: { write(text: string): unknown } }
}

/**
 * `authgate token` for a file-backed session, in a bundle of its own: no commander, no protocol code. It runs in
 * shell prompts and `xargs -P` storms, so every millisecond of start-up is paid many times over.
 * It handles the two common cases: a fresh token (steps 1 of the refresh algorithm), and a stale one that a peer
 * refreshes while we wait for the session lock (steps 2–3: in a storm of N processes, N−1 end here). For everything
 * else (a refresh to do, another backend, any other error, any other command) the full program runs from the start
 * and does it properly, so both paths print the same thing.
 * @returns the exit code when it handled the command; otherwise, when it holds the session lock and the token is still
 *   stale, that lock, for the full program to refresh under. Releasing it instead would let every queued waiter in
 *   turn find the token stale, release, and start the full program: a storm of N would load it N times.
 */
export async function fastToken(argv: readonly string[], deps: FastDeps): Promise<FastOutcome> {
  const parsed = parseTokenArgv(argv)
  if (!parsed || parsed.verbose || parsed.json) return {}
  // The `.env` notice is printed only when this lane answers: otherwise the full program runs and prints it, once.
  let notice: string | undefined
  const say = (line: string) => void deps.io.stderr.write(escapeTerminal(line))
  try {
    const settings = loadSettings(parsed.flags, { ...deps, warn: undefined })
    notice = dotenvNotice(settings)
    if (settings.agentSock !== undefined) return await fromAgent(settings, deps, say, notice)
    const tokens =
      settings.tokenStore === 'postgres' ? await freshFromPostgres(settings, deps) : await fromFile(settings, deps)
    if (tokens === undefined) return {}
    if (!('accessToken' in tokens)) return { heldLock: tokens }
    if (notice) say(`${notice}\n`)
    deps.io.stdout.write(`${tokens.accessToken}\n`)
    return { code: 0 }
  } catch (err) {
    // A lock timeout or Ctrl+C is the answer; anything else goes to the full program, which reports it properly.
    if (err instanceof AuthgateError && (err.exitCode === 5 || err.exitCode === 130)) {
      if (notice) say(`${notice}\n`)
      return { code: reportError(err, say, new Redactor(), false) }
    }
    return {}
  }
}

/** Under `--agent-sock` the answer is the agent's, whatever it is: the full program would only ask again. */
async function fromAgent(settings: Settings, deps: FastDeps, say: (line: string) => void, notice?: string) {
  if (notice) say(`${notice}\n`)
  try {
    const { agentTokenSource } = await import('../session/agent-source.ts')
    // No signal: Ctrl+C ends the process, as it does anywhere in the fast lane.
    const tokens = await agentTokenSource(settings, settings.agentSock!, requireSession(settings), {})({})
    deps.io.stdout.write(`${tokens.accessToken}\n`)
    return { code: 0 }
  } catch (err) {
    return { code: reportError(err, say, new Redactor(), false) }
  }
}

/** Steps 1–3 on the file store; undefined sends the command to the full program. */
async function fromFile(settings: Settings, deps: FastDeps): Promise<TokenSet | LockHandle | undefined> {
  if (settings.tokenStore !== 'file' && settings.tokenStore !== 'auto') return undefined
  const key = requireSession(settings)
  checkDirectories(settings, deps)
  const store = new FileStore(settings.tokenFile, { lockFile: refuseToLock, lockTimeoutMs: 0, now: deps.clock.now })
  const placed = await store.readPlacement(key)
  // Under `auto`, a session kept in the keyring or the encrypted file has only a pointer here: the full program
  // follows it, so the keyring addon is never loaded here, and file-backed sessions never pay for it.
  if (placed !== undefined && placed.store !== 'file') return undefined
  const seen = placed?.tokens
  if (!seen) return undefined
  const expiring = isExpiring(seen, deps.clock.now(), settings.refreshSkewSeconds)
  if (expiring && !seen.refreshToken) return undefined
  return expiring ? await awaitPeer(settings, key, store, seen, deps) : seen
}

/**
 * Steps 2–3. Whoever finds the lock free takes it exclusively and re-reads: a peer's token is adopted, else the lock
 * is returned still held and the full program refreshes under it. Whoever finds it taken waits for a *shared* lock:
 * when the refresher releases, every waiter wakes at once and re-reads in parallel, instead of the kernel handing an
 * exclusive lock down a queue of N processes one by one. A waiter that still finds the token stale (the refresher
 * failed) queues for the exclusive lock like anyone else. Undefined: the session is gone, and no lock is held.
 */
async function awaitPeer(
  settings: Settings,
  key: SessionKey,
  store: FileStore,
  seen: TokenSet,
  deps: FastDeps,
): Promise<TokenSet | LockHandle | undefined> {
  const { createLockFile, sessionLockPath } = await import('../lock/kernel-lock.ts')
  const lockFile = createLockFile({ pid: deps.pid, uid: deps.uid, sleep: deps.sleep, waiter: 'thread' })
  const path = sessionLockPath(settings.lockDir, key)
  const deadlineMs = deps.clock.now() + settings.lockTimeoutMs
  const left = () => Math.max(1, deadlineMs - deps.clock.now())
  const adoptable = (t: TokenSet | undefined): t is TokenSet =>
    hasPeerRefreshed(seen, t, deps.clock.now(), settings.refreshSkewSeconds)
  let exclusive = await lockFile(path, { timeoutMs: 0 }).catch(() => undefined)
  if (!exclusive) {
    const shared = await lockFile(path, { timeoutMs: settings.lockTimeoutMs, shared: true })
    const current = await readReleasing(store, key, shared)
    shared.release()
    if (adoptable(current)) return current
    exclusive = await lockFile(path, { timeoutMs: left() })
  }
  const current = await readReleasing(store, key, exclusive)
  if (adoptable(current)) {
    exclusive.release()
    return current
  }
  if (current !== undefined) return exclusive
  // The entry is gone (a peer's refresh was rejected): the full program has nothing to refresh, so it would never take
  // this lock, and handing it over would keep it held through a `--login` sign-in that needs it to save.
  exclusive.release()
  return undefined
}

/** The full program refuses a lock or token directory others can write even when no lock is needed: so must this. */
function checkDirectories(settings: Settings, deps: FastDeps): void {
  const owner = { uid: deps.uid, platform: deps.platform }
  checkPrivateDirectory(resolve(settings.lockDir), owner)
  checkPrivateDirectory(dirname(resolve(settings.tokenFile)), owner)
}

/** Reads under a held lock, releasing it if the read fails (the error goes to the full program). */
async function readReleasing(store: FileStore, key: SessionKey, lock: LockHandle): Promise<TokenSet | undefined> {
  try {
    return await store.read(key)
  } catch (err) {
    lock.release()
    throw err
  }
}

/** The fast lane only reads the store; a write would mean a refresh, which belongs to the full program. */
async function refuseToLock(): Promise<never> {
  throw new Error('the fast lane never writes')
}

/**
 * Step 1 for a fleet session: one connection, one query. A fresh token is printed; anything else (stale, missing) goes
 * to the full program, which takes the advisory lock on its own connection. pg loads here only, never for other stores.
 */
async function freshFromPostgres(settings: Settings, deps: FastDeps): Promise<TokenSet | undefined> {
  const { openPostgresStore } = await import('../stores/postgres-store.ts')
  const store = openPostgresStore(settings, deps)
  try {
    const seen = await store.read(requireSession(settings))
    return seen === undefined || isExpiring(seen, deps.clock.now(), settings.refreshSkewSeconds) ? undefined : seen
  } finally {
    store.close()
  }
}
