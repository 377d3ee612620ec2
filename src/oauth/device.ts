import * as oauth from 'oauth4webapi'
import { ProtocolError } from '../errors.ts'
import type { OAuthContext } from './context.ts'
import { clientAuthOf, clientOf, requestOptions } from './context.ts'
import type { ServerMetadata } from './discovery.ts'
import { toGrantResult, type GrantResult } from './token-response.ts'

/** A device authorization the person can act on: every field checked before it reaches a terminal. */
export interface DeviceAuthorizationResult {
  deviceCode: string
  /** Exactly as the server sent it: the person compares it with what the server's page shows. */
  userCode: string
  verificationUri: string
  /** The verification URI with the user code in it, when the server gives one (AuthGate always does). */
  verificationUriComplete?: string | undefined
  expiresInSeconds: number
  /** RFC 8628 §3.2: 5 when absent (oidc-provider sends none). */
  intervalSeconds: number
}

/** RFC 8628 §3.2's default polling interval, used when the server sends none. */
export const DEFAULT_INTERVAL_SECONDS = 5

/**
 * Device Authorization Request. The client authenticates as configured (--client-auth): oidc-provider requires it
 * from confidential clients, AuthGate ignores it (authgate-server.md §1.1).
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.1
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.2
 * @throws oauth4webapi's ResponseBodyError (e.g. `unauthorized_client`), TemporaryError, ProtocolError.
 */
export async function requestDeviceAuthorization(
  ctx: OAuthContext,
  as: ServerMetadata,
  scope: string,
): Promise<DeviceAuthorizationResult> {
  const parameters: Record<string, string> = scope ? { scope } : {}
  // Replayable: a lost answer only leaves an unused code on the server; nothing is spent.
  const response = await oauth.deviceAuthorizationRequest(
    as,
    clientOf(ctx),
    clientAuthOf(ctx),
    parameters,
    requestOptions(ctx, { replayable: true, endpoint: 'device authorization endpoint' }),
  )
  const body = await oauth.processDeviceAuthorizationResponse(as, clientOf(ctx), response)
  return checkDeviceAuthorization(body)
}

/**
 * One Device Access Token Request: tokens, or oauth4webapi's ResponseBodyError carrying `authorization_pending`,
 * `slow_down`, `expired_token` or `access_denied` for the caller's loop to interpret. AuthGate reads `client_id` from
 * the form on this grant and ignores HTTP Basic (§1.2a), so with client_secret_basic the form carries it as well.
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.4
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 * @throws oauth4webapi's ResponseBodyError, TemporaryError (429 after retries carries the `response`), ProtocolError.
 */
export async function pollDeviceToken(ctx: OAuthContext, as: ServerMetadata, deviceCode: string): Promise<GrantResult> {
  const additionalParameters: Record<string, string> =
    ctx.clientSecret && ctx.clientAuth === 'basic' ? { client_id: ctx.clientId } : {}
  // Replayable: a repeated poll spends nothing (unlike a rotating refresh token); the loop polls again anyway.
  const response = await oauth.deviceCodeGrantRequest(
    as,
    clientOf(ctx),
    clientAuthOf(ctx),
    deviceCode,
    requestOptions(ctx, { replayable: true, endpoint: 'token endpoint' }, { additionalParameters }),
  )
  return toGrantResult(await oauth.processDeviceCodeResponse(as, clientOf(ctx), response))
}

/**
 * oauth4webapi has checked the types. The user code and URIs are printed on a terminal, so a server must not be able
 * to smuggle escape sequences or bidi overrides into them, and the URIs must be http(s) (never `javascript:`).
 */
export function checkDeviceAuthorization(body: oauth.DeviceAuthorizationResponse): DeviceAuthorizationResult {
  const userCode = printable(body.user_code, 'user_code')
  if (userCode.length === 0 || userCode.length > 64) throw new ProtocolError('the server sent an unusable user_code')
  if (!(body.expires_in > 0)) throw new ProtocolError('the server sent a device code that has already expired')
  const interval = body.interval ?? DEFAULT_INTERVAL_SECONDS
  return {
    deviceCode: body.device_code,
    userCode,
    verificationUri: httpUrl(body.verification_uri, 'verification_uri'),
    verificationUriComplete:
      body.verification_uri_complete === undefined
        ? undefined
        : httpUrl(body.verification_uri_complete, 'verification_uri_complete'),
    expiresInSeconds: body.expires_in,
    // A zero or fractional interval would hammer the server; one second is the floor.
    intervalSeconds: Math.max(1, Math.ceil(interval)),
  }
}

// C0/C1 controls, and the bidi overrides that can make a terminal show text other than the bytes.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/u

function printable(value: string, field: string): string {
  if (UNPRINTABLE.test(value)) throw new ProtocolError(`the server sent a ${field} with control characters`)
  return value
}

function httpUrl(value: string, field: string): string {
  printable(value, field)
  const url = URL.canParse(value) ? new URL(value) : undefined
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ProtocolError(`the server sent a ${field} that is not an http(s) URL`)
  }
  return value
}
