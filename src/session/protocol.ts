import * as oauth from 'oauth4webapi'
import { AuthgateError, AuthRequiredError, ProtocolError, RequestFailedError, TemporaryError } from '../errors.ts'
import type { OAuthContext } from '../oauth/context.ts'
import { discoverServer, type ServerMetadata } from '../oauth/discovery.ts'
import { introspect, requestTokenInfo, requestUserInfo, type TokenFacts } from '../oauth/identity.ts'
import { refreshTokens } from '../oauth/refresh.ts'
import { requestClientCredentials } from '../oauth/client-credentials.ts'
import { revokeToken } from '../oauth/revocation.ts'
import type { TokenSet } from '../stores/types.ts'
import { buildAuthorizationUrl, exchangeAuthorizationCode } from '../oauth/authorization-code.ts'
import { pollDeviceToken, requestDeviceAuthorization } from '../oauth/device.ts'
import { retryAfterMs, RetryBudget } from '../oauth/http.ts'
import { answerOf, describeAnswer, type ServerAnswer } from '../oauth/answer.ts'
import type {
  AuthorizationRequest,
  DeviceAuthorization,
  DevicePoll,
  Grant,
  Identity,
  LoginProtocol,
  Protocol,
  RevocationProtocol,
} from './protocol-types.ts'

/** Built on first need (lazy import from the session), so the hot path never parses protocol code. */
export function createProtocol(
  ctx: OAuthContext,
): Protocol & LoginProtocol & RevocationProtocol & { metadata(): Promise<ServerMetadata>; ctx: OAuthContext } {
  let metadata: Promise<ServerMetadata> | undefined
  const discover = () => (metadata ??= classify(discoverServer(ctx), 'discovery'))
  return {
    ctx,
    metadata: discover,
    issuer: async () => (await discover()).issuer,
    async refresh(refreshToken: string): Promise<Grant> {
      const as = await discover()
      return classify(refreshTokens(ctx, as, refreshToken), 'refresh')
    },
    async clientCredentials(scope: string | undefined): Promise<Grant> {
      const as = await discover()
      return classify(requestClientCredentials(ctx, as, scope), 'client-credentials grant')
    },
    async identify(tokens: TokenSet): Promise<Identity> {
      const as = await discover()
      const facts = await classify(identifyWith(ctx, as, tokens), 'status')
      return facts
    },
    ...loginSteps(ctx, discover),
    async revoke(token, hint) {
      const as = await discover()
      return classify(revokeToken(ctx, as, token, hint), 'revocation')
    },
  }
}

async function identifyWith(ctx: OAuthContext, as: ServerMetadata, tokens: TokenSet): Promise<Identity> {
  const attempts: Array<[Identity['source'], () => Promise<TokenFacts | undefined>]> = [
    ['tokeninfo', () => requestTokenInfo(ctx, as, tokens.accessToken)],
    ['userinfo', () => requestUserInfo(ctx, as, tokens.accessToken)],
    ['introspection', () => introspect(ctx, as, tokens.accessToken, 'access_token')],
  ]
  for (const [source, attempt] of attempts) {
    const facts = await attempt()
    if (!facts) continue
    // AuthGate's tokeninfo names the user by id only; its userinfo adds preferred_username for "signed in as".
    const named =
      facts.active && !facts.username && source !== 'userinfo'
        ? await requestUserInfo(ctx, as, tokens.accessToken).catch(() => undefined)
        : undefined
    return {
      verified: facts.active,
      subject: facts.subject ?? named?.subject,
      username: facts.username ?? named?.username,
      scope: facts.scope,
      expiresAtMs: facts.expiresAtSeconds === undefined ? undefined : facts.expiresAtSeconds * 1000,
      source,
    }
  }
  return { verified: undefined }
}

/**
 * The one error funnel (like openid-client's errorHandler): everything a protocol step can throw leaves here as a
 * class from the error table, so commands and the library never see oauth4webapi's or undici's errors.
 */
export async function classify<T>(p: Promise<T>, step: string): Promise<T> {
  try {
    return await p
  } catch (err) {
    throw classifyError(err, step)
  }
}

export function classifyError(err: unknown, step: string): unknown {
  if (err instanceof AuthgateError || (err instanceof TypeError && !isFetchFailure(err))) return err
  const answer = answerOf(responseOf(err))
  if (answer) return classifyAnswer(err, answer, step)
  if (err instanceof oauth.OperationProcessingError || err instanceof oauth.UnsupportedOperationError) {
    return new ProtocolError(`${step} failed: the server's answer is not acceptable (${err.message})`, { cause: err })
  }
  if (isFetchFailure(err))
    return new TemporaryError(`${step} failed: cannot reach the server (${causeOf(err)})`, { cause: err })
  return err
}

