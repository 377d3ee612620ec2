import type { Settings } from '../config/settings.ts'
import type { CallbackListener, CallbackWaitOptions } from '../loopback/callback-server.ts'
import type { Deps } from './deps.ts'
import type { Grant, LoginProtocol } from './protocol-types.ts'

export type Flow = 'device' | 'browser'

/** Where the browser sends the person back: the port to bind, the path to serve, the redirect URI to send. */
export interface CallbackAddress {
  readonly port: number
  readonly path: string
  redirectUriFor(boundPort: number): string
}

/**
 * The redirect URI decides where the listener lives; `--callback-port` fills in a URI without a port. A URI with
 * an explicit port is sent byte for byte (AuthGate compares redirect URIs as strings, §4); one with port 0 or none
 * gets the port the kernel gave us (RFC 8252 §7.3: servers such as oidc-provider accept any loopback port).
 * @returns the address, or why the browser flow cannot listen for this URI.
 */
export function callbackAddress(
  settings: Pick<Settings, 'redirectUri' | 'callbackPort'>,
): CallbackAddress | { reason: string } {
  const url = URL.canParse(settings.redirectUri) ? new URL(settings.redirectUri) : undefined
  // The listener binds 127.0.0.1 only, so only names that reach it will do.
  if (!url || url.protocol !== 'http:' || (url.hostname !== 'localhost' && url.hostname !== '127.0.0.1')) {
    return {
      reason: `the redirect URI ${settings.redirectUri} is not http://localhost or http://127.0.0.1, where authgate listens`,
    }
  }
  const isFixed = url.port !== '' && url.port !== '0'
  return {
    port: url.port === '' ? settings.callbackPort : Number(url.port),
    path: url.pathname,
    redirectUriFor(boundPort: number): string {
      if (isFixed) return settings.redirectUri
      const sent = new URL(settings.redirectUri)
      sent.port = String(boundPort)
      return sent.href
    },
  }
}

/** What the browser flow tells the person. */
export interface BrowserUi {
  /** `opened`: a browser was started; `not-opened`: --no-open; `open-failed`: starting one failed (`detail` says why). */
  authorizationUrl(url: string, how: 'opened' | 'not-opened' | 'open-failed', detail?: string): void
  /** The browser flow gave up and the device flow takes over. */
  fallback?(why: string): void
}

export interface BrowserFlowInput {
  readonly listener: CallbackListener<Grant>
  readonly address: CallbackAddress
  readonly protocol: Pick<LoginProtocol, 'authorizationRequest' | 'exchangeCode'>
  readonly scope: string
  readonly timeoutMs: number
  /** False with --no-open. */
  readonly open: boolean
  readonly deps: Pick<Deps, 'sleep' | 'browser' | 'signal'>
  readonly ui: BrowserUi
  /** The device flow, for the fallback; `signal` stops it when the browser wins a race. */
  device(signal: AbortSignal | undefined): Promise<Grant>
}

export interface FlowGrant {
  flow: Flow
  grant: Grant
}

/**
 * Authorization Code + PKCE through a loopback listener that is already bound. Falls back to the device flow when no
 * callback arrives in time; when the browser cannot be opened, the printed URL and the device flow race, and the
 * first to finish wins. The listener is closed on every path.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export async function runBrowserFlow(input: BrowserFlowInput): Promise<FlowGrant> {
  const wait: CallbackWaitOptions = { timeoutMs: input.timeoutMs, sleep: input.deps.sleep, signal: input.deps.signal }
  try {
    const request = await input.protocol.authorizationRequest(
      input.address.redirectUriFor(input.listener.port),
      input.scope,
    )
    // Expect the callback before anything can open the URL: a fast browser must find the listener ready.
    input.listener.expect({
      path: input.address.path,
      state: request.state,
      handle: (params) => input.protocol.exchangeCode(params, request),
    })
    const opened = input.open ? await openBrowser(input.deps.browser, request.url) : undefined
    input.ui.authorizationUrl(
      request.url,
      opened === undefined ? 'not-opened' : opened.ok ? 'opened' : 'open-failed',
      opened?.detail,
    )
    if (opened && !opened.ok) return await raceWithDevice(input, wait)
    const outcome = await input.listener.wait(wait)
    if (outcome.kind === 'done') return { flow: 'browser', grant: outcome.value }
  } finally {
    await input.listener.close()
  }
  input.ui.fallback?.(`no sign-in came back from the browser within ${Math.round(input.timeoutMs / 1000)} s`)
  return { flow: 'device', grant: await input.device(input.deps.signal) }
}

async function openBrowser(browser: Deps['browser'], url: string): Promise<{ ok: boolean; detail?: string }> {
  try {
    await browser.open(url)
    return { ok: true }
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) }
  }
}

/** The URL is on the screen and the device code too: whichever the person completes first signs them in. */
async function raceWithDevice(input: BrowserFlowInput, wait: CallbackWaitOptions): Promise<FlowGrant> {
  const stop = new AbortController()
  const signal = input.deps.signal ? AbortSignal.any([input.deps.signal, stop.signal]) : stop.signal
  const viaBrowser = input.listener.wait(wait).then((o): FlowGrant => {
    if (o.kind === 'done') return { flow: 'browser', grant: o.value }
    throw new Error('no callback')
  })
  const viaDevice = input.device(signal).then((grant): FlowGrant => ({ flow: 'device', grant }))
  try {
    return await Promise.any([viaBrowser, viaDevice])
  } catch (err) {
    // Both failed: Ctrl+C, or the device flow's own failure, says more than "no callback".
    throw (err as AggregateError).errors[1]
  } finally {
    stop.abort()
  }
}
