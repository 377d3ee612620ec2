import type { DeviceAuthorization } from '../../session/protocol-types.ts'
import type { LoginUi } from '../../session/login.ts'

export interface StderrUiOptions {
  /** One redacted line on stderr. */
  say(line: string): void
  /** Raw stderr, for the countdown line that rewrites itself. */
  write(text: string): void
  /** A live countdown only on a terminal; logs and CI get plain lines. */
  isTTY: boolean
  serverUrl: string
  callbackTimeoutMs: number
}

/**
 * The login's progress on stderr (stdout stays for `--json`). URLs stand on lines of their own, unindented, so a
 * terminal's double-click or a script's line reader takes them whole.
 */
export function stderrLoginUi(o: StderrUiOptions): LoginUi {
  let countdownShown = false
  return {
    note: (line) => o.say(line),
    waitingForPeer(pid) {
      o.say(`waiting for the sign-in in progress${pid === undefined ? '' : ` (pid ${pid})`}`)
    },
    flow(flow, reason) {
      if (reason) o.say(`Using the ${flow === 'device' ? 'device' : 'browser'} flow: ${reason}.`)
    },
    deviceCode(auth: DeviceAuthorization) {
      for (const line of deviceLines(auth, o.serverUrl)) o.say(line)
    },
    tickMs: o.isTTY ? 1000 : undefined,
    waiting(secondsLeft) {
      if (o.isTTY) {
        o.write(`\r\x1b[2KWaiting for approval… the code expires in ${clock(secondsLeft)}`)
      } else if (!countdownShown) {
        o.say(`Waiting for approval; the code expires in ${minutes(secondsLeft)}.`)
      }
      countdownShown = true
    },
    slower(intervalSeconds, why) {
      if (o.isTTY && countdownShown) o.write('\r\x1b[2K')
      o.say(
        `${why === 'slow_down' ? 'The server asked to slow down' : 'The server is rate limiting'}; polling every ${intervalSeconds} s.`,
      )
    },
    settled() {
      if (o.isTTY && countdownShown) o.write('\r\x1b[2K')
      countdownShown = false
    },
    authorizationUrl(url, how, detail) {
      for (const line of browserLines(url, how, detail, o)) o.say(line)
    },
    fallback(why) {
      o.say(`${capitalise(why)}; switching to the device flow.`)
    },
  }
}

function deviceLines(auth: DeviceAuthorization, serverUrl: string): string[] {
  const complete = auth.verificationUriComplete
  return [
    `To sign in to ${serverUrl}, open this page in a browser on any device:`,
    complete ?? auth.verificationUri,
    complete ? `and check that it shows the code ${auth.userCode}` : `and enter the code ${auth.userCode}`,
  ]
}

function browserLines(
  url: string,
  how: 'opened' | 'not-opened' | 'open-failed',
  detail: string | undefined,
  o: StderrUiOptions,
): string[] {
  const wait = `Waiting up to ${Math.round(o.callbackTimeoutMs / 1000)} s for the browser to come back…`
  if (how === 'opened') return [`Opened a browser to sign in to ${o.serverUrl}. If it did not open, visit:`, url, wait]
  if (how === 'not-opened')
    return [`To sign in to ${o.serverUrl}, open this URL in a browser on this machine:`, url, wait]
  return [
    `Could not open a browser${detail ? ` (${detail})` : ''}. To sign in on this machine, open:`,
    url,
    'or use the code below from any device.',
  ]
}

function clock(seconds: number): string {
  const m = Math.floor(seconds / 60)
  return `${m}:${String(seconds % 60).padStart(2, '0')}`
}

function minutes(seconds: number): string {
  return seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${seconds} s`
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
