import { createConnection } from 'node:net'
import { AuthRequiredError, TemporaryError, UsageError, type AuthgateError } from '../errors.ts'
import { formatRequest, MAX_LINE_BYTES, parseAnswer, type AgentAnswer, type AgentRequest } from './wire.ts'

export interface AgentClientDeps {
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /** Longest wait for the answer: the agent may be refreshing, which is bounded by its lock timeout and retries. */
  readonly timeoutMs: number
  readonly signal?: AbortSignal | undefined
}

/**
 * Asks the agent on `socketPath` for the access token of one session. An agent that is gone (no socket file, nobody
 * listening, the connection dropped before an answer) is a TemporaryError at once, naming the socket; a session the
 * agent does not expose or cannot refresh is an AuthRequiredError, as it would be locally.
 * @throws TemporaryError (exit 5), AuthRequiredError (exit 4), UsageError (exit 2: the socket is not ours to use)
 */
export async function askAgent(socketPath: string, request: AgentRequest, deps: AgentClientDeps): Promise<AgentAnswer> {
  const stop = new AbortController()
  const timeout = deps
    .sleep(deps.timeoutMs, AbortSignal.any([stop.signal, ...(deps.signal ? [deps.signal] : [])]))
    .then(() => new TemporaryError(`the authgate agent at ${socketPath} did not answer in time`))
  try {
    const answer = await Promise.race([exchange(socketPath, formatRequest(request)), timeout.catch(() => never())])
    if (answer instanceof Error) throw answer
    return answer
  } finally {
    stop.abort()
  }
}

function never(): Promise<never> {
  return new Promise(() => {})
}

function exchange(socketPath: string, line: string): Promise<AgentAnswer> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: socketPath })
    let received = ''
    let done = false
    const finish = (result: AgentAnswer | AuthgateError) => {
      if (done) return
      done = true
      socket.destroy()
      if (result instanceof Error) reject(result)
      else resolve(result)
    }
    socket.setEncoding('utf8')
    socket.on('connect', () => socket.write(line))
    socket.on('data', (chunk: string) => {
      received += chunk
      const end = received.indexOf('\n')
      if (end >= 0) finish(toResult(socketPath, received.slice(0, end)))
      else if (received.length > MAX_LINE_BYTES) finish(badAnswer(socketPath))
    })
    socket.on('error', (err: NodeJS.ErrnoException) => finish(connectError(socketPath, err)))
    socket.on('close', () => finish(new TemporaryError(`the authgate agent at ${socketPath} closed the connection`)))
  })
}

function toResult(socketPath: string, line: string): AgentAnswer | AuthgateError {
  const answer = parseAnswer(line)
  if (answer === undefined) return badAnswer(socketPath)
  if (!('error' in answer)) return answer
  const message = `the authgate agent at ${socketPath}: ${printable(answer.error)}`
  if (answer.exit === 4) return new AuthRequiredError(message, { hint: 'run `authgate login` on the agent’s host' })
  if (answer.exit === 5) return new TemporaryError(message)
  return new UsageError(message)
}

function badAnswer(socketPath: string): TemporaryError {
  return new TemporaryError(`the authgate agent at ${socketPath} sent an answer that is not a token line`)
}

function connectError(socketPath: string, err: NodeJS.ErrnoException): AuthgateError {
  if (err.code === 'EACCES' || err.code === 'EPERM') {
    return new UsageError(`permission denied on the authgate agent socket ${socketPath}`, {
      hint: 'the agent answers only its own user',
      cause: err,
    })
  }
  const why = err.code === 'ENOENT' ? 'no socket file' : err.code === 'ECONNREFUSED' ? 'nobody listening' : err.code
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
