import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import type { TestContext } from 'node:test'
import { chromium, type Browser, type Page } from 'playwright-core'

/** Debian's Chromium, driven headless by playwright-core (no browser download: `.ci/run` installs the package). */
export const CHROMIUM = '/usr/bin/chromium'

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * A headless Chromium for this test, closed after it. Without /usr/bin/chromium the test is skipped with the command
 * that installs it, except on CI (CI=true), where a missing browser must fail rather than pass silently.
 */
export async function launchChromium(t: TestContext): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    const why = `${CHROMIUM} is missing: apt-get install chromium`
    if (process.env.CI === 'true') assert.fail(`${why} (CI=true: browser tests must run)`)
    t.skip(why)
    return undefined
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  t.after(() => browser.close())
  return browser
}

export interface Person {
  username: string
  password: string
}

/**
 * Does what a person does on the server's pages: fills oidc-provider's dev login form (login/password), then
 * "Continue", until the browser lands on the loopback callback. The AuthGate double shows no page (its browser is
 * signed in with consent remembered), so there the callback is reached at once.
 * @returns the callback page the CLI's listener served.
 */
export async function signInInBrowser(
  page: Page,
  url: string,
  person: Person,
  isCallback: (url: URL) => boolean,
): Promise<{ url: string; text: string }> {
  await page.goto(url)
  for (let step = 0; step < 8 && !isCallback(new URL(page.url())); step++) {
    for (const [field, value] of [
      ['login', person.username],
      ['password', person.password],
    ] as const) {
      const input = page.locator(`input[name="${field}"]`)
      if (await input.count()) await input.fill(value)
    }
    await page.locator('button[type="submit"]').first().click()
    await page.waitForLoadState('load')
  }
  assert.ok(isCallback(new URL(page.url())), `the browser did not reach the callback; it is at ${page.url()}`)
  return { url: page.url(), text: await page.locator('body').innerText() }
}