/** The Response an oauth4webapi error is about: its body error, its challenge, or a body it could not accept. */
function responseOf(err: unknown): unknown {
  if (err instanceof oauth.ResponseBodyError || err instanceof oauth.WWWAuthenticateChallengeError) return err.response
  return err instanceof oauth.OperationProcessingError ? err.cause : undefined
}

/**
 * A failure about one answer of the server, named by what a person needs: the endpoint, the HTTP status, and the
 * OAuth error, else the start of the body (oauth4webapi's own message names a content type instead, issue 14).
 */
function classifyAnswer(err: unknown, answer: ServerAnswer, step: string): AuthgateError {
  const what = describeAnswer(answer)
  if (step === 'refresh' && rejectsRefreshToken(answer)) {
    return new AuthRequiredError(`the server rejected the refresh token: ${what}`, { cause: err })
  }
  if (answer.status === 429 || answer.status >= 500)
    return new TemporaryError(`${step} failed: ${what}`, { cause: err })
  if (answer.status < 300) {
    const why = err instanceof Error ? err.message : String(err)
    return new ProtocolError(`${step} failed: ${what}, which authgate cannot accept (${why})`, { cause: err })
  }
  const error = answer.oauthError?.error
  const hint =
    err instanceof oauth.WWWAuthenticateChallengeError || error === 'invalid_client'
      ? 'check the client id and secret'
      : undefined
  return new RequestFailedError(`${step} failed: ${what}`, {
    status: answer.status,
    ...(error === undefined ? {} : { error }),
    ...(hint === undefined ? {} : { hint }),
    cause: err,
  })
}

/**
 * The server refused the refresh token itself: `invalid_grant` (RFC 6749 §5.2), or a 400 or 401 without a usable JSON
 * error. §5.2 requires a JSON error body, but real servers and proxies answer a spent or revoked refresh token with
 * an empty, HTML or plain-text 400. Reading that as anything else keeps the dead token and sends it again on every
 * run, which a rotating server logs as reuse: the worst outcome. 5xx and 429 are the server's trouble, not the token's.
 */
function rejectsRefreshToken(answer: ServerAnswer): boolean {
  if (answer.oauthError) return answer.oauthError.error === 'invalid_grant' && answer.status < 500
  return answer.status === 400 || answer.status === 401
}

function isFetchFailure(err: unknown): boolean {
  return err instanceof TypeError && /fetch failed/i.test(err.message)
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? String(err)
}

function withFreshBudget(ctx: OAuthContext): OAuthContext {
  return { ...ctx, budget: new RetryBudget(ctx.http.clock.now()) }
}

/** One poll, its RFC 8628 §3.5 answers turned into values for the login loop; anything else goes through the funnel. */
async function pollDeviceOnce(ctx: OAuthContext, as: ServerMetadata, deviceCode: string): Promise<DevicePoll> {
  try {
    return { status: 'granted', grant: await pollDeviceToken(ctx, as, deviceCode) }
  } catch (err) {
    const answer = devicePollAnswer(err, ctx.http.clock.now())
    if (answer) return answer
    throw classifyError(err, 'device sign-in')
  }
}

function devicePollAnswer(err: unknown, nowMs: number): DevicePoll | undefined {
  if (err instanceof oauth.ResponseBodyError) {
    if (err.error === 'authorization_pending') return { status: 'pending' }
    if (err.error === 'slow_down') return { status: 'slow_down' }
    if (err.error === 'expired_token') return { status: 'expired' }
    if (err.error === 'access_denied') return { status: 'denied', description: err.error_description }
    return undefined
  }
  // boundedFetch has already waited and retried what its budget allowed; the loop backs off further.
  const response = err instanceof TemporaryError ? (err as { response?: Response }).response : undefined
  if (response?.status === 429) return { status: 'rate_limited', retryAfterMs: retryAfterMs(response, nowMs) }
  return undefined
}

/**
 * The login steps. Each request gets a retry budget of its own: the command's 30 s budget must not run out while a
 * person types a code or signs in, so it is counted from each request, not from the start of `authgate login`.
 */
function loginSteps(ctx: OAuthContext, discover: () => Promise<ServerMetadata>): LoginProtocol {
  return {
    async deviceAuthorization(scope: string): Promise<DeviceAuthorization> {
      const as = await discover()
      return classify(requestDeviceAuthorization(withFreshBudget(ctx), as, scope), 'device authorization')
    },
    async pollDevice(deviceCode: string): Promise<DevicePoll> {
      const as = await discover()
      return pollDeviceOnce(withFreshBudget(ctx), as, deviceCode)
    },
    async authorizationRequest(redirectUri: string, scope: string): Promise<AuthorizationRequest> {
      const as = await discover()
      return buildAuthorizationUrl(ctx, as, { redirectUri, scope })
    },
    async exchangeCode(callback: URLSearchParams, request: AuthorizationRequest): Promise<Grant> {
      const as = await discover()
      return classify(exchangeAuthorizationCode(withFreshBudget(ctx), as, callback, request), 'sign-in')
    },
  }
}
