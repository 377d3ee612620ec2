import { join, resolve } from 'node:path'
import { UsageError } from './errors.ts'
import { sha256Hex } from './sha256.ts'

/** One session = (normalised server URL, client id). Two sessions never share an entry, a lock or a keyring item. */
export interface SessionKey {
  readonly serverUrl: string
  readonly clientId: string
  /** `<client id>@<server url>`: the keyring account and the file store's entry name. */
  readonly account: string
  /** sha256 hex of `serverUrl + "\n" + clientId`: safe as a file name whatever the client id holds. */
  readonly hash: string
}

/**
 * Lower-case scheme and host, default port dropped, no trailing slash, as the contract's "One session" says.
 * WHATWG URL parsing already lower-cases the scheme and host and drops a default port.
 */
export function normaliseServerUrl(input: string, what = 'server URL'): string {
  let url: URL
  try {
    url = new URL(input.trim())
  } catch {
    throw new UsageError(
      `invalid ${what} ${JSON.stringify(input)}: expected an absolute http(s) URL such as https://auth.example.com`,
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid ${what} ${JSON.stringify(input)}: the scheme must be http or https`)
  }
  if (url.username || url.password) throw new UsageError(`invalid ${what}: it must not contain credentials`)
  if (url.search || url.hash)
    throw new UsageError(`invalid ${what} ${JSON.stringify(input)}: it must not have a query or fragment`)
  const path = url.pathname.replace(/\/+$/, '')
  return `${url.protocol}//${url.host}${path}`
}

export function sessionKey(serverUrl: string, clientId: string): SessionKey {
  let hash: string | undefined
  return {
    serverUrl,
    clientId,
    account: `${clientId}@${serverUrl}`,
    // Computed on first use: the hot path of `authgate token` only needs the account name to find a fresh token.
    get hash() {
      return (hash ??= sha256Hex(`${serverUrl}\n${clientId}`))
    },
  }
}

/**
 * Loopback hosts may use plain http without `--allow-insecure-http` (RFC 8252 §8.3 treats them as local): `localhost`,
 * 127.0.0.0/8 and [::1], literally. `x.localhost` is not among them: a resolver that does not special-case it
 * (RFC 6761 only asks it to) sends it through DNS.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

/** `<lock dir>/<sha256 of the session>.lock`, whatever the store backend: the client id never becomes part of a path. */
export function sessionLockPath(lockDir: string, key: SessionKey): string {
  return join(resolve(lockDir), `${key.hash}.lock`)
}

/**
 * `<lock dir>/<sha256 of the session>.login.lock`: serialises interactive sign-ins (one browser tab, one device code)
 * apart from the refresh lock, which a `token` must never wait on while a person types.
 */
export function loginLockPath(lockDir: string, key: SessionKey): string {
  return join(resolve(lockDir), `${key.hash}.login.lock`)
}

/** `<lock dir>/<sha256 of the session>.spent`: a refresh token spent by a refresh whose answer could not be saved. */
export function spentMarkerPath(lockDir: string, key: SessionKey): string {
  return join(resolve(lockDir), `${key.hash}.spent`)
}
