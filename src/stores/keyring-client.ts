/**
 * The OS keyring as the stores use it: @napi-rs/keyring loaded on first use, every call bounded by a timeout, every
 * failure a clear error naming the backend. Secrets travel as bytes (setSecret), so a size limit in bytes means the
 * same on every platform: Windows Credential Manager stores a password as UTF-16, a secret as it is given.
 */
import { createRequire } from 'node:module'
import { AuthgateError, StoreError, TemporaryError } from '../errors.ts'
import { reason } from './atomic-file.ts'

/** What the stores need from an OS keyring: the native one below, or a double in unit tests. */
export interface KeyringApi {
  /** Undefined when there is no such item. */
  get(service: string, account: string, signal: AbortSignal): Promise<Uint8Array | undefined>
  set(service: string, account: string, secret: Uint8Array, signal: AbortSignal): Promise<void>
  /** False when there was no such item. */
  delete(service: string, account: string, signal: AbortSignal): Promise<boolean>
  accounts(service: string, signal: AbortSignal): Promise<string[]>
}

/** The part of @napi-rs/keyring 2.1 used here (its own types would load it at import). */
interface NativeModule {
  AsyncEntry: new (
    service: string,
    account: string,
    options?: object,
  ) => {
    getSecret(signal?: AbortSignal): Promise<number[] | null>
    setSecret(secret: Uint8Array, signal?: AbortSignal): Promise<void>
    deleteCredential(signal?: AbortSignal): Promise<boolean>
  }
  findCredentialsAsync(
    service: string,
    target?: string | null,
    signal?: AbortSignal,
  ): Promise<Array<{ account: string }>>
}

/** 30 s, as gh's keyring wrapper: long enough for a person to answer an unlock prompt, short enough to end a hang. */
export const KEYRING_TIMEOUT_MS = 30_000

/**
 * @napi-rs/keyring, loaded on the first call. On Linux every entry is pinned to the Secret Service: by default the
 * addon falls back to the kernel keyring without saying so, whose keys vanish between terminals and at reboot.
 */
export function nativeKeyringApi(platform: NodeJS.Platform): KeyringApi {
  let loaded: NativeModule | undefined
  const native = () => (loaded ??= createRequire(import.meta.url)('@napi-rs/keyring') as NativeModule)
  const options = platform === 'linux' ? { linux: { store: 'secret-service' } } : undefined
  const entry = (service: string, account: string) => new (native().AsyncEntry)(service, account, options)
  return {
    async get(service, account, signal) {
      const secret = await entry(service, account).getSecret(signal)
      return secret === null ? undefined : Uint8Array.from(secret)
    },
    set: (service, account, secret, signal) => entry(service, account).setSecret(secret, signal),
    delete: (service, account, signal) => entry(service, account).deleteCredential(signal),
    async accounts(service, signal) {
      return (await native().findCredentialsAsync(service, null, signal)).map((found) => found.account)
    },
  }
}

/** The keyring cannot be reached or refused the call: exit 1, and `auto` may choose the file instead at login. */
export class KeyringUnavailableError extends StoreError {}

/** The keyring did not answer in time: exit 5 (try again), and at login `auto` chooses the file instead. */
export class KeyringTimeoutError extends TemporaryError {}

/** Either way the keyring does not work right now. */
export function isKeyringFailure(error: unknown): error is KeyringUnavailableError | KeyringTimeoutError {
  return error instanceof KeyringUnavailableError || error instanceof KeyringTimeoutError
}

export interface KeyringClientDeps {
  /** The injected timer that bounds every call; must settle and drop its timer when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  platform: NodeJS.Platform
  timeoutMs?: number | undefined
  api?: KeyringApi | undefined
}

const TIMED_OUT = Symbol('timed out')

export class KeyringClient {
  /** "the OS keyring (Secret Service)": how every message names the backend. */
  readonly name: string
  readonly #deps: KeyringClientDeps
  readonly #api: KeyringApi

  constructor(deps: KeyringClientDeps) {
    this.#deps = deps
    this.#api = deps.api ?? nativeKeyringApi(deps.platform)
    this.name = `the OS keyring (${backendName(deps.platform)})`
  }

  get(service: string, account: string): Promise<Uint8Array | undefined> {
    return this.#call('read', (signal) => this.#api.get(service, account, signal))
  }

  set(service: string, account: string, secret: Uint8Array): Promise<void> {
    return this.#call('write', (signal) => this.#api.set(service, account, secret, signal))
  }

  delete(service: string, account: string): Promise<boolean> {
    return this.#call('delete', (signal) => this.#api.delete(service, account, signal))
  }

  accounts(service: string): Promise<string[]> {
    return this.#call('list', (signal) => this.#api.accounts(service, signal))
  }

  /** Races the call against the injected timer; the loser is aborted so that neither keeps the process alive. */
  async #call<T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const timeoutMs = this.#deps.timeoutMs ?? KEYRING_TIMEOUT_MS
    const work = new AbortController()
    const timer = new AbortController()
    const timeout = this.#deps.sleep(timeoutMs, timer.signal).then(
      () => TIMED_OUT,
      () => undefined,
    )
    try {
      const outcome = await Promise.race([run(work.signal).then((value) => ({ value })), timeout])
      if (outcome === TIMED_OUT) {
        work.abort()
        throw new KeyringTimeoutError(`${this.name} did not answer a ${what} within ${timeoutMs / 1000} s`, {
          hint: 'try again; if it keeps happening, unlock or restart the keyring, or choose --token-store file',
        })
      }
      return (outcome as { value: T }).value
    } catch (error) {
      if (error instanceof AuthgateError) throw error
      throw new KeyringUnavailableError(`${this.name} cannot be used (${what} failed): ${reason(error)}`, {
        cause: error,
        hint: unavailableHint(this.#deps.platform),
      })
    } finally {
      timer.abort()
    }
  }
}

function backendName(platform: NodeJS.Platform): string {
  if (platform === 'darwin') return 'macOS Keychain'
  if (platform === 'win32') return 'Windows Credential Manager'
  return 'Secret Service'
}

function unavailableHint(platform: NodeJS.Platform): string {
  const instead = 'or choose --token-store file (or auto, which falls back to the file at login)'
  if (platform === 'darwin' || platform === 'win32') return `unlock the keychain/credential store, ${instead}`
  return `run a Secret Service (gnome-keyring, KeePassXC) in an unlocked D-Bus session, ${instead}`
}
