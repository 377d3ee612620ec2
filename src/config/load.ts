import type { RawSettings, Settings } from './settings.ts'
import { dotenvNotice, ignoredDotenv, resolveSettings } from './settings.ts'
import { resolve } from 'node:path'
import { readDotenv, readProfiles } from './sources.ts'

export interface GlobalFlags extends RawSettings {
  profile?: string
}

/**
 * flags > AUTHGATE_* > bare names > .env > profile > defaults, read from the places the caller names. The profile is
 * chosen by the user only (flag, environment): a `.env` choosing it would choose every untrusted setting at once.
 * `warn` receives the line naming what `.env` may not set, when there is one.
 */
export function loadSettings(
  flags: GlobalFlags,
  where: {
    env: Readonly<Record<string, string | undefined>>
    cwd: string
    paths: { config: string; cache: string }
    warn?: ((line: string) => void) | undefined
  },
): Settings {
  const dotenv = readDotenv(where.cwd)
  const profileName = flags.profile ?? where.env.AUTHGATE_PROFILE ?? 'default'
  const profiles = readProfiles(where.paths.config)
  const profile = profiles.profiles[profileName] ?? {}
  const dotenvFile = resolve(where.cwd, '.env')
  const { env, cwd, paths } = where
  // Said before the settings are checked: a refusal they cause is easier to read after it.
  const notice = dotenvNotice(ignoredDotenv({ dotenv, dotenvFile }))
  if (notice) where.warn?.(notice)
  return resolveSettings({ flags, env, dotenv, dotenvFile, profile, profileName, cwd, paths })
}
