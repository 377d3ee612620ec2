/**
 * Every failure the library and the CLI report is an AuthgateError with a stable `code` and the exit code the CLI
 * maps it to (see README "Exit codes"). Callers compare `code`, never messages.
 */
export const USAGE = 'AUTHGATE_USAGE'
export const AUTH_REQUIRED = 'AUTHGATE_AUTH_REQUIRED'
export const TEMPORARY = 'AUTHGATE_TEMPORARY'
export const STORE = 'AUTHGATE_STORE'
export const PROTOCOL = 'AUTHGATE_PROTOCOL'
export const INTERRUPTED = 'AUTHGATE_INTERRUPTED'
export const REQUEST_FAILED = 'AUTHGATE_REQUEST_FAILED'
const COMMAND_FAILED = 'AUTHGATE_COMMAND_FAILED'
export const NOT_FOUND = 'AUTHGATE_NOT_FOUND'

/** Marks our errors whichever bundle made them (a registered symbol is the same in all of them). */
const BRAND = Symbol.for('authgate.error')

export class AuthgateError extends Error {
  /**
   * `instanceof` by brand and code, not by prototype: `token`'s lean bundle (cli/fast-token.ts) and the full
   * program's bundle each carry a copy of these classes, and an error thrown by one's protocol code is caught and
   * classified by the other's engine. Each class below names its code in a static `code`; the base class matches any.
   * A subclass declared elsewhere (no `code` of its own) is matched by prototype, as usual.
   */
  static override [Symbol.hasInstance]<T>(this: abstract new (...args: never[]) => T, value: unknown): value is T {
    if ((this as unknown) !== AuthgateError && !Object.hasOwn(this, 'code'))
      return Function.prototype[Symbol.hasInstance].call(this, value)
    if (typeof value !== 'object' || value === null || !(BRAND in value)) return false
    const code = (this as { code?: string }).code
    return code === undefined || (value as { code?: unknown }).code === code
  }

  readonly [BRAND] = true
  readonly code: string
  readonly exitCode: number
  /** One line telling the user what to do next, printed by the CLI after the message. */
  readonly hint: string | undefined

  constructor(message: string, code: string, exitCode: number, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.exitCode = exitCode
    this.hint = options?.hint
  }
}

/** A bad flag, a missing client id, an invalid setting. Exit 2. */
export class UsageError extends AuthgateError {
  static readonly code = USAGE
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, USAGE, 2, options)
  }
}

/** No session, or the server rejected the refresh token: the person has to sign in again. Exit 4. */
export class AuthRequiredError extends AuthgateError {
  static readonly code = AUTH_REQUIRED
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, AUTH_REQUIRED, 4, { hint: 'run `authgate login`', ...options })
  }
}

/** Worth trying again later: network down, 5xx/429 after retries, lock or keyring timeout. Nothing was lost. Exit 5. */
export class TemporaryError extends AuthgateError {
  static readonly code = TEMPORARY
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, TEMPORARY, 5, options)
  }
}

/** The token store cannot be read, parsed or written. The file is left as it was. Exit 1. */
export class StoreError extends AuthgateError {
  static readonly code = STORE
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, STORE, 1, options)
  }
}

/** The server answered something the client cannot accept: not JSON, fields missing, over 1 MiB. Exit 1. */
export class ProtocolError extends AuthgateError {
  static readonly code = PROTOCOL
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, PROTOCOL, 1, options)
  }
}

/** The server refused a request for a reason other than the session (an OAuth error body, a 4xx). Exit 1. */
export class RequestFailedError extends AuthgateError {
  static readonly code = REQUEST_FAILED
  readonly status: number | undefined
  readonly error: string | undefined
  constructor(message: string, details: { status?: number; error?: string; cause?: unknown; hint?: string } = {}) {
    super(message, REQUEST_FAILED, 1, details)
    this.status = details.status
    this.error = details.error
  }
}

/** SIGINT or an aborted signal. Exit 130. */
export class InterruptedError extends AuthgateError {
  static readonly code = INTERRUPTED
  constructor(message = 'interrupted', options?: { cause?: unknown }) {
    super(message, INTERRUPTED, 130, options)
  }
}

/**
 * `authgate exec`: the command could not be started (exit 127 not found, 126 not executable, as shells say), or it
 * ended with a non-zero status (its own code, 128 + n for signal n). In the second case the CLI prints nothing: the
 * command has spoken for itself.
 */
export class CommandFailedError extends AuthgateError {
  static readonly code = COMMAND_FAILED
  readonly silent: boolean
  constructor(message: string, exitCode: number, options?: { cause?: unknown; silent?: boolean }) {
    super(message, COMMAND_FAILED, exitCode, options)
    this.silent = options?.silent === true
  }
}

/** A credential helper was asked for a host the user did not configure: the caller should look elsewhere. Exit 1. */
export class CredentialsNotFoundError extends AuthgateError {
  static readonly code = NOT_FOUND
  constructor(message: string, options?: { hint?: string }) {
    super(message, NOT_FOUND, 1, options)
  }
}
