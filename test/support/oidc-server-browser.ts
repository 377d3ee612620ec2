// A scripted browser for oidc-provider's built-in pages (devInteractions and the device flow pages):
// fetch with manual redirects, a cookie jar, and the first form on each page submitted as a user would.

const MAX_STEPS = 20
const DEFAULT_PASSWORD = 'any-password' // devInteractions accepts any login and any password

interface Step {
  url: URL
  method: 'GET' | 'POST'
  form?: URLSearchParams
}

interface Answers {
  accountId: string
  userCode?: string
}

/** The end of a walk: a redirect that leaves the issuer, or a page without a form to submit. */
type Outcome = { kind: 'redirect'; location: string } | { kind: 'page'; html: string }

class CookieJar {
  readonly #cookies = new Map<string, string>()

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  // Paths are ignored: the provider scopes its cookies by path, but sending all of them is harmless here.
  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const isCleared = attributes.some((a) => /^\s*(max-age=0|expires=thu, 01 jan 1970)/i.test(a))
      if (isCleared) this.#cookies.delete(name)
      else this.#cookies.set(name, pair.slice(eq + 1).trim())
    }
  }
}

/**
 * Approves a device authorization through the real pages: code entry, confirmation, login, consent.
 * Throws when the provider re-renders the code page with an error (unknown, expired or used code).
 */
export async function approveDeviceInBrowser(issuer: string, userCode: string, accountId: string): Promise<void> {
  const first: Step = { url: new URL('/device', issuer), method: 'GET' }
  const outcome = await walk(issuer, first, { accountId, userCode })
  if (outcome.kind !== 'page' || !outcome.html.includes('Sign-in Success')) {
    throw new Error(`device approval for ${userCode} did not succeed: ${describe(outcome)}`)
  }
}

/** Logs in and consents, then returns the redirect to the client's redirect_uri without following it. */
export async function loginInBrowser(issuer: string, authorizationUrl: string, accountId: string): Promise<string> {
  const outcome = await walk(issuer, { url: new URL(authorizationUrl), method: 'GET' }, { accountId })
  if (outcome.kind !== 'redirect') {
    throw new Error(`authorization did not redirect to the client: ${describe(outcome)}`)
  }
  return outcome.location
}

async function walk(issuer: string, first: Step, answers: Answers): Promise<Outcome> {
  const jar = new CookieJar()
  const origin = new URL(issuer).origin
  let step = first
  for (let i = 0; i < MAX_STEPS; i++) {
    const response = await send(jar, step)
    const location = response.headers.get('location')
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, step.url)
      if (next.origin !== origin) return { kind: 'redirect', location: next.href }
      step = { url: next, method: 'GET' }
      continue
    }
    const html = await response.text()
    if (!response.ok)
      throw new Error(`${step.method} ${step.url.pathname} answered ${response.status}: ${excerpt(html)}`)
    const error = /<p class="red">([^<]*)<\/p>/.exec(html)
    if (error) throw new Error(`${step.url.pathname} shows an error: ${error[1]}`)
    const form = fillFirstForm(html, step.url, answers)
    if (!form) return { kind: 'page', html }
    step = form
  }
  throw new Error(`no outcome after ${MAX_STEPS} steps, last at ${step.url.href}`)
}

async function send(jar: CookieJar, step: Step): Promise<Response> {
  const response = await fetch(step.url, {
    method: step.method,
    redirect: 'manual',
    headers: { cookie: jar.header() },
    ...(step.form ? { body: step.form } : {}),
  })
  jar.store(response)
  return response
}

// Hidden inputs are posted as rendered; the visible ones get what a user would type.
function fillFirstForm(html: string, base: URL, answers: Answers): Step | undefined {
  const form = /<form\b[^>]*>[\s\S]*?<\/form>/i.exec(html)?.[0]
  const action = form && attribute(form.slice(0, form.indexOf('>')), 'action')
  if (!form || action === undefined) return undefined
  const fields = new URLSearchParams()
  for (const input of form.match(/<input\b[^>]*>/gi) ?? []) {
    const name = attribute(input, 'name')
    if (name !== undefined) fields.set(name, attribute(input, 'value') ?? '')
  }
  if (fields.has('login')) fields.set('login', answers.accountId)
  if (fields.has('password')) fields.set('password', DEFAULT_PASSWORD)
  if (fields.has('user_code') && !fields.get('user_code')) fields.set('user_code', answers.userCode ?? '')
  return { url: new URL(action, base), method: 'POST', form: fields }
}

function attribute(tag: string, name: string): string | undefined {
  const value = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag)?.[1]
  return value === undefined ? undefined : decodeEntities(value)
}

function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}

function describe(outcome: Outcome): string {
  return outcome.kind === 'redirect' ? `redirected to ${outcome.location}` : excerpt(outcome.html)
}

function excerpt(html: string): string {
  const title = /<title>([^<]*)<\/title>/i.exec(html)?.[1]
  return (
    title ??
    html
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 200)
  )
}
