import type { KeyringApi } from './keyring-client.ts'

/**
 * An OS keyring in a Map: the test double for the keyring backends. `mode` makes it fail the way real ones do:
 * 'unavailable' as a Secret Service without D-Bus (throws at once), 'hang' as one waiting on an unlock prompt
 * nobody answers (never settles; the client's timeout must end the call).
 */
export class MemoryKeyring implements KeyringApi {
  readonly items = new Map<string, Uint8Array>()
  mode: 'ok' | 'unavailable' | 'hang' = 'ok'
  /** Every call, `<op> <service> <account>`: lets tests assert that the keyring was not asked at all. */
  readonly calls: string[] = []

  async get(service: string, account: string): Promise<Uint8Array | undefined> {
    await this.#enter(`get ${service} ${account}`)
    const found = this.items.get(`${service}\n${account}`)
    return found === undefined ? undefined : Uint8Array.from(found)
  }

  async set(service: string, account: string, secret: Uint8Array): Promise<void> {
    await this.#enter(`set ${service} ${account}`)
    this.items.set(`${service}\n${account}`, Uint8Array.from(secret))
  }

  async delete(service: string, account: string): Promise<boolean> {
    await this.#enter(`delete ${service} ${account}`)
    return this.items.delete(`${service}\n${account}`)
  }

  async accounts(service: string): Promise<string[]> {
    await this.#enter(`accounts ${service}`)
    return [...this.items.keys()].filter((k) => k.startsWith(`${service}\n`)).map((k) => k.slice(service.length + 1))
  }

  /** The item's text, for assertions. */
  text(service: string, account: string): string | undefined {
    const found = this.items.get(`${service}\n${account}`)
    return found === undefined ? undefined : new TextDecoder().decode(found)
  }

  #enter(call: string): Promise<void> {
    this.calls.push(call)
    if (this.mode === 'unavailable') return Promise.reject(new Error('Platform failure: DBus error: no session bus'))
    if (this.mode === 'hang') return new Promise(() => {})
    return Promise.resolve()
  }
}
