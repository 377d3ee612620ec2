import { randomBytes, randomUUID } from 'node:crypto'
import { goQueryEscape, parseCookies, sendHtml, sendRedirect, type Ctx } from './http.ts'
import { loginPage } from './pages.ts'
import { findUserByName, type SessionRow, type UserRow } from './state.ts'

/** Browser sessions: /login (no CSRF, §1.4), the `oauth_session` cookie, RequireAuth and the CSRF check. */

export const SESSION_COOKIE = 'oauth_session'

export interface LoggedIn {
  session: SessionRow
  user: UserRow
}

export function currentSession(ctx: Ctx): LoggedIn | undefined {
  const id = parseCookies(ctx.req).get(SESSION_COOKIE)
  const session = id === undefined ? undefined : ctx.state.sessions.get(id)
  // Session fingerprint: a cookie replayed with another User-Agent counts as logged out.
  if (session === undefined || session.userAgent !== (ctx.req.headers['user-agent'] ?? '')) return undefined
  const user = ctx.state.users.get(session.userId)
  return user === undefined ? undefined : { session, user }
}

/** RequireAuth: redirect to /login before any parameter validation, remembering the original URL. */
export function requireLogin(ctx: Ctx): LoggedIn | undefined {
  const current = currentSession(ctx)
  if (current === undefined) sendRedirect(ctx.res, `/login?redirect=${goQueryEscape(ctx.req.url ?? '/')}`)
  return current
}

/** Hidden input `csrf_token` or header `X-CSRF-Token` must match the session's token. */
export function isCsrfValid(ctx: Ctx, session: SessionRow): boolean {
  const given = ctx.form.get('csrf_token') ?? String(ctx.req.headers['x-csrf-token'] ?? '')
  return given !== '' && given === session.csrfToken
}

/** Only same-site paths are followed after login, so the form cannot be turned into an open redirect. */
function safeRedirect(target: string): string {
  return target.startsWith('/') && !target.startsWith('//') ? target : '/'
}

export function handleLoginPage(ctx: Ctx): void {
  sendHtml(ctx.res, 200, loginPage({ redirect: ctx.url.searchParams.get('redirect') ?? '' }))
}

export function handleLogin(ctx: Ctx): void {
  const username = ctx.form.get('username') ?? ''
  const password = ctx.form.get('password') ?? ''
  const redirect = ctx.form.get('redirect') ?? ''
  const user = findUserByName(ctx.state, username)
  if (user === undefined || user.password !== password) {
    sendHtml(ctx.res, 401, loginPage({ redirect, error: 'Invalid username or password' }))
    return
  }
  const session: SessionRow = {
    id: randomUUID(),
    userId: user.id,
    userAgent: ctx.req.headers['user-agent'] ?? '',
    csrfToken: randomBytes(32).toString('base64url'),
  }
  ctx.state.sessions.set(session.id, session)
  ctx.res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Lax`)
  sendRedirect(ctx.res, safeRedirect(redirect))
}
