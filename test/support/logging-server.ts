import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * A small OAuth server on 127.0.0.1 that logs every request it gets, for the trust tests: the victim's server and
 * the attacker's are both one of these, and a test asserts what reached which. It speaks just enough of AuthGate:
 * discovery (or none), the refresh, device and code grants, the device authorization endpoint, userinfo; any other
 * path answers `{"ok":true,"path":…}`, as an API would.
 */

export interface LoggedRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly authorization: string | undefined
  readonly form: URLSearchParams
}

export interface LoggingServerOptions {
  /** The discovery document's issuer: 'self' (default) names this server, 'none' means no document at all. */
  issuer?: string
  /** Where the discovery document puts its endpoints (default: this server); a hostile one names another host. */
  endpoints?: string
  /** The user name userinfo reports (a hostile server puts terminal escapes in it). */
  username?: string
  /** The access token every grant issues (default: a fresh harmless one each time). */
  accessToken?: string
  /** The answer to every refresh grant, instead of new tokens. */
  refreshError?: { error: string; error_description: string }
  /** The device flow's user code and verification URI (default harmless ones). */
  userCode?: string
  verificationUri?: string
}

export interface LoggingServer {
  readonly url: string
  /** `127.0.0.1:<port>`, for --allow-host and git's host attribute. */
  readonly host: string
  readonly requests: LoggedRequest[]
  /** Every access or refresh token this server received, in a header or a form. */
  tokensReceived(): string[]
  tokenRequests(): LoggedRequest[]
  close(): Promise<void>
}

export async function startLoggingServer(options: LoggingServerOptions = {}): Promise<LoggingServer> {
  const requests: LoggedRequest[] = []
  let issued = 0
  let url = ''
  const server = createServer(async (req, res) => {
    const body = await readBody(req)
    const parsed = new URL(req.url ?? '/', 'http://x')
    const logged: LoggedRequest = {
      method: req.method ?? '',
      path: parsed.pathname,
      query: parsed.searchParams,
      authorization: req.headers.authorization,
      form: new URLSearchParams(body),
    }
    requests.push(logged)
    answer(logged, res, url, options, () => ++issued)
  })
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  url = `http://127.0.0.1:${port}`
  return {
    url,
    host: `127.0.0.1:${port}`,
    requests,
    tokensReceived: () =>
      requests.flatMap((r) =>
        [r.authorization?.replace(/^Bearer /i, ''), r.form.get('refresh_token') ?? undefined].filter(
          (t): t is string => !!t,
        ),
      ),
    tokenRequests: () => requests.filter((r) => r.method === 'POST' && r.path === '/oauth/token'),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

function answer(
  req: LoggedRequest,
  res: ServerResponse,
  base: string,
  options: LoggingServerOptions,
  next: () => number,
): void {
  const issuer = options.issuer ?? 'self'
  if (req.path === '/.well-known/openid-configuration' && issuer !== 'none') {
    const at = options.endpoints ?? base
    return json(res, 200, {
      issuer: issuer === 'self' ? base : issuer,
      token_endpoint: `${at}/oauth/token`,
      authorization_endpoint: `${at}/oauth/authorize`,
      userinfo_endpoint: `${at}/oauth/userinfo`,
      revocation_endpoint: `${at}/oauth/revoke`,
    })
  }
  if (req.path.startsWith('/.well-known/')) return json(res, 404, { error: 'not_found' })
  if (req.path === '/oauth/device/code') {
    return json(res, 200, {
      device_code: 'DEVICE-CODE',
      user_code: options.userCode ?? 'ABCD-EFGH',
      verification_uri: options.verificationUri ?? `${base}/device`,
      expires_in: 600,
      interval: 1,
    })
  }
  if (req.path === '/oauth/token') {
    if (req.form.get('grant_type') === 'refresh_token' && options.refreshError) {
      return json(res, 400, options.refreshError)
    }
    const n = next()
    return json(res, 200, {
      access_token: options.accessToken ?? `AT-issued-${n}-0123456789`,
      refresh_token: `RT-issued-${n}-0123456789`,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'email profile',
    })
  }
  if (req.path === '/oauth/userinfo') return json(res, 200, { sub: 'user-1', preferred_username: options.username })
  if (req.path === '/oauth/tokeninfo') return json(res, 404, { error: 'not_found' })
  return json(res, 200, { ok: true, path: req.path })
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
