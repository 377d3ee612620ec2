import { isLoopbackHost } from '../../session-key.ts'
import { isAllowedOrigin, type Settings } from '../../config/settings.ts'
import { loadSettings } from '../../session/open.ts'
import { validTokens, type CommandEnv } from '../command-env.ts'
import { readText } from './stdin.ts'

export interface GitCredentialOptions {
  /** What git asks: `get`, `store` or `erase`; anything else is ignored, as gitcredentials(7) asks of helpers. */
  operation: string
  /** The username to answer with when git names none: `oauth2` (GitLab, Gitea, Bitbucket); GitHub Apps want `x-access-token`. */
  username: string
  /** --login: sign in interactively (prompts on stderr; git shows them) when there is no usable session. */
  login: boolean
}

/** The attributes of git's request that decide whether we answer (git-credential(1), "INPUT/OUTPUT FORMAT"). */
export interface GitCredentialRequest {
  protocol?: string | undefined
  host?: string | undefined
  username?: string | undefined
}

/**
 * git's format: `key=value` lines, ended by a blank line or EOF. A `url=` attribute stands for its parts, as git itself
 * reads it. Unknown keys and malformed lines are skipped: newer gits send attributes older helpers never heard of.
 */
export function parseGitCredential(text: string): GitCredentialRequest {
  const attrs = new Map<string, string>()
  for (const line of text.split('\n')) {
    const clean = line.replace(/\r$/, '')
    if (clean === '') break
    const eq = clean.indexOf('=')
    if (eq > 0) attrs.set(clean.slice(0, eq), clean.slice(eq + 1))
  }
  const url = attrs.has('url') && URL.canParse(attrs.get('url')!) ? new URL(attrs.get('url')!) : undefined
  return {
    protocol: attrs.get('protocol') ?? url?.protocol.replace(/:$/, ''),
    host: attrs.get('host') ?? url?.host,
    username: attrs.get('username') ?? (url?.username ? decodeURIComponent(url.username) : undefined),
  }
}

/**
 * Pure: answer only for the origins the user configured (the server URL, the API URL, the allowed hosts), so a token
 * for one host is never handed to another that happens to share the helper. The port counts; a default port is the
 * same as none.
 */
export function isConfiguredOrigin(
  request: GitCredentialRequest,
  settings: Pick<Settings, 'serverUrl' | 'apiUrl' | 'allowedHosts' | 'allowInsecureHttp'>,
): boolean {
  if (!request.protocol || !request.host) return false
  // Only a bare scheme and host[:port]: `api.example#.evil`, `evil@api.example` or a scheme with `://` in it would be
  // read by URL as a configured origin while git meant another host.
  if (!/^[a-z][a-z0-9+.-]*$/i.test(request.protocol) || /[/\\?#@\s]/.test(request.host)) return false
  const asked = `${request.protocol.toLowerCase()}://${request.host.toLowerCase()}`
  if (!URL.canParse(asked)) return false
  const url = new URL(asked)
  // As `api` refuses: an allowed host does not make plain http acceptable off this machine (contract, trust).
  if (url.protocol === 'http:' && !settings.allowInsecureHttp && !isLoopbackHost(url.hostname)) return false
  return isAllowedOrigin(url, settings)
}

/** Pure: the helper's answer. `password_expiry_utc` (git ≥ 2.41) keeps a caching helper from outliving the token. */
export function formatGitCredential(answer: {
  username: string
  password: string
  expiresAtMs?: number | undefined
}): string {
  const lines = [`username=${answer.username}`, `password=${answer.password}`]
  if (answer.expiresAtMs !== undefined) lines.push(`password_expiry_utc=${Math.floor(answer.expiresAtMs / 1000)}`)
  return `${lines.join('\n')}\n`
}

/**
 * `get` prints a valid access token (refreshed first when expiring) as the password, and nothing for any other host,
 * so git asks its next helper. `store` and `erase` read their input and do nothing: the session belongs to
 * `authgate login`/`logout`, and a later `get` hands out a valid token anyway.
 */
export async function runGitCredential(options: GitCredentialOptions, env: CommandEnv): Promise<void> {
  const input = await readText(env.deps.io.stdin)
  if (options.operation !== 'get') return
  const request = parseGitCredential(input)
  const settings = loadSettings(env.flags, env.deps)
  env.secret(settings.clientSecret)
  if (!isConfiguredOrigin(request, settings)) {
    env.trace?.(
      `credential git: ${request.protocol ?? '?'}://${request.host ?? '?'} is not ${settings.apiUrl} or ${settings.serverUrl}; no answer`,
    )
    return
  }
  const tokens = await validTokens(env, settings, { login: options.login })
  const username = request.username ?? options.username
  env.deps.io.stdout.write(
    formatGitCredential({ username, password: tokens.accessToken, expiresAtMs: tokens.expiresAtMs }),
  )
}
