/**
 * Every setting, once (STYLE.md "Describe each setting once"). From this table come commander's global options
 * (cli/program.ts), `token`'s lean argv parse (cli/global-options.ts), the resolver's sources and precedence
 * (settings.ts), what a profile saves (profile-save.ts) and the library's option check (library/options.ts).
 * Adding a setting is one row here plus its use.
 *
 * Columns: `key` is the camelCase name (commander's option key, the raw settings' key); `flag` and `arg` the command
 * line (no `arg`: a boolean flag); `env` the name after `AUTHGATE_` (and, lower-cased, the profile field); `bare`: the
 * Go CLI's unprefixed name is read too; `dotenv`: whether a working-directory `.env` may set it (such a file may come
 * with a cloned repository, so it may only choose which session and how to sign in; anything that decides where a
 * token goes, which file is written, or how long a token lives stays with the user); `type` how the value is
 * checked; `unit` what a bare number means; `fallback` the default; `library` the `createClient` option, whose unit
 * is in its name (`…Ms`, `…Seconds`).
 */
export interface SettingRow {
  readonly key: string
  readonly flag: string
  readonly arg?: string
  readonly env: string
  readonly bare?: true
  readonly dotenv: boolean
  readonly type: 'string' | 'list' | 'url' | 'path' | 'choice' | 'port' | 'duration' | 'boolean'
  readonly unit?: 'seconds'
  readonly choices?: readonly string[]
  /** May be given more than once; the values are joined with commas, as the environment variable lists them. */
  readonly repeatable?: true
  readonly fallback?: string
  /** Chooses the profile: read before the other settings, never from a profile. */
  readonly selectsProfile?: true
  /** Describes one run, not a place to sign in: never saved in a profile. */
  readonly perRun?: true
  readonly library?: string
  readonly help: string
}

