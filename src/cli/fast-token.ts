import { dirname, resolve } from 'node:path'
import { loadSettings } from '../config/load.ts'
import { requireSession, type Settings } from '../config/settings.ts'
import type { SessionKey } from '../session-key.ts'
import { escapeTerminal } from '../commands/terminal-text.ts'
import { tokenOutput } from '../commands/token/token-output.ts'
import { checkPrivateDirectory } from '../lock/private-dir.ts'
import type { LockFile } from '../lock/types.ts'
import { sessionContext, type ContextDeps, type ContextOptions } from '../session/context.ts'
import type { Deps } from '../session/deps.ts'
import { AuthRequiredError } from '../errors.ts'
import { getValidTokens } from '../session/refresh-engine.ts'
import { FileStore } from '../stores/file-store.ts'
import type { TokenStore } from '../stores/types.ts'
import { reportError } from './exit.ts'
import { parseTokenArgv } from './global-options.ts'
import { Redactor } from './redact.ts'

export type FastDeps = ContextDeps &
  Pick<Deps, 'env' | 'cwd' | 'paths'> &
  Pick<ContextOptions, 'buildProtocol'> & {
    io: { stdout: { write(text: string): unknown }; stderr: { write(text: string): unknown } }
  }

/** The session is not in the plain file (a pointer to the keyring, or `auto` with no entry): the full program's. */
class NotInFileError extends Error {}

/**
 * `authgate token` for a file-backed session, started lean: no commander, no keyring code, and the protocol only if a
 * refresh is due. It runs in shell prompts and `xargs -P` storms, so every millisecond of start-up is paid many times
 * over. It is not a second implementation: it builds the same session context as every command and runs the one
 * engine (session/refresh-engine.ts), locks and all, then prints what `runToken` prints.
 * @returns the exit code, and whether the token was fresh (nothing was started that could keep the process alive); or
 *   undefined when the full program must run instead (`--verbose`, anything but `token` and global options, a
 *   session kept in another backend). No lock is held when it returns.
 */
export async function fastToken(
  argv: readonly string[],
  deps: FastDeps,
): Promise<{ code: number; fresh: boolean } | undefined> {
  const parsed = parseTokenArgv(argv)
  if (!parsed || parsed.verbose) return undefined
  const redactor = new Redactor()
  // The `.env` notice is printed only when this lane answers: otherwise the full program runs and prints it, once.
  let notice: string | undefined
  const say = (line: string) => void deps.io.stderr.write(escapeTerminal(line))
  try {
    // Kept, not printed: this lane may still hand the command to the full program, which says it itself.
    const settings = loadSettings(parsed.flags, { ...deps, warn: (line) => void (notice = line) })
    redactor.add(settings.clientSecret)
    const key = requireSession(settings)
    const store = await laneStore(settings, deps)
    if (!store) return undefined
    let fresh = false
    const observe = (event: string) => void (fresh = event === 'fresh')
    const { context } = await sessionContext(settings, key, store, deps, {
      ...deps,
      observe,
      secret: (v) => redactor.add(v),
    })
    const tokens = await getValidTokens(context).finally(() => store.close?.())
    redactor.add(tokens.accessToken)
    redactor.add(tokens.refreshToken)
    if (notice) say(`${notice}\n`)
    deps.io.stdout.write(tokenOutput(tokens, parsed.json))
    return { code: 0, fresh }
  } catch (err) {
    // Not signed in, or the refresh was rejected: with `--login` the full program signs in.
    if (err instanceof NotInFileError || (parsed.login && err instanceof AuthRequiredError)) return undefined
    if (notice) say(`${notice}\n`)
    return { code: reportError(err, say, redactor, false), fresh: false }
  }
}

/**
 * The store this lean start-up can serve: the plain file (`file`, or `auto` while the entry is in the file), or the
 * fleet's PostgreSQL store, whose connection is also its session lock. Under `--agent-sock` the engine asks the agent
 * and no local store is read or checked. Undefined: the full program's (the keyring backends).
 */
async function laneStore(settings: Settings, deps: FastDeps): Promise<(TokenStore & { close?(): void }) | undefined> {
  if (settings.agentSock !== undefined) return fileStore(settings, deps) // never read: the agent answers
  if (settings.tokenStore === 'postgres') {
    const { openPostgresStore } = await import('../stores/postgres-store.ts')
    return openPostgresStore(settings, deps)
  }
  if (settings.tokenStore !== 'file' && settings.tokenStore !== 'auto') return undefined
  checkDirectories(settings, deps)
  return fileStore(settings, deps)
}

/** The full program refuses a lock or token directory others can write even when no lock is needed: so must this. */
function checkDirectories(settings: Settings, deps: FastDeps): void {
  const owner = { uid: deps.uid, platform: deps.platform }
  checkPrivateDirectory(resolve(settings.lockDir), owner)
  checkPrivateDirectory(dirname(resolve(settings.tokenFile)), owner)
}

/** The plain file, its store lock loaded on the first write (a fresh token writes nothing). */
function fileStore(settings: Settings, deps: FastDeps): TokenStore {
  const lockFile: LockFile = async (path, options) => {
    const { createLockFile } = await import('../lock/kernel-lock.ts')
    return createLockFile({ pid: deps.pid, uid: deps.uid, sleep: deps.sleep, waiter: deps.lockWaiter })(path, options)
  }
  const file = new FileStore(settings.tokenFile, {
    lockFile,
    lockTimeoutMs: settings.lockTimeoutMs,
    now: deps.clock.now,
  })
  return settings.tokenStore === 'auto' ? fileEntriesOnly(file) : file
}

/**
 * `auto` as long as the session's entry in the file holds its tokens; anything else (a pointer, no entry, which `auto`
 * looks for in the keyring) ends the lean start-up before any lock is taken, so the keyring addon never loads here.
 */
function fileEntriesOnly(file: FileStore): TokenStore {
  return {
    kind: file.kind,
    location: file.location,
    async read(key: SessionKey) {
      const placed = await file.readPlacement(key)
      if (placed?.store !== 'file') throw new NotInFileError()
      return placed.tokens
    },
    write: (key, tokens) => file.write(key, tokens),
    prepareSave: (key) => file.prepareSave(key),
    delete: (key, ifRefreshToken) => file.delete(key, ifRefreshToken),
    list: () => file.list(),
  }
}
