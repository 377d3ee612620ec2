import { createServer, type Server, type Socket } from 'node:net'
import { formatAnswer, MAX_LINE_BYTES, parseRequest, type AgentAnswer, type AgentFailure } from './wire.ts'
import type { AgentRequest } from './wire.ts'

/** Requests one connection may have waiting for answers; more is a client that never reads. */
const MAX_PIPELINED = 32

export type Answerer = (request: AgentRequest) => Promise<AgentAnswer | AgentFailure>

export interface ServeOptions {
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /** A connection with no complete request for this long is closed. */
  readonly idleMs: number
  /** Connections beyond this are closed by the kernel-facing listener at once (Node's `maxConnections`). */
  readonly maxConnections: number
}

/**
 * Listens on `socketPath` (the caller prepared its directory) and answers each request line with `answer`. Whatever
 * arrives, the agent keeps running: a bad line gets an exit-2 error line and its connection closes; an answer that
 * throws becomes an exit-5 line. Requests on one connection are answered in order.
 */
export async function listenAgent(socketPath: string, answer: Answerer, options: ServeOptions): Promise<Server> {
  const server = createServer({ allowHalfOpen: false }, (socket) => serveConnection(socket, answer, options))
  server.maxConnections = options.maxConnections
  server.on('error', () => {}) // after listen, errors belong to connections; none may take the agent down
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(socketPath, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server
}

function serveConnection(socket: Socket, answer: Answerer, options: ServeOptions): void {
  let buffered = ''
  let queue = Promise.resolve()
  const idle = idleBound(socket, options)
  const refuse = (error: string) => {
    buffered = ''
    if (!socket.destroyed) socket.end(formatAnswer({ error, exit: 2 }))
    socket.pause()
  }
  socket.setEncoding('utf8')
  socket.on('error', () => {})
  socket.on('data', (chunk: string) => {
    if (socket.writableEnded) return
    buffered += chunk
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      const line = buffered.slice(0, end)
      buffered = buffered.slice(end + 1)
      if (Buffer.byteLength(line) > MAX_LINE_BYTES) return refuse(`request line over ${MAX_LINE_BYTES} bytes`)
      const request = parseRequest(line.replace(/\r$/, ''))
      if ('error' in request) return refuse(request.error)
      if (idle.pending >= MAX_PIPELINED) return refuse(`more than ${MAX_PIPELINED} requests waiting on one connection`)
      idle.pending++
      queue = queue
        .then(() => reply(socket, answer, request))
        .finally(() => {
          idle.pending--
          idle.arm()
        })
    }
    if (Buffer.byteLength(buffered) > MAX_LINE_BYTES) return refuse(`request line over ${MAX_LINE_BYTES} bytes`)
    idle.arm()
  })
}

/**
 * Closes the connection after `idleMs` with no request arriving and none being answered: a refresh that takes long
 * is not the client's fault. `arm()` restarts the wait; `pending` counts requests not yet answered.
 */
function idleBound(socket: Socket, options: ServeOptions): { arm(): void; pending: number } {
  let idle = new AbortController()
  const closed = new AbortController()
  socket.on('close', () => closed.abort())
  const bound = {
    pending: 0,
    arm() {
      idle.abort()
      idle = new AbortController()
      if (bound.pending > 0) return
      options.sleep(options.idleMs, AbortSignal.any([idle.signal, closed.signal])).then(
        () => socket.destroy(),
        () => {},
      )
    },
  }
  bound.arm()
  return bound
}

async function reply(socket: Socket, answer: Answerer, request: AgentRequest): Promise<void> {
  let result: AgentAnswer | AgentFailure
  try {
    result = await answer(request)
  } catch (err) {
    result = { error: err instanceof Error ? err.message : 'internal error', exit: 5 }
  }
  if (!socket.destroyed && !socket.writableEnded) socket.write(formatAnswer(result))
}
