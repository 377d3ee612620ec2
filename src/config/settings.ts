import { isAbsolute, join, resolve } from 'node:path'
import { UsageError } from '../errors.ts'
import { isLoopbackHost, normaliseServerUrl, sessionKey, type SessionKey } from '../session-key.ts'
import { RESOLVED, settingRow, type RawSettings, type SettingKey, type SettingRow } from './settings-table.ts'

export type { RawSettings } from './settings-table.ts'

export type StoreName = 'auto' | 'keyring' | 'file' | 'encrypted' | 'postgres'
export type ClientAuth = 'post' | 'basic'
/** `user`: a person signs in (`authgate login`); `client_credentials`: a machine session (RFC 6749 §4.4). */
export type GrantKind = 'user' | 'client_credentials'

/** Everything a command needs, resolved and validated. Durations carry their unit in the name. */
export interface Settings {
  readonly profile: string
  readonly serverUrl: string
  readonly clientId: string | undefined
  readonly clientSecret: string | undefined
  readonly scope: string
  readonly tokenStore: StoreName
  readonly tokenFile: string
  readonly lockDir: string
  readonly callbackPort: number
  readonly redirectUri: string
  readonly refreshSkewSeconds: number
  readonly lockTimeoutMs: number
  readonly callbackTimeoutMs: number
  /** Deadline for one HTTP exchange, headers and body (`--http-timeout`; default 10 s). */
  readonly httpTimeoutMs: number
  readonly allowInsecureHttp: boolean
  readonly clientAuth: ClientAuth
  readonly verbose: boolean
  readonly apiUrl: string
  /** Registry hosts (`host[:port]`, lower case) the Docker credential helper answers for; none by default. */
  readonly registries: readonly string[]
  /**
   * Origins (`scheme://host[:port]`) and hosts (`host`, any port) besides the server URL and the API URL that may
   * receive the access token: `--allow-host`, `AUTHGATE_ALLOW_HOSTS`, the profile's `allow_hosts`, `allowedHosts`.
   */
  readonly allowedHosts: readonly string[]
  /** `--grant`: with `client_credentials` tokens come from the client-credentials grant, never from a sign-in. */
  readonly grant: GrantKind
  /** The scope the client-credentials grant sends: only one the user set, never the default (AuthGate then grants all). */
  readonly machineScope: string | undefined
  /** `--agent-sock`: get access tokens from an `authgate agent` on this Unix socket instead of a local store. */
  readonly agentSock: string | undefined
  /** `--database-url` for the postgres store; undefined = libpq's `PG*` variables. Never from a working-dir `.env`. */
  readonly databaseUrl: string | undefined
  /** Where each value came from, for `--verbose` and error messages: 'flag', 'env', 'bare-env', '.env', 'profile', 'default'. */
  readonly origin: Readonly<Record<string, string>>
}

export interface SettingsSources {
  flags: RawSettings
  env: Readonly<Record<string, string | undefined>>
  dotenv: Readonly<Record<string, string>>
  /** The `.env` file's absolute path, for the notice naming what it may not set. */
  dotenvFile?: string | undefined
  /** The named profile's object from the user config file (snake_case keys: `server_url`, `client_id`, …). */
  profile: Readonly<Record<string, unknown>>
  profileName: string
  cwd: string
  /** authgate's own directories: `<user config dir>/authgate` and `<user cache dir>/authgate`. */
  paths: { config: string; cache: string }
}

/** Highest wins: flags > AUTHGATE_* > bare names > .env (both spellings) > profile > defaults. */
export function resolveRaw(s: SettingsSources): {
  raw: Required<Record<SettingKey, string | undefined>>
  origin: Record<string, string>
} {
  const raw = {} as Record<SettingKey, string | undefined>
  const origin: Record<string, string> = {}
  for (const spec of RESOLVED) {
    const profileValue = s.profile[spec.env.toLowerCase()]
    const candidates: Array<[string, string | undefined]> = [
      ['flag', s.flags[spec.key as SettingKey]],
      ['env', s.env[`AUTHGATE_${spec.env}`]],
      ['bare-env', spec.bare ? s.env[spec.env] : undefined],
      ['.env', spec.dotenv ? dotenvValue(s.dotenv, spec) : undefined],
      ['profile', profileValue === undefined || profileValue === null ? undefined : String(profileValue)],
      ['default', spec.fallback],
    ]
    const hit = candidates.find(([, v]) => v !== undefined && v !== '')
    raw[spec.key as SettingKey] = hit?.[1]
    origin[spec.key] = hit?.[0] ?? 'unset'
  }
  return { raw, origin }
}

