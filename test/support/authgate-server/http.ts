import type { IncomingMessage, ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import type { ServerState } from './state.ts'
import type { RawAnswer } from './types.ts'

/** Request plumbing shared by every route: body, form, replies, client identity. */

export interface Ctx {
  req: IncomingMessage
  res: ServerResponse
  url: URL
  body: Buffer
  /** Body fields of a form-encoded (or multipart) POST; empty otherwise, like gin's PostForm. */
  form: URLSearchParams
  state: ServerState
}

/** A JSON answer; handlers return it so the router can count and write it in one place. */
export interface Reply {
  status: number
  body?: Record<string, unknown>
  headers?: Record<string, string>
  /** Sent as is instead of `body` (ServerQuirks). */
  raw?: RawAnswer
}

export function rawReply(raw: RawAnswer): Reply {
  return { status: raw.status, raw }
}

export function jsonReply(status: number, body: Record<string, unknown>, headers?: Record<string, string>): Reply {
  return headers ? { status, body, headers } : { status, body }
}

/** respondOAuthError: `error_description` is omitted when empty (§5). */
export function oauthError(status: number, error: string, description = '', headers?: Record<string, string>): Reply {
  const body: Record<string, unknown> = { error }
  if (description !== '') body.error_description = description
  return jsonReply(status, body, headers)
}

export function sendReply(res: ServerResponse, reply: Reply): void {
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value)
  if (reply.raw !== undefined) {
    if (reply.raw.contentType !== undefined) res.setHeader('Content-Type', reply.raw.contentType)
    res.writeHead(reply.status).end(reply.raw.body)
    return
  }
  if (reply.body === undefined) {
    res.writeHead(reply.status).end()
    return
  }
  res.writeHead(reply.status, { 'Content-Type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify(reply.body))
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' }).end(html)
}

export function sendRedirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { Location: location }).end()
}

/** gin's default for unknown routes and wrong methods (HandleMethodNotAllowed is off, §1.0). */
export function sendNotFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found')
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
}

/** Go's ParseMultipartForm reads url-encoded and multipart bodies of POST requests only; JSON stays unread. */
export async function parseForm(req: IncomingMessage, body: Buffer): Promise<URLSearchParams> {
  if (req.method !== 'POST') return new URLSearchParams()
  const type = mediaType(req)
  if (type === 'application/x-www-form-urlencoded') return new URLSearchParams(body.toString('utf8'))
  if (type !== 'multipart/form-data') return new URLSearchParams()
  const headers = { 'content-type': req.headers['content-type'] ?? '' }
  const data = await new Response(new Uint8Array(body), { headers }).formData().catch(() => undefined)
  const form = new URLSearchParams()
  for (const [name, value] of data ?? []) if (typeof value === 'string') form.append(name, value)
  return form
}

export function isFormRequest(req: IncomingMessage): boolean {
  const type = mediaType(req)
  return type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data'
}

/** `Authorization: Bearer x`; the prefix is case-sensitive in AuthGate (§1.5). */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization ?? ''
  if (!header.startsWith('Bearer ')) return undefined
  const token = header.slice('Bearer '.length).trim()
  return token === '' ? undefined : token
}

/** Go's Request.BasicAuth: no URL-decoding of the id or secret (§1.2d). */
export function basicCredentials(req: IncomingMessage): { id: string; secret: string } | undefined {
  const header = req.headers.authorization ?? ''
  if (header.slice(0, 6).toLowerCase() !== 'basic ') return undefined
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) }
}

/**
 * gin's ClientIP with every proxy trusted (no trusted-proxy list is configured): the left-most X-Forwarded-For
 * entry if all entries are IPs, else X-Real-IP, else the socket address. Tests use this to act as several IPs.
 */
export function clientIp(req: IncomingMessage): string {
  const forwarded = String(req.headers['x-forwarded-for'] ?? '')
  const items = forwarded.split(',').map((s) => s.trim())
  if (forwarded !== '' && items.every((ip) => isIP(ip) !== 0)) return items[0]!
  const real = String(req.headers['x-real-ip'] ?? '').trim()
  if (isIP(real) !== 0) return real
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')
}

/** Go's url.QueryEscape, so redirect URLs are byte-identical to the real server's url.Values.Encode(). */
export function goQueryEscape(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')
}

/** url.Values.Encode(): keys sorted, values in order. */
export function goEncodeQuery(params: URLSearchParams): string {
  const keys = [...new Set(params.keys())].sort()
  return keys.flatMap((k) => params.getAll(k).map((v) => `${goQueryEscape(k)}=${goQueryEscape(v)}`)).join('&')
}
