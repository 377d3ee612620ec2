/**
 * Where the Go tools keep a session, and reading it from there (go-codec.ts says what the bytes mean). Only reads:
 * a Go file or keyring item is never written, locked or deleted, so the Go tool that owns it is never disturbed.
 */
import { join } from 'node:path'
import { StoreError } from '../errors.ts'
import { readStoreFile } from './atomic-file.ts'
import {
  decodeGoTokenJson,
  decodeMasterKey,
  findGoEntry,
  GO_KEYRING_SERVICES,
  GO_MASTER_KEY_ACCOUNT,
  GO_SEALED_SUFFIX,
  GO_TOKEN_FILE_NAME,
  openSealed,
  parseGoDocument,
} from './go-codec.ts'
import { isKeyringFailure } from './keyring-client.ts'
import type { TokenSet } from './types.ts'

/** The one keyring call this needs (KeyringClient has it, bounded by its timeout). */
export interface KeyringReader {
  readonly name: string
  get(service: string, account: string): Promise<Uint8Array | undefined>
}

/** What to search: files in order (the first with an entry wins), then, without --file, the keyring's own items. */
export interface GoSearch {
  readonly files: readonly string[]
  readonly services: readonly string[]
  readonly keyringItems: boolean
}

export interface FoundGoSession {
  readonly tokens: TokenSet
  /** "the file /abs/path" or "the OS keyring (…), service S": for the message that says what was imported. */
  readonly source: string
}

/**
 * Go's os.UserConfigDir (Linux `$XDG_CONFIG_HOME` else `~/.config`; macOS `~/Library/Application Support`; Windows
 * `%AppData%`), which the SDK's DefaultTokenStorePath builds on. Undefined when the environment does not say.
 */
export function goUserConfigDir(
  platform: NodeJS.Platform,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (platform === 'win32') return env.APPDATA || undefined
  if (!env.HOME) return undefined
  if (platform === 'darwin') return join(env.HOME, 'Library', 'Application Support')
  return env.XDG_CONFIG_HOME?.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME, '.config')
}

/**
 * `--file` names the SDK's base path or its `.enc` file (both are tried, the encrypted one first, as the SDK prefers
 * it), or a Go CLI file. Without it only `<user config dir>/<service>/tokens.json[.enc]` are searched, never the
 * working directory: a file there may have been put there by anyone.
 */
export function goSearch(
  options: { file?: string | undefined; keyringService?: string | undefined },
  configDir: string | undefined,
): GoSearch {
  const services = options.keyringService === undefined ? GO_KEYRING_SERVICES : [options.keyringService]
  if (options.file !== undefined) {
    const files = options.file.endsWith(GO_SEALED_SUFFIX)
      ? [options.file]
      : [options.file + GO_SEALED_SUFFIX, options.file]
    return { files, services, keyringItems: false }
  }
  const base = configDir === undefined ? [] : services.map((s) => join(configDir, s, GO_TOKEN_FILE_NAME))
  return { files: base.flatMap((path) => [path + GO_SEALED_SUFFIX, path]), services, keyringItems: true }
}

/** The first place in `search` with an entry for the client id; `searched` lists every place that was looked at. */
export async function findGoSession(
  search: GoSearch,
  clientId: string,
  keyring: KeyringReader,
): Promise<{ found: FoundGoSession | undefined; searched: string[]; skipped?: string }> {
  const searched: string[] = []
  for (const path of search.files) {
    const bytes = readStoreFile(path)
    if (bytes === undefined) continue
    searched.push(path)
    const entry = findGoEntry(parseGoDocument(bytes.toString('utf8'), path), clientId, path)
    if (entry === undefined) continue
    const tokens = entry.sealed ? await unseal(entry.value, entry.where, path, search.services, keyring) : entry.tokens
    return { found: { tokens, source: `the file ${path}` }, searched }
  }
  if (!search.keyringItems) return { found: undefined, searched }
  for (const service of search.services) {
    const where = `${keyring.name}, service ${service}`
    const secret = await keyringItem(keyring, service, clientId)
    if (typeof secret === 'string') return { found: undefined, searched, skipped: secret }
    searched.push(where)
    if (secret === undefined) continue
    const tokens = decodeGoTokenJson(new TextDecoder().decode(secret), `account ${JSON.stringify(clientId)}`, where)
    return { found: { tokens, source: where }, searched }
  }
  return { found: undefined, searched }
}

/** A keyring that cannot be reached is one place less to look, not a failure of the whole search: its reason. */
async function keyringItem(
  keyring: KeyringReader,
  service: string,
  account: string,
): Promise<Uint8Array | string | undefined> {
  try {
    return await keyring.get(service, account)
  } catch (error) {
    if (isKeyringFailure(error)) return `its keyring items were not searched: ${error.message}`
    throw error
  }
}

/** Tries each service's master key; another service's key fails GCM's check, which is not an error by itself. */
async function unseal(
  value: string,
  where: string,
  source: string,
  services: readonly string[],
  keyring: KeyringReader,
): Promise<TokenSet> {
  for (const service of services) {
    const secret = await keyring.get(service, GO_MASTER_KEY_ACCOUNT)
    const key = secret === undefined ? undefined : decodeMasterKey(secret)
    const plaintext = key === undefined ? undefined : openSealed(value, key, where, source)
    if (plaintext !== undefined) return decodeGoTokenJson(plaintext, where, source)
  }
  throw new StoreError(
    `the Go token file ${source} holds ${where} encrypted, and no master key in ${keyring.name} opens it ` +
      `(account ${GO_MASTER_KEY_ACCOUNT}, service ${services.join(' or ')})`,
    { hint: 'pass --keyring-service NAME if the Go tool used another keyring service' },
  )
}
