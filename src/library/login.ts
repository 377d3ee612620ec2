import type { Deps } from '../session/deps.ts'
import type { LoginUi } from '../session/login.ts'
import type { OpenSession } from '../session/open.ts'
import type { Identity } from '../session/protocol-types.ts'
import { sessionStatus, type SessionStatus } from './status.ts'

/** What the person has to do to sign in; the library never prints it, the caller shows it. */
export type LoginPrompt =
  | {
      kind: 'device'
      /** Open this page (on any device)… */
      verificationUri: string
      /** …or this one, with the code already filled in, when the server gives it. */
      verificationUriComplete: string | undefined
      /** Show it exactly as it is: the person compares it with what the page shows. */
      userCode: string
      expiresInSeconds: number
    }
  | {
      kind: 'browser'
      /** The authorization URL. */
      url: string
      /** A browser was started with it; otherwise the caller should show the URL. */
      opened: boolean
    }

export interface LoginOptions {
  /** Force a flow; by default chosen as the CLI does (SSH, display and free port are read from `env` only). */
  flow?: 'device' | 'browser'
  /** False: never start a browser, only report the URL through `onPrompt`. Default true. */
  openBrowser?: boolean
  /** Called with what the person must do; awaited before the device flow's first poll. */
  onPrompt?: (prompt: LoginPrompt) => void | Promise<void>
}

/** Checks the login options at the boundary, as createClient does. */
export function checkLoginOptions(o: unknown): asserts o is LoginOptions | undefined {
  if (o === undefined) return
  if (typeof o !== 'object' || o === null) throw new TypeError('login(options): options must be an object')
  const { flow, openBrowser, onPrompt } = o as Record<string, unknown>
  if (flow !== undefined && flow !== 'device' && flow !== 'browser')
    throw new TypeError('login(options): "flow" must be "device" or "browser"')
  if (openBrowser !== undefined && typeof openBrowser !== 'boolean')
    throw new TypeError('login(options): "openBrowser" must be a boolean')
  if (onPrompt !== undefined && typeof onPrompt !== 'function')
    throw new TypeError('login(options): "onPrompt" must be a function')
}

/** The session's sign-in use case (session/login.ts), with the prompts handed to the caller instead of stderr. */
export async function logIn(session: OpenSession, deps: Deps, options: LoginOptions = {}): Promise<SessionStatus> {
  const { signIn } = await import('../session/login.ts')
  const prompt = options.onPrompt ?? (() => {})
  const ui: LoginUi = {
    deviceCode: (auth) =>
      prompt({
        kind: 'device',
        verificationUri: auth.verificationUri,
        verificationUriComplete: auth.verificationUriComplete,
        userCode: auth.userCode,
        expiresInSeconds: auth.expiresInSeconds,
      }),
    authorizationUrl: (url, how) => void prompt({ kind: 'browser', url, opened: how === 'opened' }),
  }
  const { tokens } = await signIn(session, deps, { forced: options.flow, open: options.openBrowser !== false }, ui)
  let identity: Identity | undefined
  try {
    identity = await (await session.protocol()).identify(tokens)
  } catch {
    // The tokens are saved; a server that cannot say whose they are does not undo the sign-in.
  }
  return sessionStatus(session.settings, session, tokens, identity, tokens.issuer)
}
