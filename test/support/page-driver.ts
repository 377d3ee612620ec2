/**
 * A tiny browser stand-in for server-rendered login/consent/device pages: a cookie jar, manual redirect following
 * and regex form scraping. Enough for AuthGate's and oidc-provider's pages; it runs no scripts and knows no CSS.
 *
 * Cookies are kept per host name, ignoring port and path, as RFC 6265 scopes them by host; Domain/Path/Secure
 * attributes are not modelled.
 */

export interface PageDriverOptions {
  /** Default: the global fetch. */
  fetch?: typeof globalThis.fetch
  /** Sent on every request. Keep it constant: AuthGate binds its session cookie to the User-Agent. */
  userAgent?: string
  /** Default 10. */
  maxRedirects?: number
  /** Return the redirect instead of following it, e.g. for a loopback callback nobody listens on. */
  stopAt?: (url: URL) => boolean
}

export interface Page {
  /** URL of the last request made. */
  url: string
  status: number
  headers: Headers
  body: string
  /** Set when the driver stopped at a redirect (stopAt, or a non-http(s) scheme): the absolute Location. */
  location?: string
}

export interface ScrapedForm {
  /** Absolute action URL (the page URL when the form has no action). */
  action: string
  /** Upper-case, default GET. */
  method: string
  /** Named inputs with their values; unchecked checkboxes/radios and buttons are left out. */
  fields: Record<string, string>
}

export interface PageDriver {
  get(url: string | URL): Promise<Page>
  post(url: string | URL, fields: Record<string, string> | URLSearchParams): Promise<Page>
  /** Submits a form of `page` (the first, or the first `pick` accepts), with `overrides` applied on top. */
  submit(page: Page, overrides?: Record<string, string>, pick?: (form: ScrapedForm) => boolean): Promise<Page>
  cookie(url: string | URL, name: string): string | undefined
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" }

export function decodeHtmlEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1]?.toLowerCase() === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10)
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole
    }
    return ENTITIES[name.toLowerCase()] ?? whole
  })
}

/** Attributes of one start tag: `name="v"`, `name='v'`, `name=v` and bare `name`. */
function parseAttributes(tag: string): Map<string, string> {
  const attributes = new Map<string, string>()
  const pattern = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g
  for (const m of tag.matchAll(pattern)) {
    const value = m[2] ?? m[3] ?? m[4] ?? ''
    attributes.set(m[1]!.toLowerCase(), decodeHtmlEntities(value))
  }
  return attributes
}

function inputFields(formHtml: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const m of formHtml.matchAll(/<input\b([^>]*)>/gi)) {
    const attributes = parseAttributes(m[1]!)
    const name = attributes.get('name')
    const type = (attributes.get('type') ?? 'text').toLowerCase()
    if (name === undefined || ['submit', 'button', 'image', 'reset', 'file'].includes(type)) continue
    if ((type === 'checkbox' || type === 'radio') && !attributes.has('checked')) continue
    fields[name] = attributes.get('value') ?? (type === 'checkbox' || type === 'radio' ? 'on' : '')
  }
  for (const m of formHtml.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/gi)) {
    const name = parseAttributes(m[1]!).get('name')
    if (name !== undefined) fields[name] = decodeHtmlEntities(m[2]!)
  }
  return fields
}

export function scrapeForms(html: string, pageUrl: string): ScrapedForm[] {
  const forms: ScrapedForm[] = []
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = parseAttributes(m[1]!)
    forms.push({
      action: new URL(attributes.get('action') || pageUrl, pageUrl).toString(),
      method: (attributes.get('method') ?? 'GET').toUpperCase(),
      fields: inputFields(m[2]!),
    })
  }
  return forms
}

/** Every `<input type="hidden">` of the page, by name (the last one wins). */
export function scrapeHiddenInputs(html: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const m of html.matchAll(/<input\b([^>]*)>/gi)) {
    const attributes = parseAttributes(m[1]!)
    const name = attributes.get('name')
    if (name !== undefined && attributes.get('type')?.toLowerCase() === 'hidden')
      fields[name] = attributes.get('value') ?? ''
  }
  return fields
}

