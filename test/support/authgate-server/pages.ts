/**
 * Minimal HTML for the browser side (§1.3, §1.4). Only the form fields matter: names and hidden inputs match the
 * real templ templates (login: username/password/redirect; device: csrf_token/user_code; consent: csrf_token,
 * action and the echoed request fields), so a driver written against these pages also works against AuthGate.
 */

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)} - AuthGate</title></head>
<body>
${body}
</body></html>
`
}

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`
}

function errorLine(error: string | undefined): string {
  return error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''
}

export function loginPage(input: { redirect: string; error?: string }): string {
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
${errorLine(input.error)}
<form method="POST" action="/login">
  ${hidden('redirect', input.redirect)}
  <label>Username <input type="text" name="username" value=""></label>
  <label>Password <input type="password" name="password" value=""></label>
  <button type="submit">Sign in</button>
</form>`,
  )
}

export function devicePage(input: { csrfToken: string; userCode: string; error?: string }): string {
  return layout(
    'Authorize device',
    `<h1>Authorize device</h1>
${errorLine(input.error)}
<form method="POST" action="/device/verify">
  ${hidden('csrf_token', input.csrfToken)}
  <label>Code <input type="text" name="user_code" value="${escapeHtml(input.userCode)}"></label>
  <button type="submit">Authorize</button>
</form>`,
  )
}

export function deviceSuccessPage(input: { clientId: string }): string {
  return layout(
    'Device authorized',
    `<h1>Device authorized</h1>
<p class="success">Client ${escapeHtml(input.clientId)} may now use your account. You can close this window.</p>`,
  )
}

export interface ConsentFields {
  csrfToken: string
  clientId: string
  redirectUri: string
  scope: string
  state: string
  nonce: string
  codeChallenge: string
  codeChallengeMethod: string
}

export function consentPage(input: ConsentFields & { username: string }): string {
  return layout(
    'Authorize application',
    `<h1>Authorize application</h1>
<p>Signed in as ${escapeHtml(input.username)}. Client ${escapeHtml(input.clientId)} requests: ${escapeHtml(input.scope)}</p>
<form method="POST" action="/oauth/authorize">
  ${hidden('csrf_token', input.csrfToken)}
  ${hidden('client_id', input.clientId)}
  ${hidden('redirect_uri', input.redirectUri)}
  ${hidden('scope', input.scope)}
  ${hidden('state', input.state)}
  ${hidden('nonce', input.nonce)}
  ${hidden('code_challenge', input.codeChallenge)}
  ${hidden('code_challenge_method', input.codeChallengeMethod)}
  <button type="submit" name="action" value="approve">Allow</button>
  <button type="submit" name="action" value="deny">Deny</button>
</form>`,
  )
}

export function errorPage(message: string): string {
  return layout('Error', `<h1>Error</h1>\n${errorLine(message)}`)
}
