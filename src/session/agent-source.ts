import type { Settings } from '../config/settings.ts'
import type { SessionKey } from '../session-key.ts'
import { UsageError } from '../errors.ts'
import type { TokenSet, TokenStore } from '../stores/types.ts'
import type { Deps } from './deps.ts'
import type { TokenRequest } from './refresh-engine.ts'

/** Room for the agent's own lock wait and its refresh (3 retries, 30 s in all) before the client gives up. */
const REFRESH_BUDGET_MS = 35_000

/**
 * The engine's token source under `--agent-sock`: one request to the agent for this session. What comes back is an
 * access token and its expiry, nothing else, so no refresh token ever exists on this side.
 */
export function agentTokenSource(
  settings: Pick<Settings, 'lockTimeoutMs'>,
  socketPath: string,
  key: SessionKey,
  deps: Pick<Deps, 'signal'>,
): (request: TokenRequest) => Promise<TokenSet> {
  return async (request) => {
    const { askAgent } = await import('../agent/client.ts')
    const answer = await askAgent(
      socketPath,
      { serverUrl: key.serverUrl, clientId: key.clientId, force: request.force, rejected: request.rejected },
      { signal: deps.signal, timeoutMs: settings.lockTimeoutMs + REFRESH_BUDGET_MS },
    )
    return { accessToken: answer.accessToken, tokenType: 'Bearer', expiresAtMs: answer.expiresAtMs, fromAgent: true }
  }
}

/**
 * The store of a session served by an agent: there is none here. Commands that need one (login, logout, status,
 * import) say where the session lives instead of creating a local one beside the agent's.
 */
export function agentOnlyStore(socketPath: string): TokenStore {
  const refuse = async (): Promise<never> => {
    throw new UsageError(`this session is served by the authgate agent at ${socketPath}; there is no local store`, {
      hint: 'run this command on the agent’s host, or unset AUTHGATE_AGENT_SOCK',
    })
  }
  return {
    kind: 'memory',
    location: `authgate agent at ${socketPath}`,
    read: refuse,
    prepareSave: refuse,
    write: refuse,
    delete: refuse,
    list: refuse,
  }
}