export function resolveSettings(s: SettingsSources): Settings {
  const { raw, origin } = resolveRaw(s)
  const allowInsecureHttp = parseBool(raw.allowInsecureHttp!, 'allow-insecure-http')
  const serverUrl = checkedUrl(raw.serverUrl!, 'server URL', allowInsecureHttp)
  const callbackPort = parsePort(raw.callbackPort!)
  const scope = raw.scope!.trim().split(/\s+/).join(' ')
  const grant = parseGrant(raw.grant!, raw.clientSecret)
  return {
    profile: s.profileName,
    serverUrl,
    clientId: raw.clientId,
    clientSecret: raw.clientSecret,
    scope,
    tokenStore: parseStore(raw.tokenStore!),
    tokenFile: absolute(raw.tokenFile, s.cwd) ?? join(s.paths.config, 'tokens.json'),
    lockDir: absolute(raw.lockDir, s.cwd) ?? join(s.paths.cache, 'locks'),
    callbackPort,
    redirectUri: raw.redirectUri ?? `http://localhost:${callbackPort}/callback`,
    refreshSkewSeconds: parseDurationMs(raw.refreshSkew!, 'refresh-skew') / 1000,
    lockTimeoutMs: parseDurationMs(raw.lockTimeout!, 'lock-timeout'),
    callbackTimeoutMs: parseDurationMs(raw.callbackTimeout!, 'callback-timeout'),
    httpTimeoutMs: parseDurationMs(raw.httpTimeout!, 'http-timeout'),
    allowInsecureHttp,
    clientAuth: parseClientAuth(raw.clientAuth!),
    verbose: parseBool(raw.verbose!, 'verbose'),
    apiUrl: raw.apiUrl === undefined ? serverUrl : checkedUrl(raw.apiUrl, 'API URL', allowInsecureHttp),
    registries: parseRegistries(raw.registry),
    allowedHosts: parseAllowedHosts(raw.allowHost),
    grant,
    machineScope: origin.scope === 'default' || scope === '' ? undefined : scope,
    agentSock: absolute(raw.agentSock, s.cwd),
    databaseUrl: raw.databaseUrl,
    origin,
  }
}

/** A `.env` value of a row it may set; a redirect URI there must stay on this machine (a loopback http URI). */
function dotenvValue(dotenv: Readonly<Record<string, string>>, spec: SettingRow): string | undefined {
  const value = dotenv[`AUTHGATE_${spec.env}`] || (spec.bare ? dotenv[spec.env] : undefined)
  if (spec.key === 'redirectUri' && value !== undefined && !isLoopbackHttp(value)) return undefined
  return value
}

function isLoopbackHttp(value: string): boolean {
  const url = URL.canParse(value) ? new URL(value) : undefined
  return url?.protocol === 'http:' && isLoopbackHost(url.hostname)
}

/** Settings a working-directory `.env` named but may not set (contract, "Where settings may come from"). */
export type IgnoredDotenv = { readonly file: string; readonly names: readonly string[] } | undefined

/** Every `AUTHGATE_*` name and every Go bare name in `.env` that it may not set, sorted, each once. */
export function ignoredDotenv(s: Pick<SettingsSources, 'dotenv' | 'dotenvFile'>): IgnoredDotenv {
  const names = Object.keys(s.dotenv)
    .filter((name) => s.dotenv[name] !== '' && isSettingName(name) && !isTrustedValue(name, s.dotenv))
    .sort()
  return names.length === 0 ? undefined : { file: s.dotenvFile ?? '.env', names }
}

function isSettingName(name: string): boolean {
  return name.startsWith('AUTHGATE_') || RESOLVED.some((spec) => spec.bare && spec.env === name)
}

function isTrustedValue(name: string, dotenv: Readonly<Record<string, string>>): boolean {
  const spec = RESOLVED.find((x) => x.dotenv && (name === `AUTHGATE_${x.env}` || (x.bare && name === x.env)))
  return spec !== undefined && (spec.key !== 'redirectUri' || isLoopbackHttp(dotenv[name]!))
}

/** The line a command prints once when `.env` named settings it may not set. */
export function dotenvNotice(ignored: IgnoredDotenv): string | undefined {
  if (!ignored) return undefined
  return `warning: ignoring ${ignored.names.join(', ')} in ${ignored.file}: a working-directory .env may only set the server, client, scope and sign-in settings`
}

/**
 * `HOST[:PORT]` items (comma-separated in the environment). A host alone allows all its ports; the check itself is
 * `isAllowedOrigin`. IPv6 literals keep their brackets.
 */
function parseAllowedHosts(value: string | undefined): string[] {
  const items = (value ?? '').split(',').map((item) => item.trim().toLowerCase())
  return items.filter(Boolean).map((item) => {
    if (!URL.canParse(`http://${item}`) || new URL(`http://${item}`).host !== item.replace(/:80$/, '')) {
      throw new UsageError(`invalid --allow-host ${JSON.stringify(item)}: expected HOST or HOST:PORT`)
    }
    return item
  })
}

