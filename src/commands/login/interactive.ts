import type { Command } from 'commander'
import { AuthRequiredError } from '../../errors.ts'
import type { TokenSource } from '../../session/api-request.ts'
import type { Deps } from '../../session/deps.ts'
import { getValidTokens } from '../../session/refresh-engine.ts'
import type { OpenSession } from '../../session/open.ts'
import type { TokenSet } from '../../stores/types.ts'
import type { CommandEnv } from '../command-env.ts'
import { stderrLoginUi } from './login-ui.ts'

/**
 * `--login` for every command that needs a token (`token`, `api`, `exec`, the credential helpers): when there is no
 * usable session, sign in interactively on stderr (stdout stays the protocol's), then carry on. kubelogin's users
 * expect `kubectl` to sign them in rather than fail; the login lock makes twenty such calls share one sign-in.
 */
export function addLoginOption(command: Command): Command {
  return command.option(
    '--login',
    'when not signed in (or the refresh token was rejected), sign in interactively on stderr if a terminal or ' +
      'browser is available, then continue; never in CI',
  )
}

/**
 * Pure: whether a person can be reached. Never in CI (`CI` set and not false): a job must fail fast with exit 4, not
 * wait 30 minutes for a device code nobody sees. Otherwise a terminal on stderr (where the prompts go) or a display
 * for the browser will do.
 */
export function canSignInInteractively(s: Pick<Deps, 'env' | 'platform'> & { isStderrTTY: boolean }): boolean {
  const ci = (s.env.CI ?? '').trim().toLowerCase()
  if (ci !== '' && ci !== 'false' && ci !== '0') return false
  if (s.isStderrTTY) return true
  if (s.env.DISPLAY || s.env.WAYLAND_DISPLAY) return true
  return s.platform === 'darwin' || s.platform === 'win32'
}

/**
 * The tokens a command uses: the engine's; with `login`, an AuthRequiredError (no session, refresh token rejected)
 * becomes an interactive sign-in when a person can be reached, and otherwise stays exit 4 as without `--login`.
 */
export function tokenSourceWithLogin(session: OpenSession, env: CommandEnv, login: boolean): TokenSource {
  return async (request) => {
    try {
      return await getValidTokens(session.context, request)
    } catch (err) {
      const reachable = canSignInInteractively({ ...env.deps, isStderrTTY: env.deps.io.isStderrTTY })
      // Under an agent the session and its sign-in live on the agent's host: nothing to sign in to here.
      if (!login || session.context.agent || !(err instanceof AuthRequiredError) || !reachable) throw err
      return signInForCommand(session, env)
    }
  }
}

/**
 * Signs in under the login lock. Once the lock is ours, a full token attempt comes first: a peer may have signed in
 * while we waited (or before we asked), and then its tokens are used, refreshed if need be, with no sign-in of ours.
 */
async function signInForCommand(session: OpenSession, env: CommandEnv): Promise<TokenSet> {
  const { signIn } = await import('../../session/login.ts')
  const ui = stderrLoginUi({
    say: env.say,
    write: (text) => void env.deps.io.stderr.write(text),
    isTTY: env.deps.io.isStderrTTY,
    serverUrl: session.settings.serverUrl,
    callbackTimeoutMs: session.settings.callbackTimeoutMs,
  })
  const reuse = async (): Promise<TokenSet | undefined> => {
    try {
      return await getValidTokens(session.context)
    } catch (err) {
      if (err instanceof AuthRequiredError) return undefined
      throw err
    }
  }
  const { tokens, reused } = await signIn(session, env.deps, { forced: undefined, open: true, reuse }, ui)
  if (!reused) env.say(`Signed in to ${session.settings.serverUrl}; continuing.`)
  return tokens
}
