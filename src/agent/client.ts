import { createConnection } from 'node:net'
import { AuthRequiredError, InterruptedError, TemporaryError, UsageError, type AuthgateError } from '../errors.ts'
import { formatRequest, MAX_LINE_BYTES, parseAnswer, type AgentAnswer, type AgentRequest } from './wire.ts'

export interface AgentClientDeps {
  /** Longest silence on the connection: the agent may be refreshing, which is bounded by its lock timeout and retries. */
  readonly timeoutMs: number
  readonly signal?: AbortSignal | undefined
}

/**
 * Asks the agent on `socketPath` for the access token of one session. An agent that is gone (no socket file, nobody
 * listening, the connection dropped before an answer) is a TemporaryError at once, naming the socket; a session the
 * agent does not expose or cannot refresh is an AuthRequiredError, as it would be locally.
 * The bound is the socket's own idle timeout, not a timer and an AbortController: those cost the `token` fast lane
 * about 4 ms of start-up (measured with --cpu-prof), a third of what a token through the agent may cost in all.
 * @throws TemporaryError (exit 5), AuthRequiredError (exit 4), UsageError (exit 2: the socket is not ours to use),
 *   InterruptedError when `signal` aborts
 */
export function askAgent(socketPath: string, request: AgentRequest, deps: AgentClientDeps): Promise<AgentAnswer> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: socketPath, timeout: deps.timeoutMs })
    // Bytes, decoded once the line is whole: setEncoding loads the string decoder, about half a millisecond of
    // `authgate token`'s start-up, and a line split inside a UTF-8 sequence decodes the same way.
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const onAbort = () => finish(new InterruptedError())
    const finish = (result: AgentAnswer | AuthgateError) => {
      // After an answer only the socket's own events come here: an agent that did not close within the timeout.
      if (done) return void socket.destroy()
      done = true
      deps.signal?.removeEventListener('abort', onAbort)
      if (result instanceof Error) {
        socket.destroy()
        return reject(result)
      }
      // end, not destroy: the agent closes the connection on our end-of-file, and a destroy costs `authgate token`
      // about half a millisecond before it can print (measured with a bare net client).
      socket.end()
      resolve(result)
    }
    if (deps.signal?.aborted) return finish(new InterruptedError())
    deps.signal?.addEventListener('abort', onAbort, { once: true })
    socket.on('connect', () => socket.write(formatRequest(request)))
    socket.on('data', (chunk: Buffer) => {
      const end = chunk.indexOf(0x0a)
      chunks.push(end >= 0 ? chunk.subarray(0, end) : chunk)
      size += chunk.length
      if (end >= 0) finish(toResult(socketPath, Buffer.concat(chunks).toString('utf8')))
      else if (size > MAX_LINE_BYTES) finish(badAnswer(socketPath))
    })
    socket.on('timeout', () => finish(new TemporaryError(`the authgate agent at ${socketPath} did not answer in time`)))
    socket.on('error', (err: NodeJS.ErrnoException) => finish(connectError(socketPath, err)))
    socket.on('close', () => finish(new TemporaryError(`the authgate agent at ${socketPath} closed the connection`)))
  })
}

function toResult(socketPath: string, line: string): AgentAnswer | AuthgateError {
  const answer = parseAnswer(line)
  if (answer === undefined) return badAnswer(socketPath)
  if (!('error' in answer)) return answer
  const message = `the authgate agent at ${socketPath}: ${printable(answer.error)}`
  if (answer.exit === 4) {
    return new AuthRequiredError(message, {
      hint: 'on the agent’s host: `authgate login`, or start the agent with `--expose` for this session',
    })
  }
  if (answer.exit === 5) return new TemporaryError(message)
  return new UsageError(message)
}

function badAnswer(socketPath: string): TemporaryError {
  return new TemporaryError(`the authgate agent at ${socketPath} sent an answer that is not a token line`)
}

/** How an agent that is gone shows on the socket. */
const AGONE: Record<string, string> = {
  ENOENT: 'no socket file',
  ECONNREFUSED: 'nobody listening',
  ECONNRESET: 'the connection was dropped',
  EPIPE: 'the connection was dropped',
}

function connectError(socketPath: string, err: NodeJS.ErrnoException): AuthgateError {
  if (err.code === 'EACCES' || err.code === 'EPERM') {
    return new UsageError(`permission denied on the authgate agent socket ${socketPath}`, {
      hint: 'the agent answers only its own user',
      cause: err,
    })
  }
  const why = AGONE[err.code ?? ''] ?? err.code
  return new TemporaryError(`no authgate agent at ${socketPath} (${why ?? err.message})`, {
    hint: 'start `authgate agent` on the host, or unset AUTHGATE_AGENT_SOCK',
    cause: err,
  })
}

/** The agent's text is untrusted: no control characters or bidi overrides reach the terminal, and it stays short. */
function printable(text: string): string {
  const escaped = text.replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  })
  return escaped.length > 300 ? `${escaped.slice(0, 300)}…` : escaped
}