/**
 * Whether a token may go to `url`: the server's and the API URL's origins, and the allowed hosts (a host without a
 * port allows all its ports).
 */
export function isAllowedOrigin(url: URL, settings: Pick<Settings, 'serverUrl' | 'apiUrl' | 'allowedHosts'>): boolean {
  if ([settings.serverUrl, settings.apiUrl].some((base) => new URL(base).origin === url.origin)) return true
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  return settings.allowedHosts.some((item) => item === url.hostname || item === `${url.hostname}:${port}`)
}

/** The session the settings name; a missing client id is the most common first-run mistake, so say how to set it. */
export function requireSession(settings: Settings): SessionKey {
  if (!settings.clientId) {
    throw new UsageError('no client id configured', {
      hint: 'pass --client-id, set AUTHGATE_CLIENT_ID, or save a profile with `authgate login --client-id …`',
    })
  }
  return sessionKey(settings.serverUrl, settings.clientId)
}

function checkedUrl(value: string, what: string, allowInsecureHttp: boolean): string {
  const url = normaliseServerUrl(value, what)
  const { protocol, hostname } = new URL(url)
  if (protocol === 'http:' && !allowInsecureHttp && !isLoopbackHost(hostname)) {
    throw new UsageError(`refusing plain http to ${hostname}: tokens would cross the network unencrypted`, {
      hint: 'use https, or pass --allow-insecure-http if you really mean it',
    })
  }
  return url
}

function absolute(path: string | undefined, cwd: string): string | undefined {
  if (path === undefined) return undefined
  return isAbsolute(path) ? path : resolve(cwd, path)
}

/** `--registry` (repeatable) and `AUTHGATE_REGISTRY` (comma-separated): each a host[:port] or a URL naming one. */
function parseRegistries(value: string | undefined): string[] {
  const hosts = (value ?? '').split(',').map((v) => v.trim())
  return hosts
    .filter((v) => v !== '')
    .map((v) => {
      const host = registryHost(v)
      if (host === undefined)
        throw new UsageError(
          `invalid registry ${JSON.stringify(v)}: expected a host[:port], e.g. registry.example:5000`,
        )
      return host
    })
}

/**
 * A registry as Docker names it (`registry.example`, `registry.example:5000`, `https://index.docker.io/v1/`) → its
 * lower-case `host[:port]`, a scheme's default port dropped; undefined when it names no host.
 */
export function registryHost(value: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`
  if (!URL.canParse(withScheme)) return undefined
  const url = new URL(withScheme)
  if (url.hostname === '' || url.username !== '' || url.password !== '') return undefined
  return url.host
}

function parseStore(value: string): StoreName {
  const stores = settingRow('tokenStore').choices!
  if (stores.includes(value)) return value as StoreName
  throw new UsageError(`unknown token store ${JSON.stringify(value)}: expected one of ${stores.join(', ')}`)
}

function parseClientAuth(value: string): ClientAuth {
  if (value === 'post' || value === 'basic') return value
  throw new UsageError(`unknown client auth ${JSON.stringify(value)}: expected post or basic`)
}

/** A machine session authenticates as the client alone: without a secret there is nothing to authenticate with. */
function parseGrant(value: string, clientSecret: string | undefined): GrantKind {
  const grant = value === 'user' ? 'user' : value === 'client-credentials' ? 'client_credentials' : undefined
  if (grant === undefined)
    throw new UsageError(`unknown grant ${JSON.stringify(value)}: expected user or client-credentials`)
  if (grant === 'client_credentials' && !clientSecret) {
    throw new UsageError('--grant client-credentials needs a client secret', {
      hint: "set AUTHGATE_CLIENT_SECRET (or --client-secret) to the confidential client's secret",
    })
  }
  return grant
}

function parsePort(value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN
  if (!(port >= 0 && port <= 65535))
    throw new UsageError(`invalid callback port ${JSON.stringify(value)}: expected 0–65535`)
  return port
}

export function parseBool(value: string, what: string): boolean {
  const v = value.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return true
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false
  throw new UsageError(`invalid ${what} value ${JSON.stringify(value)}: expected true or false`)
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, '': 1000, m: 60_000, h: 3_600_000 }
/** Seconds by default (`30`), or with a unit: `500ms`, `30s`, `2m`, `1h`. */
export function parseDurationMs(value: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value)
  if (!m) throw new UsageError(`invalid --${what} ${JSON.stringify(value)}: expected seconds, e.g. 30 or 30s or 500ms`)
  return Math.round(Number(m[1]) * UNITS[m[2] ?? '']!)
}
