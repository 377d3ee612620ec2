import assert from 'node:assert/strict'
import { chmodSync, existsSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { sessionKey } from '../../src/session-key.ts'
import { StoreError } from '../../src/errors.ts'
import { saveLoginTokens } from '../../src/session/login-save.ts'
import { AutoStore } from '../../src/stores/auto-store.ts'
import { createCliHome, killAllClis, requireBuild, runCli } from '../support/cli.ts'
import { loginSession, realBackends, storeDeps } from '../support/real-stores.ts'

/**
 * Issue 4 item 8, the other half: a Linux machine without a D-Bus session (a container, a CI job, SSH without a
 * desktop). `auto` falls back to the file and says so; `keyring` fails clearly with exit 1; nothing hangs.
 * In this process too: the keyring addon reads DBUS_SESSION_BUS_ADDRESS when it connects.
 */
delete process.env.DBUS_SESSION_BUS_ADDRESS

const SERVER = 'https://auth.example.com'
const key = sessionKey(SERVER, 'no-dbus-cli')
const h = createCliHome('authgate-no-dbus-')
const noDbus = { DBUS_SESSION_BUS_ADDRESS: undefined }
const cli = (args: string[], store: string) =>
  runCli(
    [
      ...args,
      '--server-url',
      SERVER,
      '--client-id',
      key.clientId,
      '--token-store',
      store,
      '--token-file',
      h.tokenFile,
      '--lock-dir',
      h.lockDir,
    ],
    { home: h, env: noDbus },
  )

before(requireBuild)
after(() => (killAllClis(), h.remove()))

describe(
  'no D-Bus session',
  { skip: process.platform !== 'linux' && 'the Secret Service is Linux only', timeout: 120_000 },
  () => {
    test('auto at login: the tokens go to the file, and one line on stderr says so and why', async () => {
      const session = loginSession(
        { tokenStore: 'auto', tokenFile: h.tokenFile, lockDir: h.lockDir },
        key,
        new AutoStore(await realBackends(h.tokenFile)),
      )
      const lines: string[] = []
      const tokens = {
        accessToken: 'at-no-dbus',
        tokenType: 'Bearer',
        refreshToken: 'rt-no-dbus',
        expiresAtMs: Date.now() + 3_600_000,
      }
      const placed = await saveLoginTokens(session, tokens, storeDeps, (l) => lines.push(l))
      assert.equal(placed.store, 'file')
      assert.equal(lines.length, 1, lines.join('\n'))
      assert.ok(
        lines[0]!.startsWith(
          `auto: tokens saved in the file ${h.tokenFile}, because the OS keyring (Secret Service) cannot be used (write failed): `,
        ),
        lines[0],
      )
      assert.match(lines[0]!, /DBUS_SESSION_BUS_ADDRESS/)
      assert.equal(JSON.parse(readFileSync(h.tokenFile, 'utf8')).sessions[key.account].access_token, 'at-no-dbus')

      const token = await cli(['token'], 'auto')
      assert.deepEqual([token.code, token.stdout, token.stderr], [0, 'at-no-dbus\n', ''])
      const status = await cli(['status', '--offline', '--json'], 'auto')
      assert.equal(status.code, 0, status.stderr)
      assert.deepEqual([JSON.parse(status.stdout).store, JSON.parse(status.stdout).store_path], ['file', h.tokenFile])
    })

    test('status names the backend and path, and warns on stderr when other users can read the file or its directory', async () => {
      chmodSync(h.tokenFile, 0o644)
      chmodSync(dirname(h.tokenFile), 0o755)
      try {
        const status = await cli(['status', '--offline'], 'auto')
        assert.equal(status.code, 0, status.stderr)
        assert.match(status.stdout, new RegExp(`tokens: +file ${h.tokenFile} \\(chosen by auto at login\\)`))
        assert.equal(
          status.stderr,
          [
            `warning: the token store ${h.tokenFile} is accessible to other users (mode 644): run chmod 600 ${h.tokenFile}`,
            `warning: the token store directory ${dirname(h.tokenFile)} is accessible to other users (mode 755): run chmod 700 ${dirname(h.tokenFile)}`,
            '',
          ].join('\n'),
        )
      } finally {
        chmodSync(h.tokenFile, 0o600)
        chmodSync(dirname(h.tokenFile), 0o700)
      }
    })

    test('--token-store keyring: exit 1 with a message naming the keyring and what to do', async () => {
      for (const command of [['token'], ['status', '--offline']]) {
        const r = await cli(command, 'keyring')
        assert.equal(r.code, 1, `${command[0]}: ${r.stderr}`)
        assert.equal(r.stdout, '')
        assert.match(
          r.stderr,
          /the OS keyring \(Secret Service\) cannot be used \(read failed\): .*DBUS_SESSION_BUS_ADDRESS/,
        )
        assert.match(
          r.stderr,
          /run a Secret Service \(gnome-keyring, KeePassXC\) in an unlocked D-Bus session, or choose --token-store file/,
        )
      }
    })

    test('--token-store encrypted: saving fails clearly (the key needs the keyring) and leaves no file', async () => {
      const store = await (await realBackends(`${h.dir}/enc/tokens.json`)).encrypted()
      await assert.rejects(
        store.write(key, { accessToken: 'at', tokenType: 'Bearer' }),
        (e: unknown) =>
          e instanceof StoreError &&
          e.exitCode === 1 &&
          /the OS keyring \(Secret Service\) cannot be used \(write failed\)/.test(e.message),
      )
      assert.equal(existsSync(store.location), false)
    })
  },
)
