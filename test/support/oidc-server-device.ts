import type Provider from 'oidc-provider'

// The provider stores user codes without the mask's dash and in upper case (lib/helpers/user_codes.js).
function normalizeUserCode(userCode: string): string {
  return userCode.replace(/\W/g, '').toUpperCase()
}

/**
 * Approves a pending device authorization by writing the model directly, as the consent page would:
 * a Grant with the requested OIDC scopes, and the account on the DeviceCode. No HTTP, no pages.
 */
export async function approveDeviceCode(provider: Provider, userCode: string, accountId: string): Promise<void> {
  const code = await provider.DeviceCode.findByUserCode(normalizeUserCode(userCode), { ignoreExpiration: true })
  if (!code) throw new Error(`no device authorization with user code ${userCode}`)
  if (code.isExpired) throw new Error(`device authorization ${userCode} has expired`)
  if (code.accountId || code.error) throw new Error(`device authorization ${userCode} was already decided`)
  const scope = typeof code.params?.scope === 'string' ? code.params.scope : 'openid'
  const grant = new provider.Grant({ accountId, clientId: code.clientId })
  grant.addOIDCScope(scope)
  Object.assign(code, {
    accountId,
    grantId: await grant.save(),
    scope,
    authTime: Math.floor(Date.now() / 1000),
  })
  await code.save()
}

/**
 * Approves every device authorization as `accountId` before its response leaves the server, so the
 * client's first poll already gets tokens. Approving from the `device_authorization.success` event
 * instead would race that first poll.
 */
export function autoApproveDeviceCodes(provider: Provider, accountId: string): void {
  provider.use(async (ctx, next) => {
    await next()
    const body: unknown = ctx.body
    if (ctx.method !== 'POST' || ctx.path !== '/device/auth' || ctx.status !== 200 || !hasUserCode(body)) return
    await approveDeviceCode(provider, body.user_code, accountId)
  })
}

function hasUserCode(body: unknown): body is { user_code: string } {
  return typeof body === 'object' && body !== null && typeof (body as { user_code?: unknown }).user_code === 'string'
}
