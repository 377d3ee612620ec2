import type { Deps } from '../session/deps.ts'
import type { GlobalFlags } from '../session/open.ts'

/** What every command's run function receives besides its own options. */
export interface CommandEnv {
  readonly deps: Deps
  readonly flags: GlobalFlags
  readonly json: boolean
  /** `--verbose` trace sink (already redacted), or undefined. */
  readonly trace: ((line: string) => void) | undefined
  /** Registers a secret so that no message can print it. */
  readonly secret: (value: string | undefined) => void
  /** A progress or info line on stderr, redacted. */
  readonly say: (line: string) => void
}

/** RFC 3339 in UTC without milliseconds, as `status --json` and `token --json` print it. */
export function rfc3339(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}
