import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { startAuthGateServer, type AuthGateTestServer } from './authgate-server/index.ts'

/**
 * A tiny API for `authgate api` and `client.fetch` tests: it accepts a bearer token only when the authorization server
 * says it is an active access token, and otherwise answers 401 with `WWW-Authenticate: Bearer error="invalid_token"`
 * (RFC 6750 §3.1), as a real resource server does. `GET /status/<code>` answers that status; every other path echoes
 * the request as JSON. With `tls` it speaks https (kubectl sends no credentials over plain http: kubernetes/kubectl#744).
 */

export interface SeenRequest {
  method: string
  path: string
  /** The bearer token, or undefined. */
  token: string | undefined
  body: string
  status: number
}

export interface ResourceServer {
  url: string
  requests: SeenRequest[]
  /** Refuse this token from now on, whatever the authorization server says (a key rotation, a revoked grant). */
  reject(token: string): void
  close(): Promise<void>
}

export type TokenCheck = (accessToken: string) => boolean | Promise<boolean>

/** AuthGate's own check for resource servers: tokeninfo accepts active access tokens only (authgate-server.md §1.5). */
export const viaAuthGateTokenInfo =
  (serverUrl: string): TokenCheck =>
  async (token) => {
    const res = await fetch(`${serverUrl}/oauth/tokeninfo`, { headers: { authorization: `Bearer ${token}` } })
    await res.arrayBuffer()
    return res.status === 200
  }

/** AuthGate in rotation mode (no rate limit), and an API in front of it that checks every token with tokeninfo. */
export async function startAuthGateWithApi(): Promise<{
  server: AuthGateTestServer
  rs: ResourceServer
  close(): Promise<void>
}> {
  const server = await startAuthGateServer({ rotation: true, tokenRateLimitPerMinute: 0 })
  const rs = await startResourceServer(viaAuthGateTokenInfo(server.url))
  return {
    server,
    rs,
    close: async () => {
      await rs.close()
      await server.close()
    },
  }
}

export async function startResourceServer(
  isActive: TokenCheck,
  options: { tls?: { key: string; cert: string } } = {},
): Promise<ResourceServer> {
  const requests: SeenRequest[] = []
  const rejected = new Set<string>()
  const listener = (req: IncomingMessage, res: ServerResponse) =>
    void handle(req, res, { isActive, rejected, requests }).catch((err: unknown) => {
      res.writeHead(500).end(String(err))
    })
  const server = options.tls ? createTlsServer(options.tls, listener) : createServer(listener)
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    reject: (token) => void rejected.add(token),
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((err) => (err ? fail(err) : done()))
        server.closeAllConnections()
      }),
  }
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  s: { isActive: TokenCheck; rejected: Set<string>; requests: SeenRequest[] },
): Promise<void> {
  let body = ''
  for await (const chunk of req) body += String(chunk)
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1]
  const path = req.url ?? '/'
  const ok = token !== undefined && !s.rejected.has(token) && (await s.isActive(token))
  const asked = /^\/status\/(\d{3})$/.exec(path)
  const status = !ok ? 401 : asked ? Number(asked[1]) : 200
  s.requests.push({ method: req.method ?? 'GET', path, token, body, status })
  const reply = !ok ? { error: 'invalid_token' } : asked ? { status } : { ok: true, method: req.method, path, body }
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (!ok) headers['www-authenticate'] = token === undefined ? 'Bearer' : 'Bearer error="invalid_token"'
  res.writeHead(status, headers).end(JSON.stringify(reply))
}
