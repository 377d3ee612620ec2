import { getValidTokens } from '../../session/refresh-engine.ts'
import { loadSettings, openSession } from '../../session/open.ts'
import { rfc3339, type CommandEnv } from '../command-env.ts'

export interface RefreshOptions {
  force: boolean
}

/** Refreshes now when the token is expiring, always with --force, under the same lock as `token`. Prints nothing on stdout. */
export async function runRefresh(options: RefreshOptions, env: CommandEnv): Promise<void> {
  const settings = loadSettings(env.flags, env.deps)
  env.secret(settings.clientSecret)
  const session = await openSession(settings, env.deps, { trace: env.trace, secret: env.secret })
  let outcome = 'still valid'
  const context = {
    ...session.context,
    observe: (e: string) =>
      void (outcome =
        e === 'fresh'
          ? 'still valid (use --force to refresh anyway)'
          : e === 'adopted'
            ? 'refreshed by another process'
            : 'refreshed'),
  }
  const tokens = await getValidTokens(context, { force: options.force })
  env.say(`access token ${outcome}; expires ${rfc3339(tokens.expiresAtMs) ?? 'never (the server gave no lifetime)'}`)
}
