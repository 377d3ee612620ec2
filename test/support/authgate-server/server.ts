import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { handleAuthorize } from './authorize.ts'
import { handleDeviceCode } from './device.ts'
import { handleDiscovery, handleHealth, handleJwks } from './discovery.ts'
import { clientIp, oauthError, parseForm, readBody, sendNotFound, sendReply, type Ctx, type Reply } from './http.ts'
import { RATE_LIMIT_BODY, takeRateLimit } from './rate-limit.ts'
import type { RateLimiters, ServerState } from './state.ts'
import { handleToken } from './token-endpoint.ts'
import { handleIntrospect, handleRevoke, handleTokenInfo, handleUserInfo } from './token-info.ts'

/** HTTP plumbing: an exact `METHOD path` route table, per-route rate limiters, JSON replies written in one place. */

type Handler = (ctx: Ctx) => Reply | void

interface Route {
  handler: Handler
  limiter?: keyof RateLimiters
  /** Runs before the limiter, so counters see requests that end up rejected with 429. */
  onArrival?: (state: ServerState) => void
}

const ROUTES: Record<string, Route> = {
  'GET /health': { handler: handleHealth },
  'GET /.well-known/openid-configuration': { handler: handleDiscovery },
  'GET /.well-known/jwks.json': { handler: handleJwks },
  'POST /oauth/device/code': {
    handler: handleDeviceCode,
    limiter: 'deviceCode',
    onArrival: (state) => {
      state.stats.deviceAuthorizations += 1
    },
  },
  'POST /oauth/token': {
    handler: handleToken,
    limiter: 'token',
    onArrival: (state) => {
      state.stats.tokenRequests += 1
    },
  },
  'GET /oauth/authorize': { handler: handleAuthorize },
  'GET /oauth/tokeninfo': { handler: handleTokenInfo },
  'POST /oauth/introspect': { handler: handleIntrospect, limiter: 'introspect' },
  'POST /oauth/revoke': { handler: handleRevoke },
  'GET /oauth/userinfo': { handler: handleUserInfo },
  'POST /oauth/userinfo': { handler: handleUserInfo },
  // Dynamic client registration is off by default (§1.11).
  'POST /oauth/register': { handler: () => oauthError(403, 'registration_not_supported') },
}

async function dispatch(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Prefixing a host keeps a path such as `//x` a path instead of a protocol-relative URL.
  const url = new URL(`http://authgate${req.url ?? '/'}`)
  const body = await readBody(req)
  const route = ROUTES[`${req.method} ${url.pathname}`]
  if (route === undefined) {
    sendNotFound(res)
    return
  }
  route.onArrival?.(state)
  const limiter = route.limiter === undefined ? undefined : state.limiters[route.limiter]
  if (limiter !== undefined && !takeRateLimit(limiter, clientIp(req), state.now(), res)) {
    sendReply(res, { status: 429, body: { ...RATE_LIMIT_BODY } })
    return
  }
  const ctx: Ctx = { req, res, url, body, form: await parseForm(req, body), state }
  const reply = route.handler(ctx)
  if (reply !== undefined) sendReply(res, reply)
}

function onRequest(state: ServerState, req: IncomingMessage, res: ServerResponse): void {
  dispatch(state, req, res).catch((error: unknown) => {
    // A bug in the double must be loud in the test that hit it, not a hung request.
    console.error('authgate test server:', error)
    if (!res.headersSent) sendReply(res, oauthError(500, 'server_error', 'An internal error occurred'))
    else res.destroy()
  })
}

export interface RunningServer {
  server: Server
  url: string
}

export async function listen(state: ServerState, host: string): Promise<RunningServer> {
  const server = createServer((req, res) => onRequest(state, req, res))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const hostPart = host.includes(':') ? `[${host}]` : host
  return { server, url: `http://${hostPart}:${port}` }
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()))
    // fetch keeps idle keep-alive sockets open; without this close() would wait for them to time out.
    server.closeAllConnections()
  })
}
