import type { Settings } from '../config/settings.ts'
import { InterruptedError, UsageError } from '../errors.ts'
import { listenForCallback, type CallbackListener } from '../loopback/callback-server.ts'
import type { TokenSet } from '../stores/types.ts'
import type { Deps } from './deps.ts'
import type { SessionContext } from './refresh-engine.ts'
import {
  callbackAddress,
  runBrowserFlow,
  type BrowserUi,
  type CallbackAddress,
  type Flow,
  type FlowGrant,
} from './login-browser.ts'
import { runDeviceFlow, type DeviceUi } from './login-device.ts'
import type { Grant, LoginProtocol, Protocol } from './protocol-types.ts'
import { saveLoginTokens } from './login-save.ts'
import { tokensFromGrant } from './grant-tokens.ts'
import { guardLoginGrants, loginHolder } from './preflight.ts'
import { peerSignedIn, serialiseSignIn } from './login-lock.ts'

export type { Flow } from './login-browser.ts'
export type { DeviceUi } from './login-device.ts'

/** Everything the flow choice depends on. Pure input: no environment, no sockets. */
export interface FlowSignals {
  /** --device (alias --no-browser) or --browser. */
  forced?: Flow | undefined
  /** SSH_TTY, SSH_CLIENT or SSH_CONNECTION is set. */
  ssh: boolean
  /** DISPLAY or WAYLAND_DISPLAY is set. */
  display: boolean
  /** The callback listener could be bound (only asked when everything else says browser). */
  portFree: boolean
  platform: NodeJS.Platform
}

/** The contract's "Login flow selection", with the reason shown to the person when it is not what they asked for. */
export function decideFlow(s: FlowSignals): { flow: Flow; reason?: string } {
  if (s.forced) return { flow: s.forced }
  if (s.ssh && !s.display) return { flow: 'device', reason: 'this is an SSH session without a display' }
  if (needsDisplayServer(s.platform) && !s.display)
    return { flow: 'device', reason: 'there is no display (DISPLAY and WAYLAND_DISPLAY are unset)' }
  if (!s.portFree) return { flow: 'device', reason: 'the callback port cannot be bound' }
  return { flow: 'browser' }
}

/** Pure: forced flags, then SSH without a display, then no display on Linux (and other X11 systems), then a busy port. */
export function chooseFlow(s: FlowSignals): Flow {
  return decideFlow(s).flow
}

// macOS and Windows always have a window server; elsewhere a browser needs X11 or Wayland.
function needsDisplayServer(platform: NodeJS.Platform): boolean {
  return platform !== 'darwin' && platform !== 'win32'
}

/** The environment half of the signals; the port is probed by binding the real listener. */
export function environmentSignals(env: Deps['env'], platform: NodeJS.Platform, forced?: Flow): FlowSignals {
  const set = (name: string) => Boolean(env[name])
  return {
    forced,
    ssh: set('SSH_TTY') || set('SSH_CLIENT') || set('SSH_CONNECTION'),
    display: set('DISPLAY') || set('WAYLAND_DISPLAY'),
    portFree: true,
    platform,
  }
}

/** Everything the login reports as it goes; the CLI writes it to stderr, the demo also approves the device code. */
export interface LoginUi extends DeviceUi, BrowserUi {
  /** The flow in use, and why when it was chosen for the person (SSH, no display, busy port). */
  flow?(flow: Flow, reason: string | undefined): void
  /** Where the tokens went (auto's choice, a session moved between backends), one line each. */
  note?(line: string): void
  /** Another process is signing in to this session: we wait for it (`holderPid` when known). */
  waitingForPeer?(holderPid: number | undefined): void
}

export interface LoginRequest {
  forced?: Flow | undefined
  /** False with --no-open: the URL is printed, never opened. */
  open: boolean
  /**
   * Under the login lock, before signing in: tokens to use instead. Default: those a peer's sign-in saved since this
   * call began (see peerSignedIn). `--login` passes a full token attempt, refresh included.
   */
  reuse?: (() => Promise<TokenSet | undefined>) | undefined
}

/** The narrow part of an OpenSession the login needs. */
export interface LoginSession {
  readonly settings: Pick<
    Settings,
    'scope' | 'redirectUri' | 'callbackPort' | 'callbackTimeoutMs' | 'tokenStore' | 'tokenFile' | 'lockTimeoutMs'
  >
  readonly context: SessionContext
  protocol(): Promise<LoginProtocol & Pick<Protocol, 'issuer'>>
}

