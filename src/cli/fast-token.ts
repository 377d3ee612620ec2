import { loadSettings } from '../config/load.ts'
import { requireSession } from '../config/settings.ts'
import { isExpiring } from '../session/expiry.ts'
import type { Deps } from '../session/deps.ts'
import { FileStore } from '../stores/file-store.ts'
import { parseTokenArgv } from './global-options.ts'

/**
 * `authgate token` with a fresh token in the file store, in a bundle of its own: no commander, no protocol code.
 * It runs in shell prompts and `xargs -P` storms, so every millisecond of start-up is paid many times.
 * Returns false for everything it does not handle (a stale token, another backend, any error, any other command);
 * the full program then starts from scratch and does it properly, so both paths print the same thing.
 */
export async function fastToken(argv: readonly string[], deps: Pick<Deps, 'env' | 'cwd' | 'paths' | 'clock'> & { io: { stdout: { write(text: string): unknown } } }): Promise<boolean> {
  const parsed = parseTokenArgv(argv)
  if (!parsed || parsed.verbose || parsed.json) return false
  try {
    const settings = loadSettings(parsed.flags, deps)
    if (settings.tokenStore !== 'file' && settings.tokenStore !== 'auto') return false
    const key = requireSession(settings)
    const store = new FileStore(settings.tokenFile, { lockFile: refuseToLock, lockTimeoutMs: 0, now: deps.clock.now })
    const tokens = await store.read(key)
    if (!tokens || isExpiring(tokens, deps.clock.now(), settings.refreshSkewSeconds)) return false
    deps.io.stdout.write(`${tokens.accessToken}\n`)
    return true
  } catch {
    return false
  }
}

/** The fast lane only reads; a write would mean a refresh, which belongs to the full program. */
async function refuseToLock(): Promise<never> {
  throw new Error('the fast lane never writes')
}
