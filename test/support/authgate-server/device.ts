import { randomBytes, randomInt } from 'node:crypto'
import { isFormRequest, jsonReply, oauthError, type Ctx, type Reply } from './http.ts'
import type { DeviceCodeRow, ServerState, UserRow } from './state.ts'

/**
 * Device authorization (§1.1). The browser side (§1.4: /device, /login, POST /device/verify) is AuthGate's own UI and
 * not part of the double: tests approve a code with `approveDevice`, which applies the same checks.
 */

const USER_CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'

/** GetDeviceCodeByUserCode: uppercase and strip dashes, so `abcd-efgh` = `ABCDEFGH`. */
export function normalizeUserCode(input: string): string {
  return input.toUpperCase().replace(/-/g, '')
}

export function formatUserCode(normalized: string): string {
  return `${normalized.slice(0, 4)}-${normalized.slice(4)}`
}

function newUserCode(state: ServerState): string {
  const taken = new Set([...state.deviceCodes.values()].map((r) => r.userCode))
  for (;;) {
    let code = ''
    for (let i = 0; i < 8; i += 1) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]
    if (!taken.has(code)) return code
  }
}

/** client_id from the form; only when the form has none is the body read as JSON {"client_id","scope"}. */
function deviceRequestOf(ctx: Ctx): { clientId: string; scope: string } {
  let clientId = ctx.form.get('client_id') ?? ''
  let scope = ctx.form.get('scope') ?? ''
  if (clientId === '' && !isFormRequest(ctx.req)) {
    try {
      const json = JSON.parse(ctx.body.toString('utf8')) as Record<string, unknown>
      clientId = typeof json.client_id === 'string' ? json.client_id : ''
      scope = typeof json.scope === 'string' ? json.scope : ''
    } catch {
      // Not JSON either: falls through to "client_id is required".
    }
  }
  return { clientId, scope }
}

/** POST /oauth/device/code. The scope is not checked against the client's allow-list (GenerateDeviceCode). */
export function handleDeviceCode(ctx: Ctx): Reply {
  const state = ctx.state
  const { clientId, scope } = deviceRequestOf(ctx)
  if (clientId === '') return oauthError(400, 'invalid_request', 'client_id is required')
  const client = state.clients.get(clientId)
  if (client === undefined) return oauthError(400, 'invalid_client', 'Unknown client_id')
  if (!client.active) return oauthError(400, 'invalid_client', 'Client is inactive')
  if (!client.deviceFlow) {
    return oauthError(400, 'unauthorized_client', 'Device authorization flow is not enabled for this client')
  }
  const row: DeviceCodeRow = {
    deviceCode: randomBytes(20).toString('hex'),
    userCode: newUserCode(state),
    clientId,
    scope: scope === '' ? 'email profile' : scope,
    expiresAtMs: state.now() + state.config.deviceCodeTtlSeconds * 1000,
  }
  state.deviceCodes.set(row.deviceCode, row)
  const userCode = formatUserCode(row.userCode)
  return jsonReply(200, {
    device_code: row.deviceCode,
    user_code: userCode,
    verification_uri: `${state.config.baseUrl}/device`,
    verification_uri_complete: `${state.config.baseUrl}/device?user_code=${userCode}`,
    expires_in: state.config.deviceCodeTtlSeconds,
    interval: state.config.pollingIntervalSeconds,
  })
}

/** POST /device/verify's checks for a signed-in user; returns the error the page would show, or undefined. */
export function approveDeviceCode(state: ServerState, userCode: string, user: UserRow): string | undefined {
  const normalized = normalizeUserCode(userCode)
  const row = [...state.deviceCodes.values()].find((r) => r.userCode === normalized)
  if (row === undefined) return 'Invalid or unknown code'
  if (row.expiresAtMs <= state.now()) return 'This code has expired'
  if (row.approvedUserId !== undefined) return 'This code has already been authorized'
  const client = state.clients.get(row.clientId)
  if (client === undefined || !client.active) return 'Client is inactive'
  row.approvedUserId = user.id
  return undefined
}
