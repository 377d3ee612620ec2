import type { TokenSet } from '../../stores/types.ts'
import { rfc3339 } from '../command-env.ts'
import { toSafeJson } from '../terminal-text.ts'

/** What `token` prints: the access token and a newline, or with `--json` one line of JSON. Shared with cli/fast-token.ts. */
export function tokenOutput(tokens: TokenSet, json: boolean): string {
  if (!json) return `${tokens.accessToken}\n`
  const out = {
    access_token: tokens.accessToken,
    token_type: tokens.tokenType,
    expires_at: rfc3339(tokens.expiresAtMs),
    scope: tokens.scope ?? null,
  }
  return `${toSafeJson(out)}\n`
}
