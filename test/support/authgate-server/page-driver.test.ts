import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createPageDriver, decodeHtmlEntities, scrapeForms, scrapeHiddenInputs } from '../page-driver.ts'

/** The page driver's scraping and cookie jar, on hand-built HTML and Responses (no server). */

describe('page-driver scraping', () => {
  test('decodeHtmlEntities', () => {
    const cases = [
      { input: 'a&amp;b', want: 'a&b' },
      { input: '&quot;x&quot; &#39;y&#39; &lt;&gt;', want: `"x" 'y' <>` },
      { input: '&#x41;&#66;', want: 'AB' },
      { input: '&unknown;', want: '&unknown;' },
    ]
    for (const c of cases) assert.equal(decodeHtmlEntities(c.input), c.want, c.input)
  })

  test('scrapeForms: action resolution, method, input kinds', () => {
    const html = `
      <form method="post" action="/interaction/abc/login">
        <input type="hidden" name="csrf" value="a&amp;b">
        <input name=login value='alice'>
        <input type="checkbox" name="remember" checked>
        <input type="checkbox" name="unchecked" value="1">
        <input type="submit" name="go" value="Go">
        <textarea name="note">x &lt; y</textarea>
      </form>
      <form><input type="hidden" name="q" value="1"></form>`
    const forms = scrapeForms(html, 'http://127.0.0.1:1234/page?x=1')
    assert.deepEqual(forms, [
      {
        action: 'http://127.0.0.1:1234/interaction/abc/login',
        method: 'POST',
        fields: { csrf: 'a&b', login: 'alice', remember: 'on', note: 'x < y' },
      },
      { action: 'http://127.0.0.1:1234/page?x=1', method: 'GET', fields: { q: '1' } },
    ])
  })

  test('scrapeHiddenInputs keeps only hidden inputs', () => {
    const html =
      '<input type="hidden" name="a" value="1"><input type="text" name="b" value="2"><INPUT TYPE="HIDDEN" NAME="c" VALUE="3">'
    assert.deepEqual(scrapeHiddenInputs(html), { a: '1', c: '3' })
  })
})

describe('page-driver requests', () => {
  test('follows redirects as a browser, keeps and deletes cookies, stops where told', async () => {
    const seen: { url: string; method: string; cookie: string | null; ua: string | null }[] = []
    const replies: Record<string, () => Response> = {
      'POST http://h.test/login': () =>
        new Response(null, {
          status: 302,
          headers: [
            ['Location', '/next'],
            ['Set-Cookie', 'sid=abc; Path=/; HttpOnly'],
            ['Set-Cookie', 'old=1; Max-Age=0'],
          ],
        }),
      'GET http://h.test/next': () =>
        new Response(null, { status: 303, headers: { Location: 'http://localhost:8888/cb?code=1' } }),
    }
    const fakeFetch = async (input: string | URL | Request, init?: RequestInit) => {
      const headers = new Headers(init?.headers)
      const url = String(input)
      seen.push({ url, method: init?.method ?? 'GET', cookie: headers.get('cookie'), ua: headers.get('user-agent') })
      return (replies[`${init?.method} ${url}`] ?? (() => new Response('missing', { status: 500 })))()
    }
    const driver = createPageDriver({
      fetch: fakeFetch as typeof fetch,
      userAgent: 'ua',
      stopAt: (u) => u.port === '8888',
    })
    const page = await driver.post('http://h.test/login', { a: '1' })
    assert.equal(page.status, 303)
    assert.equal(page.location, 'http://localhost:8888/cb?code=1')
    assert.deepEqual(seen, [
      { url: 'http://h.test/login', method: 'POST', cookie: null, ua: 'ua' },
      { url: 'http://h.test/next', method: 'GET', cookie: 'sid=abc', ua: 'ua' },
    ])
    assert.equal(driver.cookie('http://h.test/', 'sid'), 'abc')
    assert.equal(driver.cookie('http://h.test/', 'old'), undefined)
  })

  test('too many redirects throw', async () => {
    const loop = async () => new Response(null, { status: 302, headers: { Location: '/again' } })
    const driver = createPageDriver({ fetch: loop as typeof fetch, maxRedirects: 3 })
    await assert.rejects(driver.get('http://h.test/'), /more than 3 redirects/)
  })
})