export const SETTINGS = [
  {
    key: 'serverUrl',
    flag: '--server-url',
    arg: '<url>',
    env: 'SERVER_URL',
    bare: true,
    dotenv: true,
    type: 'url',
    fallback: 'http://localhost:8080',
    library: 'serverUrl',
    help: 'OAuth / AuthGate server URL (AUTHGATE_SERVER_URL; default http://localhost:8080)',
  },
  {
    key: 'clientId',
    flag: '--client-id',
    arg: '<id>',
    env: 'CLIENT_ID',
    bare: true,
    dotenv: true,
    type: 'string',
    library: 'clientId',
    help: 'OAuth client id (AUTHGATE_CLIENT_ID; required)',
  },
  {
    key: 'clientSecret',
    flag: '--client-secret',
    arg: '<secret>',
    env: 'CLIENT_SECRET',
    bare: true,
    dotenv: true,
    type: 'string',
    library: 'clientSecret',
    help: 'secret of a confidential client; prefer AUTHGATE_CLIENT_SECRET: argv is visible to other users',
  },
  {
    key: 'scope',
    flag: '--scope',
    arg: '<scopes>',
    env: 'SCOPE',
    bare: true,
    dotenv: true,
    type: 'string',
    fallback: 'email profile',
    library: 'scope',
    help: 'space-separated scopes to request (AUTHGATE_SCOPE; default "email profile")',
  },
  {
    key: 'tokenStore',
    flag: '--token-store',
    arg: '<name>',
    env: 'TOKEN_STORE',
    bare: true,
    dotenv: false,
    type: 'choice',
    choices: ['auto', 'keyring', 'file', 'encrypted', 'postgres'],
    fallback: 'auto',
    library: 'tokenStore',
    help: 'where tokens live (AUTHGATE_TOKEN_STORE; default auto)',
  },
  {
    key: 'tokenFile',
    flag: '--token-file',
    arg: '<path>',
    env: 'TOKEN_FILE',
    bare: true,
    dotenv: false,
    type: 'path',
    library: 'tokenFile',
    help: 'token file of the file stores (AUTHGATE_TOKEN_FILE)',
  },
  {
    key: 'lockDir',
    flag: '--lock-dir',
    arg: '<dir>',
    env: 'LOCK_DIR',
    dotenv: false,
    type: 'path',
    library: 'lockDir',
    help: 'directory of the per-session refresh locks (AUTHGATE_LOCK_DIR)',
  },
  {
    key: 'callbackPort',
    flag: '--callback-port',
    arg: '<port>',
    env: 'CALLBACK_PORT',
    bare: true,
    dotenv: true,
    type: 'port',
    fallback: '8888',
    library: 'callbackPort',
    help: 'loopback port for the browser sign-in (AUTHGATE_CALLBACK_PORT; default 8888)',
  },
  {
    key: 'redirectUri',
    flag: '--redirect-uri',
    arg: '<uri>',
    env: 'REDIRECT_URI',
    bare: true,
    dotenv: true,
    type: 'url',
    library: 'redirectUri',
    help: 'redirect URI registered for the client (AUTHGATE_REDIRECT_URI)',
  },
  {
    key: 'refreshSkew',
    flag: '--refresh-skew',
    arg: '<seconds>',
    env: 'REFRESH_SKEW',
    dotenv: false,
    type: 'duration',
    unit: 'seconds',
    fallback: '60',
    library: 'refreshSkewSeconds',
    help: 'refresh when less than min(skew, half the lifetime) remains (AUTHGATE_REFRESH_SKEW; default 60)',
  },
  {
    key: 'lockTimeout',
    flag: '--lock-timeout',
    arg: '<seconds>',
    env: 'LOCK_TIMEOUT',
    dotenv: false,
    type: 'duration',
    unit: 'seconds',
    fallback: '30',
    library: 'lockTimeoutMs',
    help: 'longest wait for another process refreshing the same session (AUTHGATE_LOCK_TIMEOUT; default 30)',
  },
  {
    key: 'callbackTimeout',
    flag: '--callback-timeout',
    arg: '<seconds>',
    env: 'CALLBACK_TIMEOUT',
    dotenv: false,
    type: 'duration',
    unit: 'seconds',
    fallback: '120',
    library: 'callbackTimeoutMs',
    help: 'longest wait for the browser callback before the device flow (AUTHGATE_CALLBACK_TIMEOUT; default 120)',
  },
  {
    key: 'httpTimeout',
    flag: '--http-timeout',
    arg: '<seconds>',
    env: 'HTTP_TIMEOUT',
    dotenv: false,
    type: 'duration',
    unit: 'seconds',
    fallback: '10',
    help: 'deadline for one HTTP exchange, headers and body (AUTHGATE_HTTP_TIMEOUT; default 10)',
  },
  {
    key: 'allowInsecureHttp',
    flag: '--allow-insecure-http',
    env: 'ALLOW_INSECURE_HTTP',
    dotenv: false,
    type: 'boolean',
    fallback: 'false',
    library: 'allowInsecureHttp',
    help: 'allow plain http:// to a non-loopback host (AUTHGATE_ALLOW_INSECURE_HTTP)',
  },
  {
    key: 'clientAuth',
    flag: '--client-auth',
    arg: '<method>',
    env: 'CLIENT_AUTH',
    dotenv: true,
    type: 'choice',
    choices: ['post', 'basic'],
    fallback: 'post',
    library: 'clientAuth',
    help: 'client_secret_post or client_secret_basic (AUTHGATE_CLIENT_AUTH; default post)',
  },
  {
    key: 'apiUrl',
    flag: '--api-url',
    arg: '<url>',
    env: 'API_URL',
    dotenv: false,
    type: 'url',
    library: 'apiUrl',
    help: 'base URL for `authgate api` paths, and an origin that may receive the token (AUTHGATE_API_URL; default the server URL)',
  },
  {
    key: 'allowHost',
    flag: '--allow-host',
    arg: '<host[:port]>',
    env: 'ALLOW_HOSTS',
    dotenv: false,
    type: 'list',
    repeatable: true,
    library: 'allowedHosts',
    help: 'a further host that may receive the token, all ports unless one is given (repeatable; AUTHGATE_ALLOW_HOSTS)',
  },
  {
    key: 'registry',
    flag: '--registry',
    arg: '<host>',
    env: 'REGISTRY',
    // A `.env` must not decide which registries receive the token.
    dotenv: false,
    type: 'list',
    repeatable: true,
    help: 'a registry host the Docker credential helper answers for; repeatable (AUTHGATE_REGISTRY, comma-separated)',
  },
  {
    key: 'grant',
    flag: '--grant',
    arg: '<grant>',
    env: 'GRANT',
    dotenv: false,
    type: 'choice',
    choices: ['user', 'client-credentials'],
    fallback: 'user',
    library: 'grant',
    help: 'user (sign in as a person) or client-credentials: a machine session for CI (AUTHGATE_GRANT; default user)',
  },
  {
    key: 'agentSock',
    flag: '--agent-sock',
    arg: '<path>',
    env: 'AGENT_SOCK',
    // A `.env` naming a socket would make every command trust whatever answers on it.
    dotenv: false,
    type: 'path',
    library: 'agentSock',
    help: 'get access tokens from an `authgate agent` on this socket, not a local store (AUTHGATE_AGENT_SOCK)',
  },
  {
    key: 'databaseUrl',
    flag: '--database-url',
    arg: '<url>',
    env: 'DATABASE_URL',
    // A cloned repository must not send a fleet's sessions to its own database.
    dotenv: false,
    type: 'string',
    library: 'databaseUrl',
    help: 'PostgreSQL URL for --token-store postgres (AUTHGATE_DATABASE_URL; default libpq PG* variables)',
  },
  {
    key: 'profile',
    flag: '--profile',
    arg: '<name>',
    env: 'PROFILE',
    dotenv: false,
    type: 'string',
    fallback: 'default',
    selectsProfile: true,
    library: 'profile',
    help: 'named settings from the user config file (AUTHGATE_PROFILE; default "default")',
  },
  {
    key: 'verbose',
    flag: '--verbose',
    env: 'DEBUG',
    dotenv: false,
    type: 'boolean',
    fallback: 'false',
    perRun: true,
    help: 'HTTP trace on stderr, tokens and secrets redacted (AUTHGATE_DEBUG)',
  },
] as const satisfies readonly SettingRow[]

export type SettingKey = (typeof SETTINGS)[number]['key']

/** Settings as given, before checking: the strings of flags, environment, `.env` and profile. */
export type RawSettings = { [K in SettingKey]?: string }

/** The row of a setting that the resolver reads (every row but the profile selector). */
export const RESOLVED: readonly SettingRow[] = SETTINGS.filter((row: SettingRow) => !row.selectsProfile)

export function settingRow(key: SettingKey): SettingRow {
  return SETTINGS.find((row) => row.key === key)!
}