export type LoginDeps = Pick<Deps, 'clock' | 'sleep' | 'env' | 'platform' | 'browser' | 'signal'>

export interface LoginResult {
  tokens: TokenSet
  /** The flow this call signed in with; undefined when it reused a peer's sign-in. */
  flow: Flow | undefined
  /** Another process signed in while this one waited on the login lock: its tokens, no sign-in of our own. */
  reused: boolean
}

/**
 * Signs in and replaces the session's entry, one sign-in per session at a time (session/login-lock.ts): a second
 * caller waits for the first and uses its tokens. No refresh lock is held while the person types a code or clicks in
 * the browser; saveLoginTokens takes it only to write. Ctrl+C at any point before the write saves nothing.
 * @throws InterruptedError, UsageError (--browser with a busy port), RequestFailedError (denied, expired, refused),
 *   TemporaryError (also a login-lock wait that timed out), ProtocolError, StoreError.
 */
export async function signIn(
  session: LoginSession,
  deps: LoginDeps,
  request: LoginRequest,
  ui: LoginUi,
): Promise<LoginResult> {
  const ctx = session.context
  const before = await ctx.store.read(ctx.key)
  const reuse =
    request.reuse ??
    (async () => peerSignedIn(before, await ctx.store.read(ctx.key), ctx.clock.now(), ctx.refreshSkewSeconds))
  const outcome = await serialiseSignIn(ctx, {
    reuse,
    waiting: (pid) => ui.waitingForPeer?.(pid),
    signIn: () => signInNow(session, deps, request, ui),
  })
  return 'reused' in outcome ? { tokens: outcome.reused, flow: undefined, reused: true } : outcome.signedIn
}

async function signInNow(
  session: LoginSession,
  deps: LoginDeps,
  request: LoginRequest,
  ui: LoginUi,
): Promise<LoginResult> {
  const protocol = await session.protocol()
  const holder = loginHolder()
  try {
    const guarded = guardLoginGrants(session.context, protocol, holder)
    const { flow, grant } = await obtainGrant(session, deps, request, ui, guarded)
    const tokens = tokensFromGrant(grant, deps.clock.now(), { issuer: await protocol.issuer(), flow })
    if (deps.signal?.aborted) throw new InterruptedError()
    await saveLoginTokens(session, tokens, deps, (line) => ui.note?.(line), holder.claim())
    return { tokens, flow, reused: false }
  } finally {
    await holder.free()
  }
}

async function obtainGrant(
  session: LoginSession,
  deps: LoginDeps,
  request: LoginRequest,
  ui: LoginUi,
  protocol: LoginProtocol,
): Promise<FlowGrant> {
  const { scope, callbackTimeoutMs: timeoutMs } = session.settings
  const device = (signal: AbortSignal | undefined) =>
    runDeviceFlow({ protocol, scope, clock: deps.clock, sleep: deps.sleep, signal, ui })
  const signals = environmentSignals(deps.env, deps.platform, request.forced)
  const first = decideFlow(signals)
  if (first.flow === 'device') return deviceOnly(first.reason, ui, device, deps)
  // Binding is the port probe: the listener that answers "is it free?" is the one that will serve the callback.
  const bound = await bindCallback(session.settings)
  if (!bound.ok) {
    if (request.forced === 'browser') {
      throw new UsageError(`cannot start the browser sign-in: ${bound.reason}`, {
        hint: 'free the port, pass --callback-port or --redirect-uri, or use --device',
      })
    }
    return deviceOnly(`${decideFlow({ ...signals, portFree: false }).reason} (${bound.reason})`, ui, device, deps)
  }
  ui.flow?.('browser', undefined)
  const { listener, address } = bound
  return runBrowserFlow({ listener, address, protocol, scope, timeoutMs, open: request.open, deps, ui, device })
}

type Bound = { ok: true; listener: CallbackListener<Grant>; address: CallbackAddress } | { ok: false; reason: string }

async function bindCallback(settings: LoginSession['settings']): Promise<Bound> {
  const address = callbackAddress(settings)
  if ('reason' in address) return { ok: false, reason: address.reason }
  const bound = await listenForCallback<Grant>(address.port)
  return bound.ok ? { ok: true, listener: bound.listener, address } : bound
}

async function deviceOnly(
  reason: string | undefined,
  ui: LoginUi,
  device: (signal: AbortSignal | undefined) => Promise<Grant>,
  deps: LoginDeps,
): Promise<FlowGrant> {
  ui.flow?.('device', reason)
  return { flow: 'device', grant: await device(deps.signal) }
}