class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>()

  header(url: URL): string | undefined {
    const cookies = this.byHost.get(url.hostname)
    if (cookies === undefined || cookies.size === 0) return undefined
    return [...cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  get(url: URL, name: string): string | undefined {
    return this.byHost.get(url.hostname)?.get(name)
  }

  store(url: URL, setCookies: string[]): void {
    const cookies = this.byHost.get(url.hostname) ?? new Map<string, string>()
    this.byHost.set(url.hostname, cookies)
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      if (eq <= 0) continue
      const name = pair.slice(0, eq).trim()
      if (attributes.some((a) => isExpiring(a.trim()))) cookies.delete(name)
      else cookies.set(name, pair.slice(eq + 1).trim())
    }
  }
}

/** `Max-Age<=0` or an `Expires` in the past is how servers delete a cookie. */
function isExpiring(attribute: string): boolean {
  const [key = '', value = ''] = attribute.split('=')
  if (key.toLowerCase() === 'max-age') return Number(value) <= 0
  if (key.toLowerCase() === 'expires') return Date.parse(attribute.slice(attribute.indexOf('=') + 1)) <= Date.now()
  return false
}

interface PendingRequest {
  url: URL
  method: string
  body?: URLSearchParams
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

export function createPageDriver(options: PageDriverOptions = {}): PageDriver {
  return new FetchPageDriver(options)
}

class FetchPageDriver implements PageDriver {
  private readonly jar = new CookieJar()
  private readonly doFetch: typeof globalThis.fetch
  private readonly userAgent: string
  private readonly maxRedirects: number

  constructor(private readonly options: PageDriverOptions) {
    this.doFetch = options.fetch ?? globalThis.fetch
    this.userAgent = options.userAgent ?? 'authgate-page-driver/1'
    this.maxRedirects = options.maxRedirects ?? 10
  }

  get(url: string | URL): Promise<Page> {
    return this.run({ url: new URL(url), method: 'GET' })
  }

  post(url: string | URL, fields: Record<string, string> | URLSearchParams): Promise<Page> {
    return this.run({ url: new URL(url), method: 'POST', body: new URLSearchParams(fields) })
  }

  submit(page: Page, overrides: Record<string, string> = {}, pick: (form: ScrapedForm) => boolean = () => true) {
    const form = scrapeForms(page.body, page.url).find(pick)
    if (form === undefined) throw new Error(`page driver: no matching form on ${page.url} (status ${page.status})`)
    const body = new URLSearchParams({ ...form.fields, ...overrides })
    if (form.method === 'POST') return this.run({ url: new URL(form.action), method: 'POST', body })
    const target = new URL(form.action)
    target.search = body.toString()
    return this.run({ url: target, method: 'GET' })
  }

  cookie(url: string | URL, name: string): string | undefined {
    return this.jar.get(new URL(url), name)
  }

  private async send(request: PendingRequest): Promise<Response> {
    const headers: Record<string, string> = { 'User-Agent': this.userAgent }
    const cookie = this.jar.header(request.url)
    if (cookie !== undefined) headers.Cookie = cookie
    const init: RequestInit = { method: request.method, headers, redirect: 'manual' }
    if (request.body !== undefined) init.body = request.body
    const response = await this.doFetch(request.url, init)
    this.jar.store(request.url, response.headers.getSetCookie())
    return response
  }

  private async run(first: PendingRequest): Promise<Page> {
    let request = first
    for (let hop = 0; ; hop += 1) {
      const response = await this.send(request)
      const location = response.headers.get('location')
      if (!REDIRECT_STATUSES.has(response.status) || location === null) return toPage(request.url, response)
      const next = new URL(location, request.url)
      const stop = !/^https?:$/.test(next.protocol) || this.options.stopAt?.(next) === true
      if (stop) return { ...(await toPage(request.url, response)), location: next.toString() }
      if (hop >= this.maxRedirects)
        throw new Error(`page driver: more than ${this.maxRedirects} redirects from ${first.url}`)
      // 307/308 repeat the request; the others turn into a GET, as browsers do.
      const keep = response.status === 307 || response.status === 308
      request = keep ? { ...request, url: next } : { url: next, method: 'GET' }
    }
  }
}

async function toPage(url: URL, response: Response): Promise<Page> {
  return { url: url.toString(), status: response.status, headers: response.headers, body: await response.text() }
}
