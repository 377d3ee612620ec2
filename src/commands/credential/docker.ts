import { registryHost } from '../../config/settings.ts'
import { AuthgateError, CredentialsNotFoundError, UsageError } from '../../errors.ts'
import { loadSettings } from '../../session/open.ts'
import { validTokens, type CommandEnv } from '../command-env.ts'
import { readText } from './stdin.ts'

/** Docker's helper protocol (docker-credential-helpers, `credentials/credentials.go`): the four actions. */
export const DOCKER_ACTIONS = ['get', 'store', 'erase', 'list'] as const
export type DockerAction = (typeof DOCKER_ACTIONS)[number]

/** Docker's token-auth convention for a bearer in the password field (GitLab, Harbor, GCR's `oauth2accesstoken`). */
const DOCKER_USERNAME = 'oauth2'

/** The exact text Docker's client recognises (`IsErrCredentialsNotFoundMessage`) to fall back to no credentials. */
const NOT_FOUND_MESSAGE = 'credentials not found in native keychain'

export function parseDockerAction(action: string | undefined): DockerAction {
  if ((DOCKER_ACTIONS as readonly string[]).includes(action ?? '')) return action as DockerAction
  throw new UsageError(
    `unknown credential action ${JSON.stringify(action ?? '')}: expected ${DOCKER_ACTIONS.join(', ')} (Docker passes it)`,
  )
}

/** Pure: the configured registry a `get` names, or undefined; compared as lower-case host[:port] whatever the form. */
export function matchRegistry(serverUrl: string, registries: readonly string[]): string | undefined {
  const host = registryHost(serverUrl)
  return host === undefined ? undefined : registries.find((r) => r === host)
}

/** Pure: `list`'s answer, a JSON map of server → username, one per configured registry. */
export function dockerList(registries: readonly string[]): string {
  return `${JSON.stringify(Object.fromEntries(registries.map((r) => [r, DOCKER_USERNAME])))}\n`
}

/**
 * Docker's credential helper. `get` answers with a valid access token (refreshed first when expiring) only for a
 * registry the user configured; `store` and `erase` read their input and change nothing (the session belongs to
 * `authgate login`/`logout`); `list` names the configured registries. Docker reads errors from stdout (the helpers'
 * `Serve` prints them there), so a failure's one line goes to stdout too, beside the usual message on stderr.
 */
export async function runDockerCredential(action: DockerAction, env: CommandEnv): Promise<void> {
  if (action === 'list') {
    env.deps.io.stdout.write(dockerList(loadSettings(env.flags, env.deps).registries))
    return
  }
  const input = await readText(env.deps.io.stdin)
  if (action !== 'get') return
  try {
    await answerGet(input.trim(), env)
  } catch (err) {
    env.deps.io.stdout.write(`${protocolErrorLine(err)}\n`)
    throw err
  }
}

async function answerGet(serverUrl: string, env: CommandEnv): Promise<void> {
  const settings = loadSettings(env.flags, env.deps)
  if (matchRegistry(serverUrl, settings.registries) === undefined) {
    throw new CredentialsNotFoundError(NOT_FOUND_MESSAGE, {
      hint: `${JSON.stringify(serverUrl)} is not a configured registry; add it with --registry or AUTHGATE_REGISTRY`,
    })
  }
  const tokens = await validTokens(env, settings)
  const answer = { ServerURL: serverUrl, Username: DOCKER_USERNAME, Secret: tokens.accessToken }
  env.deps.io.stdout.write(`${JSON.stringify(answer)}\n`)
}

/** What Docker quotes of a failure (the helper's stdout): fixed texts, so no server string reaches it. */
function protocolErrorLine(err: unknown): string {
  if (err instanceof CredentialsNotFoundError) return NOT_FOUND_MESSAGE
  const exitCode = err instanceof AuthgateError ? err.exitCode : 1
  if (exitCode === 4) return 'authgate: not signed in, or the session has ended: run `authgate login`'
  if (exitCode === 5) return 'authgate: the sign-in server is unreachable or busy: try again'
  return `authgate: the credential helper failed (exit ${exitCode}): run \`authgate credential docker get\` to see why`
}
