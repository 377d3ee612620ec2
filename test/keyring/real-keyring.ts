import { spawnSync } from 'node:child_process'

/**
 * For the tests under test/keyring, which scripts/run-tests.mjs runs inside `dbus-run-session` with an unlocked
 * gnome-keyring and AUTHGATE_REAL_KEYRING=1. Run any other way they skip, naming what to install; under CI=true a
 * missing Secret Service is a failure, never a silent skip.
 */
export function realKeyringSkip(): string | false {
  if (process.env.AUTHGATE_REAL_KEYRING === '1') return false
  const reason =
    'needs a real Secret Service: `apt-get install gnome-keyring dbus-daemon`, then `node scripts/run-tests.mjs test/keyring`'
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`)
  return reason
}

/** What a spawned CLI needs to reach the test's Secret Service. */
export const keyringEnv = { DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS }

/** `secret-tool search --all service <service>`: what the Secret Service itself holds, independent of our code. */
export function secretToolAccounts(service: string): string[] {
  const out = spawnSync('secret-tool', ['search', '--all', 'service', service], { encoding: 'utf8' })
  return [...`${out.stdout}\n${out.stderr}`.matchAll(/^attribute\.username = (.*)$/gm)].map((m) => m[1]!)
}
