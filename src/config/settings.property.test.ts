import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { UsageError } from '../errors.ts'
import { normaliseServerUrl } from '../session-key.ts'
import { RESOLVED, type SettingKey } from './settings-table.ts'
import { parseDurationMs, resolveRaw, resolveSettings, type RawSettings, type SettingsSources } from './settings.ts'

/** Property tests of the configuration resolver: precedence, and what the validated settings hold. */

const base: SettingsSources = {
  flags: {},
  env: {},
  dotenv: {},
  profile: {},
  profileName: 'default',
  cwd: '/work',
  paths: { config: '/cfg/authgate', cache: '/cache/authgate' },
}

const SOURCES = ['flag', 'env', 'bare-env', '.env AUTHGATE_', '.env bare', 'profile'] as const
type Source = (typeof SOURCES)[number]

/** For one setting: which sources carry a value (possibly ''), and the values. */
const presence = fc.record(
  Object.fromEntries(
    SOURCES.map((s) => [
      s,
      fc.option(fc.oneof(fc.constant(''), fc.string({ minLength: 1, maxLength: 8 })), { nil: undefined }),
    ]),
  ) as Record<Source, fc.Arbitrary<string | undefined>>,
)

const nonEmpty = (v: string | undefined) => (v === '' ? undefined : v)

test('resolveRaw: every setting takes the first non-empty value in the contract order, and names where it came from', () => {
  fc.assert(
    fc.property(fc.array(presence, { minLength: RESOLVED.length, maxLength: RESOLVED.length }), (perSpec) => {
      const sources: SettingsSources = { ...base, flags: {}, env: {}, dotenv: {}, profile: {} }
      const flags: Record<string, string> = {}
      const env: Record<string, string> = {}
      const dotenv: Record<string, string> = {}
      const profile: Record<string, string> = {}
      RESOLVED.forEach((spec, i) => {
        const p = perSpec[i]!
        if (p.flag !== undefined) flags[spec.key] = p.flag
        if (p.env !== undefined) env[`AUTHGATE_${spec.env}`] = p.env
        if (p['bare-env'] !== undefined) env[spec.env] = p['bare-env']
        if (p['.env AUTHGATE_'] !== undefined) dotenv[`AUTHGATE_${spec.env}`] = p['.env AUTHGATE_']
        if (p['.env bare'] !== undefined) dotenv[spec.env] = p['.env bare']
        if (p.profile !== undefined) profile[spec.env.toLowerCase()] = p.profile
      })
      const { raw, origin } = resolveRaw({ ...sources, flags: flags as RawSettings, env, dotenv, profile })
      RESOLVED.forEach((spec, i) => {
        const p = perSpec[i]!
        // The contract: an empty value counts as unset, in .env as in the environment, so the bare name applies.
        // Only the rows a working-directory .env may set read it; a redirect URI there must be a loopback http URI,
        // which no generated value of 8 characters is.
        const trusted = spec.dotenv === true && spec.key !== 'redirectUri'
        const dotenvValue = trusted
          ? (nonEmpty(p['.env AUTHGATE_']) ?? (spec.bare ? p['.env bare'] : undefined))
          : undefined
        const ordered: Array<[string, string | undefined]> = [
          ['flag', p.flag],
          ['env', p.env],
          ['bare-env', spec.bare ? p['bare-env'] : undefined],
          ['.env', dotenvValue],
          ['profile', p.profile],
          ['default', spec.fallback],
        ]
        const want = ordered.find(([, v]) => v !== undefined && v !== '')
        assert.equal(raw[spec.key as SettingKey], want?.[1], `${spec.key}`)
        assert.equal(origin[spec.key], want?.[0] ?? 'unset', `${spec.key} origin`)
      })
    }),
  )
})

const host = fc.oneof(fc.domain(), fc.constantFrom('localhost', '127.0.0.1', '[::1]', 'AUTH.Example.COM'))
const serverUrl = fc
  .tuple(
    fc.constantFrom('http', 'https', 'HTTPS'),
    host,
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    fc.array(fc.stringMatching(/^[a-z0-9-]{1,6}$/), { maxLength: 3 }),
    fc.boolean(),
  )
  .map(
    ([scheme, h, port, segments, slash]) =>
      `${scheme}://${h}${port === undefined ? '' : `:${port}`}${segments.length ? `/${segments.join('/')}` : ''}${slash ? '/' : ''}`,
  )

test('normaliseServerUrl is idempotent, lower-cases scheme and host, drops default ports and trailing slashes', () => {
  fc.assert(
    fc.property(serverUrl, (url) => {
      const once = normaliseServerUrl(url)
      assert.equal(normaliseServerUrl(once), once)
      assert.ok(!once.endsWith('/'), once)
      const parsed = new URL(once)
      assert.equal(`${parsed.protocol}//${parsed.host}`, `${parsed.protocol}//${parsed.host}`.toLowerCase())
      assert.ok(
        !/:(80|443)$/.test(parsed.host) || (parsed.protocol === 'http:' ? parsed.port !== '80' : parsed.port !== '443'),
      )
    }),
  )
})

test('resolveSettings refuses plain http to a non-loopback host unless allowed, and accepts it when allowed', () => {
  fc.assert(
    fc.property(serverUrl, fc.boolean(), (url, allow) => {
      const sources = { ...base, flags: { serverUrl: url, allowInsecureHttp: allow ? 'true' : 'false' } }
      const { protocol, hostname } = new URL(url.toLowerCase())
      const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(hostname)
      if (protocol === 'http:' && !loopback && !allow) {
        assert.throws(() => resolveSettings(sources), UsageError)
      } else {
        assert.equal(resolveSettings(sources).serverUrl, normaliseServerUrl(url))
      }
    }),
  )
})

test('durations: a number of seconds, or with a unit, comes back in milliseconds; anything else is a usage error', () => {
  const units = { ms: 1, s: 1000, '': 1000, m: 60_000, h: 3_600_000 } as const
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 100_000 }),
      fc.constantFrom(...(Object.keys(units) as Array<keyof typeof units>)),
      (n, unit) => {
        assert.equal(parseDurationMs(`${n}${unit}`, 'lock-timeout'), n * units[unit])
        assert.equal(
          resolveSettings({ ...base, env: { AUTHGATE_LOCK_TIMEOUT: `${n}${unit}` } }).lockTimeoutMs,
          n * units[unit],
        )
      },
    ),
  )
  fc.assert(
    fc.property(
      fc.string().filter((s) => !/^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$/.test(s)),
      (junk) => {
        assert.throws(() => parseDurationMs(junk, 'lock-timeout'), UsageError)
      },
    ),
  )
})
