import { mkdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { StoreError, UsageError } from '../errors.ts'
import { RESOLVED, type RawSettings, type SettingKey } from './settings-table.ts'
import { profileFilePath, readProfiles } from './sources.ts'

/**
 * The flags of one command line as a profile's snake_case fields (`server_url`, `client_id`, … the lower-case env
 * names, as readProfiles expects). Relative paths are made absolute now: a profile is read from any directory.
 */
export function profileValues(flags: RawSettings, cwd: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const spec of RESOLVED) {
    const value = flags[spec.key as SettingKey]
    if (value === undefined || value === '' || spec.perRun) continue
    out[spec.env.toLowerCase()] = spec.type === 'path' && !isAbsolute(value) ? resolve(cwd, value) : value
  }
  return out
}

/**
 * Saves `values` into profile `name` of `<configDir>/config.json` and returns the file's path. Fields of that profile
 * not in `values`, other profiles and unknown top-level fields are kept. A file that cannot be parsed is never
 * overwritten (UsageError naming it). Written to a temp file in the same directory and renamed, mode 0600 (a profile
 * may hold a client secret), in a 0700 directory; a symbolic link is followed so that it survives.
 */
export function saveProfile(
  configDir: string,
  name: string,
  values: Readonly<Record<string, string | undefined>>,
): string {
  if (name === '' || /[\u0000-\u001f\u007f]/.test(name))
    throw new UsageError(`invalid profile name ${JSON.stringify(name)}`)
  const doc = readProfiles(configDir)
  const given = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined && v !== ''))
  const next = { ...doc, profiles: { ...doc.profiles, [name]: { ...doc.profiles[name], ...given } } }
  const path = writeTarget(profileFilePath(configDir))
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new StoreError(`cannot create the config directory ${dirname(path)}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  writeAtomically(path, `${JSON.stringify(next, null, 2)}\n`)
  return path
}

function writeTarget(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

/** Temp file beside the target (rename is atomic only within one file system), flushed before the rename. */
function writeAtomically(target: string, text: string): void {
  const temp = join(dirname(target), `.${basename(target)}.${Math.random().toString(36).slice(2, 12)}.tmp`)
  try {
    writeFileSync(temp, text, { mode: 0o600, flag: 'wx', flush: true })
    renameSync(temp, target)
  } catch (err) {
    rmSync(temp, { force: true })
    throw new StoreError(`cannot write the config file ${target}: ${(err as Error).message}`, { cause: err })
  }
}
