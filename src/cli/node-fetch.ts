import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { Readable } from 'node:stream'

/**
 * The CLI's HTTP client for OAuth requests (discovery, grants, revocation, userinfo): node:http and node:https, each
 * answer read whole into a `Response`, at most `maxBytes + 1` bytes of it.
 *
 * Why not the global fetch: its first request in a process costs about 100 ms of CPU (undici's dispatcher is built and
 * its llhttp WebAssembly compiled), and the process that pays it is the one refresher of a storm, holding the session
 * lock while every peer waits for its answer. This client costs about 2 ms more than a process that sends nothing
 * (bench/results/latest.md, "refresh storm"). It does only what OAuth requests need, so it is not the `api` command's
 * client: bodies are strings, URLSearchParams or bytes; redirects are never followed (oauth/http.ts refuses them
 * anyway). Connections are kept alive within the process, so discovery and the grant after it share one TLS
 * handshake; the CLI ends with process.exit once it has an answer, so an idle socket never keeps it running.
 * Failures reject as the global fetch's do, a TypeError "fetch failed" whose cause carries the errno code, so the
 * retry rules (oauth/http.ts) and messages see no difference; an abort rejects with the signal's reason.
 */
export function nodeFetch(maxBytes: number): typeof globalThis.fetch {
  let agents: { http: HttpAgent; https: HttpsAgent } | undefined
  return (input, init = {}) => {
    // timeout as Node's own global agent has it: only then does an agent honour a server's `Keep-Alive: timeout=`
    // hint, and not reuse a socket the server is closing (a code exchange comes minutes after discovery).
    agents ??= {
      http: new HttpAgent({ keepAlive: true, timeout: 5000 }),
      https: new HttpsAgent({ keepAlive: true, timeout: 5000 }),
    }
    return send(input, init, maxBytes, agents)
  }
}

function send(
  input: string | URL | Request,
  init: RequestInit,
  maxBytes: number,
  agents: { http: HttpAgent; https: HttpsAgent },
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const signal = init.signal ?? undefined
    if (signal?.aborted) return reject(signal.reason)
    let url: URL
    let body: string | Uint8Array | undefined
    let headers: Headers
    try {
      if (typeof input !== 'string' && !(input instanceof URL)) throw new TypeError('a Request object is not supported')
      url = new URL(String(input))
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`${url.protocol} is not http(s)`)
      if (url.username || url.password) throw new TypeError('credentials in the URL are not supported')
      headers = new Headers(init.headers)
      body = requestBody(init.body, headers)
      if (body !== undefined) headers.set('content-length', String(Buffer.byteLength(body)))
    } catch (err) {
      return reject(fetchFailed(err))
    }
    const method = (init.method ?? 'GET').toUpperCase()
    const request =
      url.protocol === 'https:'
        ? httpsRequest(url, { method, headers: Object.fromEntries(headers), agent: agents.https })
        : httpRequest(url, { method, headers: Object.fromEntries(headers), agent: agents.http })
    const onAbort = () => {
      request.destroy()
      reject(signal!.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    let settled = false
    const settle = (result: Response | Error) => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', onAbort)
      if (result instanceof Error) reject(fetchFailed(result))
      else resolve(result)
    }
    request.once('error', settle)
    // A socket that closes with neither an answer nor an error (a 101 Switching Protocols, which OAuth never asks for)
    // must not leave the request waiting for its timeout.
    let answered = false
    request.once('close', () => void (answered || settle(new Error('the connection closed before an answer'))))
    request.once('response', (response) => {
      answered = true
      const noBody = bodiless(method, response.statusCode)
      readAnswer(response, maxBytes, noBody)
        .then((bytes) => {
          // Cut short: the rest is not read, so the connection cannot carry another request.
          if (bytes.length > maxBytes) request.destroy()
          return toResponse(response, noBody ? null : bytes)
        })
        .catch((err: Error) => {
          request.destroy()
          throw err
        })
        .then(settle, settle)
    })
    request.end(body)
  })
}

function requestBody(body: RequestInit['body'], headers: Headers): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined
  if (typeof body === 'string') {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8')
    return body
  }
  if (body instanceof URLSearchParams) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8')
    return body.toString()
  }
  if (body instanceof Uint8Array) return body
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  throw new TypeError('only string, URLSearchParams and byte bodies are supported')
}

/** An answer that has no body whatever its headers say (RFC 9110 §6.4.1, §15.3.6): nothing to decode or to keep. */
function bodiless(method: string, status: number | undefined): boolean {
  return method === 'HEAD' || status === 204 || status === 205 || status === 304
}

/** The answer's bytes, decoded as fetch would (gzip, deflate, br), cut off one byte past `maxBytes`. */
async function readAnswer(response: IncomingMessage, maxBytes: number, noBody: boolean): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of noBody ? response : await decoded(response)) {
    const bytes = chunk as Buffer
    chunks.push(bytes)
    size += bytes.length
    // Enough for the caller (oauth/http.ts readCapped) to see that the answer is too large, and no more.
    if (size > maxBytes) break
  }
  const all = Buffer.concat(chunks)
  return all.length > maxBytes + 1 ? all.subarray(0, maxBytes + 1) : all
}

async function decoded(response: IncomingMessage): Promise<Readable> {
  const coding = (response.headers['content-encoding'] ?? '').trim().toLowerCase()
  if (coding === '' || coding === 'identity') return response
  const zlib = await import('node:zlib')
  const decoder =
    coding === 'gzip' || coding === 'x-gzip'
      ? zlib.createGunzip()
      : coding === 'deflate'
        ? zlib.createInflate()
        : coding === 'br'
          ? zlib.createBrotliDecompress()
          : undefined
  if (decoder === undefined) throw new Error(`unsupported content-encoding ${JSON.stringify(coding)}`)
  response.once('error', (err) => decoder.destroy(err))
  return response.pipe(decoder)
}

/** A `Response` as fetch builds it; what the Response constructor refuses (a status outside 200–599) is a failure. */
function toResponse(response: IncomingMessage, bytes: Buffer | null): Response {
  const headers = new Headers()
  const raw = response.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
  // The body is decoded: its length and coding no longer describe it (fetch drops neither, but reads none of them).
  if (response.headers['content-encoding']) {
    headers.delete('content-encoding')
    headers.delete('content-length')
  }
  return new Response(bytes as unknown as BodyInit | null, {
    status: response.statusCode ?? 0,
    statusText: response.statusMessage ?? '',
    headers,
  })
}

function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause })
}
