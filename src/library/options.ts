import { loadSettings } from '../config/load.ts'
import type { Settings } from '../config/settings.ts'
import { SETTINGS, type RawSettings, type SettingRow } from '../config/settings-table.ts'
import { resolveSettings } from '../config/settings.ts'
import { readProfiles } from '../config/sources.ts'

/**
 * Options of `createClient`. Every setting of the CLI is here under its camelCase name; durations carry their unit.
 * Nothing is read from the environment unless `env` is given: then `AUTHGATE_*`, the Go CLI's bare names, a `.env`
 * in `cwd` and `AUTHGATE_PROFILE` apply below these options, exactly as for the CLI.
 */
export interface ClientOptions {
  serverUrl?: string
  clientId?: string
  clientSecret?: string
  scope?: string
  /** Base URL for relative URLs given to `client.fetch` (default: the server URL). */
  apiUrl?: string
  /**
   * Hosts besides the server's and `apiUrl`'s that `client.fetch` may send the token to: `host` (any port) or
   * `host:port`. An absolute URL on any other origin is refused with a UsageError.
   */
  allowedHosts?: readonly string[]
  /** A named profile from `<user config dir>/authgate/config.json`. */
  profile?: string
  tokenStore?: 'auto' | 'keyring' | 'file' | 'encrypted' | 'postgres'
  /** For `tokenStore: 'postgres'` (its key comes from `env`: `AUTHGATE_STORE_KEY` or `AUTHGATE_STORE_KEY_FILE`). */
  databaseUrl?: string
  tokenFile?: string
  lockDir?: string
  refreshSkewSeconds?: number
  lockTimeoutMs?: number
  clientAuth?: 'post' | 'basic'
  allowInsecureHttp?: boolean
  callbackPort?: number
  redirectUri?: string
  callbackTimeoutMs?: number
  /** 'client-credentials': a machine session (needs `clientSecret`); tokens come from the client-credentials grant. */
  grant?: 'user' | 'client-credentials'
  /** Get access tokens from an `authgate agent` on this Unix socket instead of a local store (`AUTHGATE_AGENT_SOCK`). */
  agentSock?: string
  /** Read configuration from these variables (pass `process.env` to behave like the CLI). */
  env?: Readonly<Record<string, string | undefined>>
  /** authgate's config directory (config.json, default tokens.json); default `<user config dir>/authgate`. */
  configDir?: string
  /** authgate's cache directory (default locks); default `<user cache dir>/authgate`. */
  cacheDir?: string
  /** Base for relative paths and the `.env` lookup; default the process's working directory. */
  cwd?: string
  /** The HTTP client for every request (OAuth and `client.fetch`); default the global fetch. */
  fetch?: typeof globalThis.fetch
  /** Aborting it ends every pending call with an InterruptedError. */
  signal?: AbortSignal
  /** HTTP trace lines (method, URL, status, timing); tokens never appear in them. */
  trace?: (line: string) => void
}

type Kind = 'string' | 'strings' | 'number' | 'boolean' | 'function' | 'object' | 'signal'

/** The options that are no setting of the CLI: where to look, and the library's own edges. */
const EDGES: Record<string, Kind> = {
  env: 'object',
  configDir: 'string',
  cacheDir: 'string',
  cwd: 'string',
  fetch: 'function',
  signal: 'signal',
  trace: 'function',
}

type LibraryRow = Extract<(typeof SETTINGS)[number], { library: string }>
/** Every setting the table gives a library name must be in ClientOptions: a compile error here says which is not. */
const everySettingIsAnOption: LibraryRow['library'] extends keyof ClientOptions ? true : never = true
void everySettingIsAnOption

const LIBRARY_ROWS: readonly SettingRow[] = SETTINGS.filter((row: SettingRow) => row.library !== undefined)
const KINDS: Record<string, Kind> = {
  ...Object.fromEntries(LIBRARY_ROWS.map((row) => [row.library!, kindOf(row)])),
  ...EDGES,
}

function kindOf(row: SettingRow): Kind {
  if (row.type === 'boolean') return 'boolean'
  if (row.type === 'list') return 'strings'
  return row.type === 'port' || row.type === 'duration' ? 'number' : 'string'
}

/** The boundary check (as oauth4webapi does): a wrong type or an unknown option is a TypeError, thrown at once. */
export function checkOptions(options: unknown): asserts options is ClientOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new TypeError('createClient(options): options must be an object')
  for (const [name, value] of Object.entries(options)) {
    const kind = Object.hasOwn(KINDS, name) ? KINDS[name] : undefined
    if (kind === undefined) throw new TypeError(`createClient(options): unknown option "${name}"`)
    if (value !== undefined && !hasKind(value, kind))
      throw new TypeError(`createClient(options): "${name}" must be ${article(kind)}`)
  }
  const o = options as ClientOptions
  if (o.clientId === '' || (o.clientId === undefined && o.env === undefined && o.profile === undefined)) {
    throw new TypeError('createClient(options): "clientId" is required (or pass "env" or "profile" that set it)')
  }
}

function hasKind(value: unknown, kind: Kind): boolean {
  if (kind === 'signal') return value instanceof AbortSignal
  if (kind === 'strings') return Array.isArray(value) && value.every((item) => typeof item === 'string')
  if (kind === 'number') return typeof value === 'number' && Number.isFinite(value) && value >= 0
  if (kind === 'object') return typeof value === 'object' && value !== null && !Array.isArray(value)
  return typeof value === kind
}

function article(kind: Kind): string {
  return kind === 'signal'
    ? 'an AbortSignal'
    : kind === 'number'
      ? 'a finite number >= 0'
      : kind === 'object'
        ? 'an object'
        : kind === 'strings'
          ? 'an array of strings'
          : `a ${kind}`
}

/** The options as the settings resolver's raw strings (the highest source, like flags on the command line). */
export function toRawSettings(o: ClientOptions): RawSettings {
  const raw: Record<string, string> = {}
  for (const row of LIBRARY_ROWS) {
    const value = (o as Record<string, unknown>)[row.library!]
    if (value === undefined) continue
    if (Array.isArray(value)) raw[row.key] = value.join(',')
    // A duration's unit is in the option's name; the resolver reads a bare number as seconds.
    else if (row.type === 'duration' && row.library!.endsWith('Ms')) raw[row.key] = `${String(value)}ms`
    else raw[row.key] = String(value)
  }
  return raw as RawSettings
}

/** Options > (with `env`: environment, `.env`) > profile > defaults. Throws UsageError for an invalid value. */
export function resolveClientSettings(
  o: ClientOptions,
  where: { cwd: string; paths: { config: string; cache: string } },
): Settings {
  const flags = toRawSettings(o)
  if (o.env !== undefined) return loadSettings(flags, { env: o.env, cwd: where.cwd, paths: where.paths })
  const profileName = o.profile ?? 'default'
  const profile = o.profile === undefined ? {} : (readProfiles(where.paths.config).profiles[profileName] ?? {})
  return resolveSettings({ flags, env: {}, dotenv: {}, profile, profileName, cwd: where.cwd, paths: where.paths })
}
