/**
 * What a server answered, kept beside the Response that boundedFetch hands to oauth4webapi, so that whatever
 * oauth4webapi throws about that Response (ResponseBodyError, WWWAuthenticateChallengeError, or an
 * OperationProcessingError for a body that is not JSON) can be reported as what happened: which endpoint, which HTTP
 * status, and the OAuth error or the start of the body. oauth4webapi's own messages name a content type instead.
 */

/** How much of an error body a message quotes (issue 14: "the first 200 bytes"). */
const BODY_HEAD_BYTES = 200

export interface ServerAnswer {
  /** E.g. 'token endpoint'; undefined where the caller did not say (the URL alone then names it). */
  readonly endpoint: string | undefined
  /** Origin and path only: a query string may carry a token. */
  readonly url: string
  readonly status: number
  readonly statusText: string
  /** A JSON object with a non-empty string `error` (RFC 6749 §5.2), whatever the content type claimed. */
  readonly oauthError?: { readonly error: string; readonly description?: string | undefined } | undefined
  /** The first 200 bytes of an error body (status ≥ 300), raw: the output sink escapes it. Never of a 2xx body. */
  readonly bodyHead: string
  /** The error body was longer than `bodyHead`. */
  readonly isTruncated: boolean
}

const answers = new WeakMap<Response, ServerAnswer>()

/** Remembers what `response` is the answer to. `body` is the whole body as read (at most 1 MiB). */
export function recordAnswer(
  response: Response,
  request: { endpoint: string | undefined; url: string; sent?: readonly string[] },
  body: Uint8Array,
): void {
  const isError = response.status >= 300
  const oauthError = isError ? oauthErrorOf(body) : undefined
  const scrub = (text: string) => withoutCredentials(text, request.sent ?? [])
  answers.set(response, {
    endpoint: request.endpoint,
    url: withoutQuery(request.url),
    status: response.status,
    statusText: response.statusText,
    oauthError: oauthError && {
      error: scrub(oauthError.error),
      description: oauthError.description && scrub(oauthError.description),
    },
    bodyHead: isError ? scrub(new TextDecoder().decode(body.subarray(0, BODY_HEAD_BYTES))) : '',
    isTruncated: isError && body.byteLength > BODY_HEAD_BYTES,
  })
}

/** A server that echoes a credential it was sent (a token, the client secret) gets it cut, as the CLI redacts. */
function withoutCredentials(text: string, sent: readonly string[]): string {
  return sent.reduce((out, secret) => out.split(secret).join(`${secret.slice(0, 4)}…[redacted]`), text)
}

/** The answer a Response (or an oauth4webapi error carrying one) stands for, if boundedFetch fetched it. */
export function answerOf(value: unknown): ServerAnswer | undefined {
  return value instanceof Response ? answers.get(value) : undefined
}

/** "token endpoint http://h/oauth/token" (never the query, which may carry a token); the URL alone without a name. */
export function endpointOf(endpoint: string | undefined, url: string): string {
  return endpoint ? `${endpoint} ${withoutQuery(url)}` : withoutQuery(url)
}

/**
 * One line: "token endpoint http://h/oauth/token answered 400 Bad Request: invalid_grant (Refresh token is …)", or
 * with the start of the body when it holds no OAuth error, or "with an empty body". Line breaks in the body become
 * spaces so the message stays one line; every other byte is left for the output sink to escape.
 */
export function describeAnswer(answer: ServerAnswer): string {
  const status = `${answer.status}${answer.statusText ? ` ${answer.statusText}` : ''}`
  const head = `${endpointOf(answer.endpoint, answer.url)} answered ${status}`
  if (answer.oauthError) {
    const { error, description } = answer.oauthError
    return `${head}: ${error}${description ? ` (${description})` : ''}`
  }
  const text = answer.bodyHead.replace(/[\r\n\t]+/g, ' ').trim()
  if (text === '') return answer.status >= 300 ? `${head} with an empty body` : head
  return `${head}: ${text}${answer.isTruncated ? '…' : ''}`
}

function oauthErrorOf(body: Uint8Array): ServerAnswer['oauthError'] {
  if (body.byteLength === 0) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder().decode(body))
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined
  const { error, error_description: description } = parsed as Record<string, unknown>
  if (typeof error !== 'string' || error === '') return undefined
  return { error, description: typeof description === 'string' && description !== '' ? description : undefined }
}

function withoutQuery(url: string): string {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return url.split('?')[0]!
  }
}
