import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { sessionKey } from '../../src/session-key.ts'
import { saveLoginTokens } from '../../src/session/login-save.ts'
import { AutoStore } from '../../src/stores/auto-store.ts'
import { KEY_SERVICE } from '../../src/stores/encrypted-store.ts'
import { KEYRING_SERVICE } from '../../src/stores/keyring-store.ts'
import type { TokenSet } from '../../src/stores/types.ts'
import { createCliHome, killAllClis, requireBuild, runCli } from '../support/cli.ts'
import { loginSession, realBackends, storeDeps } from '../support/real-stores.ts'
import { keyringEnv, realKeyringSkip, secretToolAccounts } from './real-keyring.ts'

/** The keyring backends against a real Secret Service (gnome-keyring in a private D-Bus session). */

const skip = realKeyringSkip()
const SERVER = 'https://auth.example.com'
let n = 0
/** A session of its own per test: the test files share one keyring. */
const freshKey = () => sessionKey(SERVER, `keyring-test-${process.pid}-${++n}`)
const inAnHour = () => Date.now() + 3_600_000
const tokensFor = (tag: string, extra: Partial<TokenSet> = {}): TokenSet => ({
  accessToken: `at-${tag}`,
  tokenType: 'Bearer',
  refreshToken: `rt-${tag}`,
  expiresAtMs: inAnHour(),
  obtainedAtMs: Date.now(),
  ...extra,
})

const h = createCliHome('authgate-keyring-')
after(() => (killAllClis(), h.remove()))
if (!skip) before(requireBuild)

/** The CLI as a user runs it, reaching the test's Secret Service. */
const cli = (args: string[], store: string) =>
  runCli(
    [...args, '--server-url', SERVER, '--token-store', store, '--token-file', h.tokenFile, '--lock-dir', h.lockDir],
    { home: h, env: keyringEnv },
  )

const fileEntry = (account: string) =>
  existsSync(h.tokenFile) ? JSON.parse(readFileSync(h.tokenFile, 'utf8')).sessions?.[account] : undefined

