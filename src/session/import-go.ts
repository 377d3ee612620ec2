import type { Settings } from '../config/settings.ts'
import { AuthgateError, UsageError } from '../errors.ts'
import { findGoSession, goSearch, type KeyringReader } from '../stores/go-sources.ts'
import type { TokenSet } from '../stores/types.ts'
import type { Deps } from './deps.ts'
import type { OpenSession } from './open.ts'
import { saveLoginTokens, type Placed } from './login-save.ts'

export const IMPORT_REFUSED = 'AUTHGATE_IMPORT_REFUSED'

/** `authgate import go` will not copy this session, and says why. Exit 1. */
export class ImportRefusedError extends AuthgateError {
  constructor(message: string, options?: { hint?: string }) {
    super(message, IMPORT_REFUSED, 1, options)
  }
}

export interface ImportGoInput {
  /** A Go file the user named (absolute), else only the Go tools' defaults in the user config dir are searched. */
  readonly file?: string | undefined
  readonly keyringService?: string | undefined
  readonly force: boolean
}

export interface ImportGoDeps extends Pick<Deps, 'sleep' | 'platform'> {
  readonly keyring: KeyringReader
  /** Go's user config dir (go-sources.ts goUserConfigDir), where the SDK keeps its default files. */
  readonly goConfigDir: string | undefined
  /** Registers the found tokens as secrets before anything is printed. */
  readonly secret: (value: string | undefined) => void
  readonly say: (line: string) => void
}

/** Where each setting came from that a user has set themselves: a flag, the environment, their config file. */
const USER_SET = new Set(['flag', 'env', 'bare-env', 'profile'])

/**
 * A Go entry names no server, so the import binds it to the one the user named. A `.env` may have been written by
 * someone else, and the default URL was not a choice: either would hand the Go tokens to a server nobody chose.
 * @throws UsageError
 */
export function requireExplicitSession(settings: Pick<Settings, 'origin'>): void {
  for (const [key, what, flag] of [
    ['serverUrl', 'server URL', '--server-url'],
    ['clientId', 'client id', '--client-id'],
  ] as const) {
    const origin = settings.origin[key] ?? 'unset'
    if (USER_SET.has(origin)) continue
    const from = origin === '.env' ? 'only from a .env file in the working directory' : `only from the ${origin}`
    throw new UsageError(`import go needs the ${what} set by you: here it comes ${from}`, {
      hint: `pass ${flag}, set AUTHGATE_${key === 'serverUrl' ? 'SERVER_URL' : 'CLIENT_ID'}, or save it in your profile`,
    })
  }
}

/**
 * Copies the Go tools' session for the configured client id into authgate's store, for the configured server.
 * Refuses (ImportRefusedError) when there is no entry, the entry is expired with no refresh token to renew it, or the
 * session already exists in authgate and `force` is off.
 * @throws ImportRefusedError, StoreError (an unreadable Go file or key), TemporaryError (keyring or lock timeout)
 */
export async function importGoSession(
  session: OpenSession,
  input: ImportGoInput,
  deps: ImportGoDeps,
): Promise<{ tokens: TokenSet; source: string; placed: Placed }> {
  const { key } = session
  const search = goSearch(input, deps.goConfigDir)
  const { found, searched, skipped } = await findGoSession(search, key.clientId, deps.keyring)
  if (found === undefined) {
    const places = searched.length > 0 ? searched.join(', ') : `any of ${search.files.join(', ')}`
    throw new ImportRefusedError(
      `no Go session for client id ${JSON.stringify(key.clientId)} in ${places}${skipped ? `; ${skipped}` : ''}`,
      { hint: 'pass --file PATH to name the Go tool’s token file, or sign in with `authgate login`' },
    )
  }
  for (const value of [found.tokens.accessToken, found.tokens.refreshToken, found.tokens.idToken]) deps.secret(value)
  const expiresAtMs = found.tokens.expiresAtMs
  if (
    found.tokens.refreshToken === undefined &&
    expiresAtMs !== undefined &&
    expiresAtMs <= session.context.clock.now()
  ) {
    throw new ImportRefusedError(`the Go session in ${found.source} has expired and has no refresh token to renew it`, {
      hint: 'sign in with `authgate login`',
    })
  }
  if (!input.force && (await session.store.read(key)) !== undefined) {
    throw new ImportRefusedError(
      `authgate already has a session for client id ${JSON.stringify(key.clientId)} at ${key.serverUrl} (${session.store.location})`,
      { hint: 'pass --force to replace it with the Go session, or keep using it' },
    )
  }
  const placed = await saveLoginTokens(session, found.tokens, deps, deps.say)
  return { tokens: found.tokens, source: found.source, placed }
}
