import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../errors.ts'
import { parseDotenv } from './dotenv.ts'

/** `<user config dir>/authgate/config.json`: `{ "profiles": { "<name>": { "server_url": …, "client_id": … } } }`. */
export function profileFilePath(configDir: string): string {
  return join(configDir, 'config.json')
}

export function readDotenv(cwd: string): Record<string, string> {
  const text = readOptional(join(cwd, '.env'))
  return text === undefined ? {} : parseDotenv(text)
}

export interface ProfileDocument {
  profiles: Record<string, Record<string, unknown>>
  [other: string]: unknown
}

/** A config file that exists but cannot be used is an error naming it: silently ignoring it would sign in elsewhere. */
export function readProfiles(configDir: string): ProfileDocument {
  const path = profileFilePath(configDir)
  const text = readOptional(path)
  if (text === undefined || text.trim() === '') return { profiles: {} }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`cannot parse config file ${path}: ${(err as Error).message}`, {
      hint: 'fix or remove the file',
    })
  }
  if (!isObject(doc) || (doc.profiles !== undefined && !isObject(doc.profiles))) {
    throw new UsageError(`config file ${path} must hold an object with a "profiles" object`, {
      hint: 'fix or remove the file',
    })
  }
  const profiles = (doc.profiles ?? {}) as Record<string, unknown>
  for (const [name, value] of Object.entries(profiles)) {
    if (!isObject(value)) throw new UsageError(`profile ${JSON.stringify(name)} in ${path} must be an object`)
  }
  return { ...doc, profiles: profiles as Record<string, Record<string, unknown>> }
}

function readOptional(path: string): string | undefined {
  // Usually absent, on every `authgate token` in a prompt: building the ENOENT error (its stack trace) costs ten times
  // the stat. A file removed between the two is still the ENOENT below.
  if (!existsSync(path)) return undefined
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`)
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