describe('keyring backends on a real Secret Service', { timeout: 120_000 }, () => {
  test(
    'keyring: round trip, one item per session (as secret-tool sees it), a rewrite replaces the item',
    { skip },
    async () => {
      const backends = await realBackends(h.tokenFile)
      const store = await backends.keyring()
      const [a, b] = [freshKey(), freshKey()]
      await store.write(a, tokensFor('a1'))
      await store.write(b, tokensFor('b1'))
      await store.write(a, tokensFor('a2'))
      assert.equal((await store.read(a))?.accessToken, 'at-a2')
      assert.equal((await store.read(b))?.accessToken, 'at-b1')
      const accounts = secretToolAccounts(KEYRING_SERVICE)
      assert.deepEqual(
        [a, b].map((k) => accounts.filter((x) => x === k.account).length),
        [1, 1],
      )
      const listed = (await store.list()).filter((s) => s.key.account === a.account || s.key.account === b.account)
      assert.deepEqual(listed.map((s) => [s.key.clientId, s.tokens.accessToken, s.store]).sort(), [
        [a.clientId, 'at-a2', 'keyring'],
        [b.clientId, 'at-b1', 'keyring'],
      ])
      assert.equal(await store.delete(a, 'rt-not-this-one'), false)
      assert.equal(await store.delete(a), true)
      assert.equal(await store.read(a), undefined)
      assert.equal(existsSync(h.tokenFile), false, 'the keyring store never creates the token file')
    },
  )

  test(
    'encrypted: the document sealed with a key kept in the real keyring, readable by a fresh process',
    { skip },
    async () => {
      const key = freshKey()
      const store = await (await realBackends(h.tokenFile)).encrypted()
      await store.write(key, tokensFor('enc'))
      assert.doesNotMatch(readFileSync(store.location, 'utf8'), /at-enc|rt-enc/)
      assert.ok(
        secretToolAccounts(KEY_SERVICE).some((account) => account.startsWith(`${store.location}#`)),
        'no key item for the file',
      )
      const fresh = await (await realBackends(h.tokenFile)).encrypted()
      assert.equal((await fresh.read(key))?.accessToken, 'at-enc')
      const shown = await cli(['token', '--client-id', key.clientId], 'encrypted')
      assert.deepEqual([shown.code, shown.stdout, shown.stderr], [0, 'at-enc\n', ''])
    },
  )

  test(
    'auto with a working keyring: keyring, a pointer in the file, one line at login; the CLI follows the pointer',
    { skip },
    async () => {
      const key = freshKey()
      const backends = await realBackends(h.tokenFile)
      const lines: string[] = []
      const placed = await saveLoginTokens(
        loginSession({ tokenStore: 'auto', tokenFile: h.tokenFile, lockDir: h.lockDir }, key, new AutoStore(backends)),
        tokensFor('auto'),
        storeDeps,
        (l) => lines.push(l),
      )
      assert.equal(placed.store, 'keyring')
      assert.deepEqual(lines, ['auto: tokens saved in the OS keyring (Secret Service), service authgate-cli'])
      assert.deepEqual(fileEntry(key.account), { store: 'keyring', server_url: SERVER, client_id: key.clientId })
      const token = await cli(['token', '--client-id', key.clientId], 'auto')
      assert.deepEqual([token.code, token.stdout, token.stderr], [0, 'at-auto\n', ''])
      const status = await cli(['status', '--offline', '--json', '--client-id', key.clientId], 'auto')
      assert.equal(status.code, 0, status.stderr)
      assert.deepEqual([JSON.parse(status.stdout).store, JSON.parse(status.stdout).store_path], ['keyring', null])
    },
  )

  test(
    'auto with a 6 KB access token: the encrypted file, its key in the keyring, and the login line says why',
    { skip },
    async () => {
      const key = freshKey()
      const big = `eyJ${'x'.repeat(6 * 1024)}`
      const backends = await realBackends(h.tokenFile)
      const lines: string[] = []
      const placed = await saveLoginTokens(
        loginSession({ tokenStore: 'auto', tokenFile: h.tokenFile, lockDir: h.lockDir }, key, new AutoStore(backends)),
        tokensFor('big', { accessToken: big }),
        storeDeps,
        (l) => lines.push(l),
      )
      assert.equal(placed.store, 'encrypted')
      assert.equal(lines.length, 1)
      assert.match(
        lines[0]!,
        /^auto: the tokens \(\d+ bytes\) are larger than an OS keyring item holds \(2560 bytes\): saved in the encrypted file .*tokens\.enc, its key in the OS keyring$/,
      )
      assert.equal(fileEntry(key.account).store, 'encrypted')
      assert.ok(!secretToolAccounts(KEYRING_SERVICE).includes(key.account), 'a keyring item was left for the session')
      const token = await cli(['token', '--client-id', key.clientId], 'auto')
      assert.deepEqual([token.code, token.stdout], [0, `${big}\n`])
      const status = await cli(['status', '--offline', '--json', '--client-id', key.clientId], 'auto')
      assert.deepEqual(
        [JSON.parse(status.stdout).store, JSON.parse(status.stdout).store_path],
        ['encrypted', (await backends.encrypted()).location],
      )
    },
  )

  test(
    'login --token-store keyring for a session in the file moves it there and removes the plaintext copy',
    { skip },
    async () => {
      const key = freshKey()
      const backends = await realBackends(h.tokenFile)
      await backends.file.write(key, tokensFor('old'))
      const lines: string[] = []
      const keyring = await backends.keyring()
      await saveLoginTokens(
        loginSession({ tokenStore: 'keyring', tokenFile: h.tokenFile, lockDir: h.lockDir }, key, keyring),
        tokensFor('new'),
        storeDeps,
        (l) => lines.push(l),
      )
      assert.deepEqual(lines, [`moved the session out of the file ${h.tokenFile}: the plaintext copy there is removed`])
      assert.doesNotMatch(readFileSync(h.tokenFile, 'utf8'), /at-old|rt-old|at-new|rt-new/)
      assert.equal((await keyring.read(key))?.accessToken, 'at-new')
      for (const store of ['keyring', 'auto']) {
        const token = await cli(['token', '--client-id', key.clientId], store)
        assert.deepEqual([token.code, token.stdout, token.stderr], [0, 'at-new\n', ''], store)
      }
      const asFile = await cli(['token', '--client-id', key.clientId], 'file')
      assert.equal(asFile.code, 1)
      assert.match(asFile.stderr, /records that they are in the keyring store/)
    },
  )
})
