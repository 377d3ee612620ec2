import type { RawSettings, Settings } from './settings.ts'
import { resolveSettings } from './settings.ts'
import { readDotenv, readProfiles } from './sources.ts'

export interface GlobalFlags extends RawSettings {
  profile?: string
}

/** flags > AUTHGATE_* > bare names > .env > profile > defaults, read from the places the caller names. */
export function loadSettings(
  flags: GlobalFlags,
  where: { env: Readonly<Record<string, string | undefined>>; cwd: string; paths: { config: string; cache: string } },
): Settings {
  const dotenv = readDotenv(where.cwd)
  const profileName = flags.profile ?? where.env.AUTHGATE_PROFILE ?? dotenv.AUTHGATE_PROFILE ?? 'default'
  const profiles = readProfiles(where.paths.config)
  const profile = profiles.profiles[profileName] ?? {}
  return resolveSettings({ flags, env: where.env, dotenv, profile, profileName, cwd: where.cwd, paths: where.paths })
}
