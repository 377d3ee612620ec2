import type { Settings } from '../config/settings.ts'
import type { SessionKey } from '../session-key.ts'
import type { ContextDeps, ContextOptions } from './context.ts'
import type { createProtocol } from './protocol.ts'

export type ProtocolHandle = ReturnType<typeof createProtocol>

/** The session's protocol client; its code (oauth4webapi and oauth/) loads here, on the first refresh or request. */
export async function buildProtocol(
  settings: Settings,
  key: SessionKey,
  deps: ContextDeps,
  { trace, secret }: Pick<ContextOptions, 'trace' | 'secret'> = {},
): Promise<ProtocolHandle> {
  const [{ createProtocol }, { RetryBudget }] = await Promise.all([import('./protocol.ts'), import('../oauth/http.ts')])
  return createProtocol({
    serverUrl: key.serverUrl,
    clientId: key.clientId,
    clientSecret: settings.clientSecret,
    clientAuth: settings.clientAuth,
    http: {
      fetch: deps.oauthFetch ?? deps.fetch,
      sleep: deps.sleep,
      clock: deps.clock,
      trace,
      secret,
      signal: deps.signal,
      requestTimeoutMs: settings.httpTimeoutMs,
    },
    budget: new RetryBudget(deps.clock.now()),
  })
}
