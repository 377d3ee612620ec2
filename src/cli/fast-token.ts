import { loadSettings } from '../config/load.ts'
import { requireSession, type Settings } from '../config/settings.ts'
import type { SessionKey } from '../config/session-key.ts'
import { AuthgateError } from '../errors.ts'
import { isExpiring, isSameTokens } from '../session/expiry.ts'
import type { Deps } from '../session/deps.ts'
import { FileStore } from '../stores/file-store.ts'
import type { TokenSet } from '../stores/types.ts'
import { reportError } from './exit.ts'
import { parseTokenArgv } from './global-options.ts'
import { Redactor } from './redact.ts'

export type FastDeps = Pick<Deps, 'env' | 'cwd' | 'paths' | 'clock' | 'pid' | 'sleep'> & {
  io: { stdout: { write(text: string): unknown }; stderr: { write(text: string): unknown } }
}

/**
 * `authgate token` for a file-backed session, in a bundle of its own: no commander, no protocol code. It runs in
 * shell prompts and `xargs -P` storms, so every millisecond of start-up is paid many times over.
 * It handles the two common cases: a fresh token (steps 1 of the refresh algorithm), and a stale one that a peer
 * refreshes while we wait for the session lock (steps 2–3: in a storm of N processes, N−1 end here). It returns
 * undefined for everything else (a refresh to do, another backend, any other error, any other command): the full
 * program then starts from scratch and does it properly, so both paths print the same thing.
 * @returns the exit code when it handled the command.
 */
export async function fastToken(argv: readonly string[], deps: FastDeps): Promise<number | undefined> {
  const parsed = parseTokenArgv(argv)
  if (!parsed || parsed.verbose || parsed.json) return undefined
  try {
    const settings = loadSettings(parsed.flags, deps)
    if (settings.tokenStore !== 'file' && settings.tokenStore !== 'auto') return undefined
    const key = requireSession(settings)
    const store = new FileStore(settings.tokenFile, { lockFile: refuseToLock, lockTimeoutMs: 0, now: deps.clock.now })
    const placed = await store.readPlacement(key)
    // Under `auto`, a session kept in the keyring or the encrypted file has only a pointer here: the full program
    // follows it, so the keyring addon is never loaded here, and file-backed sessions never pay for it.
    if (placed !== undefined && placed.store !== 'file') return undefined
    const seen = placed?.tokens
    if (!seen) return undefined
    const expiring = isExpiring(seen, deps.clock.now(), settings.refreshSkewSeconds)
    if (expiring && !seen.refreshToken) return undefined
    const tokens = expiring ? await awaitPeer(settings, key, store, seen, deps) : seen
    if (!tokens) return undefined
    deps.io.stdout.write(`${tokens.accessToken}\n`)
    return 0
  } catch (err) {
    // A lock timeout or Ctrl+C is the answer; anything else goes to the full program, which reports it properly.
    if (err instanceof AuthgateError && (err.exitCode === 5 || err.exitCode === 130)) {
      return reportError(err, (line) => void deps.io.stderr.write(line), new Redactor(), false)
    }
    return undefined
  }
}

/** Steps 2–3 under the session lock: a token a peer saved meanwhile is adopted; otherwise the full program refreshes. */
async function awaitPeer(
  settings: Settings,
  key: SessionKey,
  store: FileStore,
  seen: TokenSet,
  deps: FastDeps,
): Promise<TokenSet | undefined> {
  const { createLockFile, sessionLockPath } = await import('../lock/kernel-lock.ts')
  const lockFile = createLockFile({ pid: deps.pid, sleep: deps.sleep, waiter: 'thread' })
  const lock = await lockFile(sessionLockPath(settings.lockDir, key), { timeoutMs: settings.lockTimeoutMs })
  try {
    const current = await store.read(key)
    const adopted =
      current && !isSameTokens(seen, current) && !isExpiring(current, deps.clock.now(), settings.refreshSkewSeconds)
    return adopted ? current : undefined
  } finally {
    lock.release()
  }
}

/** The fast lane only reads the store; a write would mean a refresh, which belongs to the full program. */
async function refuseToLock(): Promise<never> {
  throw new Error('the fast lane never writes')
}
