import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { DEVICE_CODE_GRANT, type AuthGateTestServer } from './index.ts'

/** Helpers for tests that talk to the AuthGate test server over real HTTP (global fetch). */

export type Json = Record<string, unknown>

export interface HttpResult {
  status: number
  headers: Headers
  text: string
  /** Parsed body when it is JSON, else an empty object. */
  json: Json
}

export async function request(url: string, init: RequestInit = {}): Promise<HttpResult> {
  const res = await fetch(url, { redirect: 'manual', ...init })
  const text = await res.text()
  let json: Json = {}
  try {
    json = JSON.parse(text) as Json
  } catch {
    // not JSON: leave json empty, callers assert on text
  }
  return { status: res.status, headers: res.headers, text, json }
}

export function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return request(url, { method: 'POST', body: new URLSearchParams(fields), headers })
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return request(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...headers },
  })
}

export function str(json: Json, key: string): string {
  const value = json[key]
  assert.equal(typeof value, 'string', `${key} should be a string in ${JSON.stringify(json)}`)
  return value as string
}

export function basic(id: string, secret: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` }
}

export function decodeJwt(token: string): { header: Json; payload: Json } {
  const [header = '', payload = ''] = token.split('.')
  const parse = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Json
  return { header: parse(header), payload: parse(payload) }
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

export interface FakeClock {
  now: () => number
  advance(ms: number): void
}

export function fakeClock(startMs = Date.UTC(2026, 4, 15, 12, 0, 0)): FakeClock {
  let nowMs = startMs
  return {
    now: () => nowMs,
    advance: (ms) => {
      nowMs += ms
    },
  }
}

export async function requestDeviceCode(server: AuthGateTestServer, clientId = server.publicClientId, scope?: string) {
  const fields: Record<string, string> = { client_id: clientId }
  if (scope !== undefined) fields.scope = scope
  const res = await postForm(`${server.url}/oauth/device/code`, fields)
  assert.equal(res.status, 200, res.text)
  return { deviceCode: str(res.json, 'device_code'), userCode: str(res.json, 'user_code'), json: res.json }
}

export function pollDeviceToken(server: AuthGateTestServer, deviceCode: string, clientId = server.publicClientId) {
  return postForm(`${server.url}/oauth/token`, {
    grant_type: DEVICE_CODE_GRANT,
    device_code: deviceCode,
    client_id: clientId,
  })
}

/** Device flow end to end through the backdoor approval: returns the token response. */
export async function deviceLogin(server: AuthGateTestServer, scope?: string): Promise<Json> {
  const { deviceCode, userCode } = await requestDeviceCode(server, server.publicClientId, scope)
  server.approveDevice(userCode)
  const res = await pollDeviceToken(server, deviceCode)
  assert.equal(res.status, 200, res.text)
  return res.json
}

export function refresh(
  server: AuthGateTestServer,
  refreshToken: string,
  clientId = server.publicClientId,
  extra = {},
) {
  return postForm(`${server.url}/oauth/token`, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: clientId,
    ...extra,
  })
}
