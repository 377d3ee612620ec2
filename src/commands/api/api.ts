import type { Command } from 'commander'
import { RequestFailedError, UsageError } from '../../errors.ts'
import { fetchWithBearer, resolveApiTarget, sendAuthorized, type TokenSource } from '../../session/api-request.ts'
import { loadSettings } from '../../session/open.ts'
import { commandSession, type CommandEnv } from '../command-env.ts'
import { addLoginOption, tokenSourceWithLogin } from '../login/interactive.ts'
import { readRequestBody, reasonPhrase, writeResponse } from './api-io.ts'

/** `-d` as given: a literal string, `@file`, or `@-` for stdin. */
export type DataSource = { from: 'text'; text: string } | { from: 'file'; path: string } | { from: 'stdin' }

export interface ApiOptions {
  /** A path (joined to the API URL) or a full http(s) URL. */
  target: string
  /** Upper-case; undefined = GET, or POST when there is a body (as gh does). */
  method: string | undefined
  headers: Array<[string, string]>
  data: DataSource | undefined
  /** -i: the status line and the headers before the body. */
  include: boolean
  /** --login: sign in interactively (on stderr) when there is no usable session. */
  login: boolean
}

export interface ApiFlags {
  method?: string
  header?: string[]
  data?: string
  include?: boolean
  login?: boolean
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** argv → options; every mistake is a UsageError (exit 2) before anything is read or sent. */
export function parseApi(target: string, flags: ApiFlags): ApiOptions {
  const method = flags.method?.toUpperCase()
  if (method !== undefined && !TOKEN.test(method))
    throw new UsageError(`invalid method ${JSON.stringify(flags.method)}`)
  const data = flags.data === undefined ? undefined : parseData(flags.data)
  if (data && (method === 'GET' || method === 'HEAD'))
    throw new UsageError(`-d cannot be used with -X ${method}: a ${method} request has no body`)
  const headers = (flags.header ?? []).map(parseHeader)
  return { target, method, headers, data, include: flags.include === true, login: flags.login === true }
}

function parseData(value: string): DataSource {
  if (value === '@-') return { from: 'stdin' }
  if (value.startsWith('@')) {
    if (value.length === 1) throw new UsageError('-d @ needs a file name, or @- for stdin')
    return { from: 'file', path: value.slice(1) }
  }
  return { from: 'text', text: value }
}

export function parseHeader(raw: string): [string, string] {
  const colon = raw.indexOf(':')
  const name = colon > 0 ? raw.slice(0, colon).trim() : ''
  const value = raw.slice(colon + 1).trim()
  if (!TOKEN.test(name) || /[\r\n\0]/.test(value))
    throw new UsageError(`invalid header ${JSON.stringify(raw)}: expected 'Name: value'`)
  if (name.toLowerCase() === 'authorization')
    throw new UsageError('-H Authorization is not allowed: authgate sends the bearer token itself')
  return [name, value]
}

/** Parse, then run (gh's NewCmdApi(f, runF)). */
export function registerApi(program: Command, makeEnv: (cmd: Command) => CommandEnv, run = runApi): void {
  const api = program
    .command('api')
    .description('send an authenticated request; on 401 refresh once (under the lock) and retry once')
    .argument('<path-or-url>', 'a path under --api-url (default: the server URL), or a full http(s) URL')
    .option('-X, --method <method>', 'HTTP method (default GET, or POST with -d)')
    .option(
      '-H, --header <header>',
      "an extra request header 'Name: value' (repeatable)",
      (v: string, all: string[] | undefined) => [...(all ?? []), v],
    )
    .option('-d, --data <data>', 'request body: a string, @file, or @- for stdin')
    .option('-i, --include', 'print the status line and the response headers before the body')
  addLoginOption(api).action(async (target: string, flags: ApiFlags, cmd: Command) =>
    run(parseApi(target, flags), makeEnv(cmd)),
  )
}

/**
 * The response body goes to stdout whatever the status; a non-2xx status then fails the command (exit 1) with the
 * status on stderr, so `authgate api … | jq` sees the server's error document and the shell sees the failure.
 */
export async function runApi(options: ApiOptions, env: CommandEnv): Promise<void> {
  const settings = loadSettings(env.flags, env.deps)
  env.secret(settings.clientSecret)
  const url = resolveApiTarget(options.target, settings)
  const body = await readRequestBody(options.data, env.deps)
  const method = options.method ?? (body ? 'POST' : 'GET')
  const headers = requestHeaders(options.headers, body)
  const session = await commandSession(env, settings)
  const source = tokenSourceWithLogin(session, env, options.login)
  const tokens: TokenSource = async (request) => {
    const set = await source(request)
    for (const secret of [set.accessToken, set.refreshToken]) env.secret(secret)
    return set
  }
  const send = async (accessToken: string) => {
    const response = await fetchWithBearer(env.deps.fetch, url, { method, headers, body }, accessToken, env.deps.signal)
    env.trace?.(`${method} ${url.href} → ${response.status}`)
    return response
  }
  const response = await sendAuthorized(tokens, send)
  await writeResponse(response, options.include, env.deps.io)
  if (response.status < 200 || response.status > 299) {
    throw new RequestFailedError(`${method} ${url.href} answered ${response.status} ${reasonPhrase(response)}`.trim(), {
      status: response.status,
    })
  }
}

/** The user's headers; a body that is JSON is labelled so unless the user said otherwise. */
export function requestHeaders(
  pairs: ReadonlyArray<[string, string]>,
  body: Uint8Array<ArrayBuffer> | undefined,
): Headers {
  const headers = new Headers()
  for (const [name, value] of pairs) headers.append(name, value)
  if (body && !headers.has('content-type') && isJson(body)) headers.set('content-type', 'application/json')
  if (!headers.has('accept')) headers.set('accept', 'application/json, */*;q=0.5')
  return headers
}

function isJson(body: Uint8Array): boolean {
  try {
    JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
    return true
  } catch {
    return false
  }
}
