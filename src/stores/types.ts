import type { SessionKey } from '../session-key.ts'

/** The tokens of one session as the engine sees them. Times are epoch milliseconds. */
export interface TokenSet {
  readonly accessToken: string
  readonly tokenType: string
  readonly refreshToken?: string | undefined
  /** undefined when the server gave no `expires_in`: such a token is used until a resource server rejects it. */
  readonly expiresAtMs?: number | undefined
  /** When the token was obtained: with `expiresAtMs` it gives the lifetime that the skew rule halves. */
  readonly obtainedAtMs?: number | undefined
  readonly scope?: string | undefined
  readonly idToken?: string | undefined
  /** The issuer discovery reported when the token was obtained, for `status`. */
  readonly issuer?: string | undefined
  /** How the person signed in: 'device' | 'browser'. Informational. */
  readonly flow?: string | undefined
  /** Handed out by an `authgate agent`, which keeps the refresh token: a 401 is still worth asking it once more. */
  readonly fromAgent?: boolean | undefined
}

export type StoreKind = 'file' | 'keyring' | 'encrypted' | 'memory' | 'postgres'

export interface StoredSession {
  readonly key: SessionKey
  readonly tokens: TokenSet
  readonly store: StoreKind
}

/**
 * A save proven possible before a grant is sent (issue 15: nothing is spent that cannot be saved). Whatever it holds
 * (the file stores: the store lock and an allocated temp file; the keyring: nothing, its write was just tried; a
 * database store: its lock connection and an open transaction) is freed by exactly one of `commit` or `abort`.
 */
export interface PreparedSave {
  /**
   * The part of the proof still running when prepareSave returned (a temp file's flush, on the thread pool): a grant
   * is sent only once it has resolved (session/preflight.ts). Rejects with what stops the save.
   */
  readonly flushed?: Promise<void> | undefined
  /** Saves the tokens into what was prepared. Throws when even that fails (the disk went read-only in between). */
  commit(tokens: TokenSet): Promise<void>
  /**
   * A sign-in's save (preflight.ts guardLoginGrants): keep what was prepared for this store's next write, whatever
   * it writes (the session's entry, or the pointer to the keyring that `auto` may choose), instead of committing
   * tokens. That write fills the reservation; `abort` still frees it if none comes. Only the plain file store has it.
   */
  holdForNextWrite?(): void
  /** Frees what was prepared; the store is as it was. Never throws. */
  abort(): Promise<void>
}

/**
 * Where one backend keeps sessions. Callers serialise writers of one session with the session lock; a backend that
 * keeps several sessions in one place (the file stores) also locks itself around each read-modify-write so that
 * writers of different sessions never lose each other's entries.
 */
export interface TokenStore {
  readonly kind: StoreKind
  /** Absolute path for file-based stores, a description for the keyring. Used in messages and `status`. */
  readonly location: string
  read(key: SessionKey): Promise<TokenSet | undefined>
  /**
   * Proves that a write of this session's entry will succeed, before the grant whose answer it will hold is sent.
   * Callers hold the session lock. @throws whatever stops the save (no space, read-only, no permission, no keyring).
   */
  prepareSave(key: SessionKey): Promise<PreparedSave>
  write(key: SessionKey, tokens: TokenSet): Promise<void>
  /** Removes the entry; with `ifRefreshToken`, only while it still holds that refresh token (compare-and-clear). */
  delete(key: SessionKey, ifRefreshToken?: string): Promise<boolean>
  list(): Promise<StoredSession[]>
  /**
   * A store that is also its own session lock (postgres: an advisory lock on the connection that saves) returns it
   * here, in the engine's LockFile shape; the others use the kernel lock on `<lock dir>/<hash>.lock`.
   */
  sessionLock?(
    key: SessionKey,
  ): (
    path: string,
    o: { timeoutMs: number; shared?: boolean | undefined; signal?: AbortSignal | undefined },
  ) => Promise<{ path: string; release(): void }>
}
