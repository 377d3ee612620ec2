import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { join } from 'node:path'

/**
 * Servers that misbehave on purpose, for the fault tests:
 * - `startHostileServer`: answers every token request with what the test says (raw bytes, stalls, redirects, 429s);
 *   it has no discovery document, so the CLI uses AuthGate's fixed paths on it.
 * - `startTokenProxy`: a transparent proxy in front of a real test server that lets a test hold, drop or delay token
 *   requests and answers, which is how the multi-process tests kill a lock holder at a chosen step of its refresh.
 */

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: IncomingMessage['headers']
  readonly body: string
  readonly form: URLSearchParams
  /** Epoch ms when the request was complete. */
  readonly atMs: number
}

/** What the hostile server does with one token request: `n` counts token requests from 0. */
export type TokenBehaviour = (req: RecordedRequest, res: ServerResponse, n: number) => void | Promise<void>

export interface HostileServer {
  readonly url: string
  /** Every request, discovery probes included. */
  readonly requests: RecordedRequest[]
  /** POST /oauth/token only. */
  tokenRequests(): RecordedRequest[]
  close(): Promise<void>
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function listen(server: Server, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => resolve(`http://${host}:${(server.address() as AddressInfo).port}`))
  })
}

/** Ends stalled answers too: `closeAllConnections` drops sockets whose response never finished. */
function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    for (const socket of sockets) socket.destroy()
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  return sockets
}

export async function startHostileServer(behaviour: TokenBehaviour): Promise<HostileServer> {
  const requests: RecordedRequest[] = []
  let tokenCount = 0
  const server = createServer(async (req, res) => {
    const body = await readBody(req)
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path,
      headers: req.headers,
      body,
      form: new URLSearchParams(body),
      atMs: Date.now(),
    }
    requests.push(recorded)
    if (req.method === 'POST' && path === '/oauth/token') return behaviour(recorded, res, tokenCount++)
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}')
  })
  const sockets = trackSockets(server)
  const url = await listen(server)
  return {
    url,
    requests,
    tokenRequests: () => requests.filter((r) => r.method === 'POST' && r.path === '/oauth/token'),
    close: () => closeServer(server, sockets),
  }
}

/** A well-formed rotation answer with recognisable tokens. */
export function goodTokenAnswer(res: ServerResponse, n = 0): void {
  json(res, 200, {
    access_token: `hostile-at-${n}`,
    token_type: 'Bearer',
    expires_in: 3600,
    refresh_token: `hostile-rt-${n}`,
    scope: 'email profile',
  })
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
    .end(JSON.stringify(body))
}

// ---------------------------------------------------------------------------------------------------------------------

/** One token request through the proxy, and the server's answer once it came. */
export interface ProxyExchange {
  readonly form: URLSearchParams
  readonly grantType: string
  /** The first line of the lock file in the proxy's lock dir when the request arrived: the holder's pid. */
  readonly holderPid: number | undefined
  status?: number
  answer?: Record<string, unknown>
  /** The request was never forwarded (its client died, or the test dropped it). */
  dropped?: boolean
}

export type ProxyDecision = 'forward' | 'drop'

export interface ProxyHooks {
  /** Before a token request goes to the server; it waits for the promise. 'drop' closes the client's socket instead. */
  beforeForward?(exchange: ProxyExchange): ProxyDecision | void | Promise<ProxyDecision | void>
  /** After the server answered (it has already rotated), before the answer goes back to the client. */
  beforeRelay?(exchange: ProxyExchange): void | Promise<void>
  /** Where the session locks are, so that `holderPid` can be read. */
  lockDir?: string
}

export interface TokenProxy {
  readonly url: string
  readonly exchanges: ProxyExchange[]
  refreshes(): ProxyExchange[]
  close(): Promise<void>
}

/** A session's refresh lock, not its login lock (`<hash>.login.lock`). */
const isSessionLock = (name: string): boolean => name.endsWith('.lock') && !name.endsWith('.login.lock')

/** The pid stamped in the single `.lock` file of `lockDir` (the CLI writes it when it takes the lock). */
export function lockHolderPid(lockDir: string): number | undefined {
  try {
    const locks = readdirSync(lockDir).filter(isSessionLock)
    if (locks.length !== 1) return undefined
    const text = readFileSync(join(lockDir, locks[0]!), 'utf8').trim()
    return /^\d+$/.test(text) ? Number(text) : undefined
  } catch {
    return undefined
  }
}

/** How many processes are blocked waiting for the kernel lock on `lockPath` right now (Linux: /proc/locks). */
export function blockedLockWaiters(lockPath: string): number {
  const inode = statSync(lockPath).ino
  return readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .filter((line) => line.includes('->') && new RegExp(`:${inode} \\d+ \\S+$`).test(line.trim())).length
}

/** The single `.lock` file of a lock dir, once it exists. */
export function sessionLockFile(lockDir: string): string | undefined {
  try {
    const locks = readdirSync(lockDir).filter(isSessionLock)
    return locks.length === 1 ? join(lockDir, locks[0]!) : undefined
  } catch {
    return undefined
  }
}

export async function startTokenProxy(targetUrl: string, hooks: ProxyHooks = {}): Promise<TokenProxy> {
  const exchanges: ProxyExchange[] = []
  let ownUrl = ''
  const server = createServer(async (req, res) => {
    const body = await readBody(req)
    const path = req.url ?? '/'
    if (req.method !== 'POST' || !path.startsWith('/oauth/token'))
      return forward(req, body, res, (text) => text.replaceAll(targetUrl, ownUrl))
    const form = new URLSearchParams(body)
    const exchange: ProxyExchange = {
      form,
      grantType: form.get('grant_type') ?? '',
      holderPid: hooks.lockDir ? lockHolderPid(hooks.lockDir) : undefined,
    }
    exchanges.push(exchange)
    let gone = false
    req.socket.once('close', () => (gone = true))
    const decision = await hooks.beforeForward?.(exchange)
    if (decision === 'drop' || gone) {
      exchange.dropped = true
      req.socket.destroy()
      return
    }
    await forward(
      req,
      body,
      res,
      (text) => text,
      async (status, text) => {
        exchange.status = status
        try {
          exchange.answer = JSON.parse(text) as Record<string, unknown>
        } catch {
          // not JSON: the test server never does this
        }
        await hooks.beforeRelay?.(exchange)
      },
    )
  })
  const sockets = trackSockets(server)
  ownUrl = await listen(server)
  return {
    url: ownUrl,
    exchanges,
    refreshes: () => exchanges.filter((e) => e.grantType === 'refresh_token'),
    close: () => closeServer(server, sockets),
  }

  function forward(
    req: IncomingMessage,
    body: string,
    res: ServerResponse,
    rewrite: (text: string) => string,
    inspect?: (status: number, text: string) => Promise<void>,
  ): Promise<void> {
    return new Promise((resolve) => {
      const headers = {
        ...req.headers,
        host: new URL(targetUrl).host,
        'content-length': String(Buffer.byteLength(body)),
      }
      const upstream = httpRequest(`${targetUrl}${req.url}`, { method: req.method, headers }, async (answer) => {
        const text = rewrite(await readBody(answer))
        await inspect?.(answer.statusCode ?? 502, text)
        const out = { ...answer.headers, 'content-length': String(Buffer.byteLength(text)) }
        delete out['transfer-encoding']
        if (!res.destroyed) res.writeHead(answer.statusCode ?? 502, out).end(text)
        resolve()
      })
      upstream.on('error', () => {
        if (!res.destroyed) res.writeHead(502).end()
        resolve()
      })
      upstream.end(body)
    })
  }
}
