import { readFile } from 'node:fs/promises'
import { STATUS_CODES } from 'node:http'
import { resolve } from 'node:path'
import { UsageError } from '../../errors.ts'
import type { Deps } from '../../session/deps.ts'
import type { DataSource } from './api.ts'
import { escapeTerminal } from '../terminal-text.ts'

/**
 * The body, read whole before the first send: on a 401 it is sent a second time, and stdin can be read only once.
 * A relative `@file` is relative to the working directory, as in curl and gh.
 */
export async function readRequestBody(
  data: DataSource | undefined,
  deps: Pick<Deps, 'cwd' | 'io'>,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (data === undefined) return undefined
  if (data.from === 'text') return new TextEncoder().encode(data.text)
  if (data.from === 'stdin') return readAll(deps.io.stdin)
  const path = resolve(deps.cwd, data.path)
  try {
    return new Uint8Array(await readFile(path))
  } catch (err) {
    throw new UsageError(`cannot read the request body from ${path}: ${(err as Error).message}`)
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = []
  for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
    chunks.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk)
  }
  return Buffer.concat(chunks)
}

/**
 * `-i` as curl and gh print it: status line, headers, blank line; then the body, streamed as it arrives, byte for byte
 * into a pipe. On a terminal a body without a final newline gets one, so the prompt does not land on its last line.
 */
export async function writeResponse(
  response: Response,
  include: boolean,
  io: Pick<Deps['io'], 'stdout' | 'isStdoutTTY'>,
): Promise<void> {
  if (include) io.stdout.write(escapeTerminal(statusAndHeaders(response)))
  if (!response.body) return
  const decoder = new TextDecoder()
  let last = ''
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    const text = decoder.decode(chunk, { stream: true })
    if (text) io.stdout.write((last = text))
  }
  const rest = decoder.decode()
  if (rest) io.stdout.write((last = rest))
  if (io.isStdoutTTY && last !== '' && !last.endsWith('\n')) io.stdout.write('\n')
}

/** fetch does not say which HTTP version carried the answer; Node's fetch speaks HTTP/1.1 unless told otherwise. */
export function statusAndHeaders(response: Response): string {
  const lines = [`HTTP/1.1 ${response.status} ${reasonPhrase(response)}`.trimEnd()]
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue
    lines.push(`${canonical(name)}: ${value}`)
  }
  for (const cookie of response.headers.getSetCookie()) lines.push(`Set-Cookie: ${cookie}`)
  return `${lines.join('\n')}\n\n`
}

function canonical(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())
}

/** HTTP/2 and some servers send no reason phrase; the standard one reads better in messages than a bare number. */
export function reasonPhrase(response: Response): string {
  return response.statusText || STATUS_CODES[response.status] || ''
}
