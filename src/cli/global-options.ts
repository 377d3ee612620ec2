import type { GlobalFlags } from '../session/open.ts'

/**
 * The global options in one table: commander's definitions (program.ts) and the fast lane's small parser
 * (fast-token.ts) are both built from it, so they cannot disagree about a name.
 */
export interface GlobalOption {
  readonly flag: string
  readonly key: keyof GlobalFlags | 'json' | 'verbose'
  readonly arg?: string
  readonly help: string
  readonly choices?: readonly string[]
  /** May be given more than once; the values are joined with commas, as the environment variable spells a list. */
  readonly repeatable?: true
}

export const GLOBAL_OPTIONS: readonly GlobalOption[] = [
  {
    flag: '--server-url',
    key: 'serverUrl',
    arg: '<url>',
    help: 'OAuth / AuthGate server URL (AUTHGATE_SERVER_URL; default http://localhost:8080)',
  },
  { flag: '--client-id', key: 'clientId', arg: '<id>', help: 'OAuth client id (AUTHGATE_CLIENT_ID; required)' },
  {
    flag: '--client-secret',
    key: 'clientSecret',
    arg: '<secret>',
    help: 'secret of a confidential client; prefer AUTHGATE_CLIENT_SECRET: argv is visible to other users',
  },
  {
    flag: '--scope',
    key: 'scope',
    arg: '<scopes>',
    help: 'space-separated scopes to request (AUTHGATE_SCOPE; default "email profile")',
  },
  {
    flag: '--token-store',
    key: 'tokenStore',
    arg: '<name>',
    help: 'where tokens live (AUTHGATE_TOKEN_STORE; default auto)',
    choices: ['auto', 'keyring', 'file', 'encrypted', 'postgres'],
  },
  {
    flag: '--token-file',
    key: 'tokenFile',
    arg: '<path>',
    help: 'token file of the file stores (AUTHGATE_TOKEN_FILE)',
  },
  {
    flag: '--lock-dir',
    key: 'lockDir',
    arg: '<dir>',
    help: 'directory of the per-session refresh locks (AUTHGATE_LOCK_DIR)',
  },
  {
    flag: '--callback-port',
    key: 'callbackPort',
    arg: '<port>',
    help: 'loopback port for the browser sign-in (AUTHGATE_CALLBACK_PORT; default 8888)',
  },
  {
    flag: '--redirect-uri',
    key: 'redirectUri',
    arg: '<uri>',
    help: 'redirect URI registered for the client (AUTHGATE_REDIRECT_URI)',
  },
  {
    flag: '--refresh-skew',
    key: 'refreshSkew',
    arg: '<seconds>',
    help: 'refresh when less than min(skew, half the lifetime) remains (AUTHGATE_REFRESH_SKEW; default 60)',
  },
  {
    flag: '--lock-timeout',
    key: 'lockTimeout',
    arg: '<seconds>',
    help: 'longest wait for another process refreshing the same session (AUTHGATE_LOCK_TIMEOUT; default 30)',
  },
  {
    flag: '--callback-timeout',
    key: 'callbackTimeout',
    arg: '<seconds>',
    help: 'longest wait for the browser callback before the device flow (AUTHGATE_CALLBACK_TIMEOUT; default 120)',
  },
  {
    flag: '--http-timeout',
    key: 'httpTimeout',
    arg: '<seconds>',
    help: 'deadline for one HTTP exchange, headers and body (AUTHGATE_HTTP_TIMEOUT; default 10)',
  },
  {
    flag: '--allow-insecure-http',
    key: 'allowInsecureHttp',
    help: 'allow plain http:// to a non-loopback host (AUTHGATE_ALLOW_INSECURE_HTTP)',
  },
  {
    flag: '--client-auth',
    key: 'clientAuth',
    arg: '<method>',
    help: 'client_secret_post or client_secret_basic (AUTHGATE_CLIENT_AUTH; default post)',
    choices: ['post', 'basic'],
  },
  {
    flag: '--api-url',
    key: 'apiUrl',
    arg: '<url>',
    help: 'base URL for `authgate api` paths, and an origin that may receive the token (AUTHGATE_API_URL; default the server URL)',
  },
  {
    flag: '--allow-host',
    key: 'allowHost',
    arg: '<host[:port]>',
    help: 'a further host that may receive the token, all ports unless one is given (repeatable; AUTHGATE_ALLOW_HOSTS)',
    repeatable: true,
  },
  {
    flag: '--registry',
    key: 'registry',
    arg: '<host>',
    help: 'a registry host the Docker credential helper answers for; repeatable (AUTHGATE_REGISTRY, comma-separated)',
    repeatable: true,
  },
  {
    flag: '--grant',
    key: 'grant',
    arg: '<grant>',
    help: 'user (sign in as a person) or client-credentials: a machine session for CI (AUTHGATE_GRANT; default user)',
    choices: ['user', 'client-credentials'],
  },
  {
    flag: '--agent-sock',
    key: 'agentSock',
    arg: '<path>',
    help: 'get access tokens from an `authgate agent` on this socket, not a local store (AUTHGATE_AGENT_SOCK)',
  },
  {
    flag: '--database-url',
    key: 'databaseUrl',
    arg: '<url>',
    help: 'PostgreSQL URL for --token-store postgres (AUTHGATE_DATABASE_URL; default libpq PG* variables)',
  },
  {
    flag: '--profile',
    key: 'profile',
    arg: '<name>',
    help: 'named settings from the user config file (AUTHGATE_PROFILE; default "default")',
  },
  { flag: '--json', key: 'json', help: 'machine-readable output where a command has any' },
  { flag: '--verbose', key: 'verbose', help: 'HTTP trace on stderr, tokens and secrets redacted (AUTHGATE_DEBUG)' },
]

/**
 * Parses `token` plus global options only, in the forms commander accepts (`--x v`, `--x=v`, boolean flags).
 * Anything else (help, an unknown or repeated flag, a missing value) returns undefined: the full program handles it.
 */
export function parseTokenArgv(
  argv: readonly string[],
): { flags: GlobalFlags; json: boolean; verbose: boolean; login: boolean } | undefined {
  const flags: Record<string, string> = {}
  let sawCommand = false
  let login = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === 'token' && !sawCommand) {
      sawCommand = true
      continue
    }
    // `token --login`: a usable token is printed here as without it; the sign-in, if needed, is the full program's.
    if (arg === '--login' && sawCommand) {
      login = true
      continue
    }
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(0, eq) : arg
    const option = GLOBAL_OPTIONS.find((o) => o.flag === name)
    if (!option || flags[option.key] !== undefined) return undefined
    let value = 'true'
    if (option.arg) {
      value = eq > 0 ? arg.slice(eq + 1) : (argv[++i] ?? '')
      if (value === '' || (eq < 0 && value.startsWith('-'))) return undefined
      if (option.choices && !option.choices.includes(value)) return undefined
    } else if (eq > 0) return undefined
    flags[option.key] = value
  }
  if (!sawCommand) return undefined
  const { json, verbose, ...rest } = flags
  return {
    flags: { ...rest, ...(verbose ? { verbose } : {}) } as GlobalFlags,
    json: json === 'true',
    verbose: verbose === 'true',
    login,
  }
}
