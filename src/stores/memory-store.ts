import type { SessionKey } from '../session-key.ts'
import type { PreparedSave, StoredSession, TokenSet, TokenStore } from './types.ts'

/** A TokenStore in a Map: the test double for everything above the stores. Keeps copies, as a real store would. */
export class MemoryStore implements TokenStore {
  readonly kind = 'memory' as const
  readonly location = 'memory'
  readonly #sessions = new Map<string, { key: SessionKey; tokens: TokenSet }>()
  /** How many writes and deletes changed something: lets tests assert "no refresh was saved". */
  changes = 0
  /** Set by a test: prepareSave, a prepared save's commit, or delete throws it (a store that cannot be written). */
  failSave: { prepare?: Error; commit?: Error; delete?: Error } = {}
  /** Prepared saves not yet committed or aborted: a test asserts none is left behind. */
  openSaves = 0

  constructor(initial: ReadonlyArray<{ key: SessionKey; tokens: TokenSet }> = []) {
    for (const { key, tokens } of initial) this.#sessions.set(key.account, { key, tokens: { ...tokens } })
  }

  async read(key: SessionKey): Promise<TokenSet | undefined> {
    const found = this.#sessions.get(key.account)
    return found === undefined ? undefined : { ...found.tokens }
  }

  async prepareSave(key: SessionKey): Promise<PreparedSave> {
    if (this.failSave.prepare) throw this.failSave.prepare
    this.openSaves++
    const close = () => void this.openSaves--
    return {
      commit: async (tokens) => {
        close()
        if (this.failSave.commit) throw this.failSave.commit
        await this.write(key, tokens)
      },
      abort: async () => close(),
    }
  }

  async write(key: SessionKey, tokens: TokenSet): Promise<void> {
    this.#sessions.set(key.account, { key, tokens: { ...tokens } })
    this.changes++
  }

  async delete(key: SessionKey, ifRefreshToken?: string): Promise<boolean> {
    if (this.failSave.delete) throw this.failSave.delete
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
