import type { SessionKey } from '../config/session-key.ts'
import type { StoredSession, TokenSet, TokenStore } from './types.ts'

/** A TokenStore in a Map: the test double for everything above the stores. Keeps copies, as a real store would. */
export class MemoryStore implements TokenStore {
  readonly kind = 'memory' as const
  readonly location = 'memory'
  readonly #sessions = new Map<string, { key: SessionKey; tokens: TokenSet }>()
  /** How many writes and deletes changed something: lets tests assert "no refresh was saved". */
  changes = 0

  constructor(initial: ReadonlyArray<{ key: SessionKey; tokens: TokenSet }> = []) {
    for (const { key, tokens } of initial) this.#sessions.set(key.account, { key, tokens: { ...tokens } })
  }

  async read(key: SessionKey): Promise<TokenSet | undefined> {
    const found = this.#sessions.get(key.account)
    return found === undefined ? undefined : { ...found.tokens }
  }

  async write(key: SessionKey, tokens: TokenSet): Promise<void> {
    this.#sessions.set(key.account, { key, tokens: { ...tokens } })
    this.changes++
  }

  async delete(key: SessionKey, ifRefreshToken?: string): Promise<boolean> {
    const found = this.#sessions.get(key.account)
    if (found === undefined) return false
    if (ifRefreshToken !== undefined && found.tokens.refreshToken !== ifRefreshToken) return false
    this.#sessions.delete(key.account)
    this.changes++
    return true
  }

  async list(): Promise<StoredSession[]> {
    return [...this.#sessions.values()].map(({ key, tokens }) => ({ key, tokens: { ...tokens }, store: this.kind }))
  }
}
