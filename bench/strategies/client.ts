// node client.mjs <none|proper-lockfile> <token file> <server url> <client id>
// A bench-only token client: the same read → lock → re-read → refresh → save steps as `authgate token`, with plain
// fetch against the AuthGate fixed paths and the same token file format, so that in the storm only the locking differs.
// 'proper-lockfile' locks the token file the way popular Node CLIs do; 'none' takes no lock at all.
import lockfile from 'proper-lockfile'
import { POPULAR_LOCK_OPTIONS } from './options.ts'
import { deleteEntryIf, type Entry, isExpiring, readEntry, writeEntry } from './token-file.ts'

const [strategy, tokenFile, serverUrl, clientId] = process.argv.slice(2) as [string, string, string, string]
const account = `${clientId}@${serverUrl}`

/** Ends the command with an exit code, after the lock (if any) was released. */
class Exit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

function done(code: number, out?: string, err?: string): never {
  if (out) process.stdout.write(`${out}\n`)
  if (err) process.stderr.write(`bench-client: ${err}\n`)
  process.exit(code)
}

async function refresh(current: Entry): Promise<Entry> {
  const res = await fetch(`${serverUrl}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: current.refresh_token ?? '',
      client_id: clientId,
    }),
    signal: AbortSignal.timeout(10_000),
  })
  const body = (await res.json()) as Record<string, unknown>
  if (body.error === 'invalid_grant') {
    deleteEntryIf(tokenFile, account, current.refresh_token ?? '')
    throw new Exit(4, 'invalid_grant: sign in again')
  }
  if (!res.ok || typeof body.access_token !== 'string') throw new Exit(5, `token endpoint answered ${res.status}`)
  const now = Date.now()
  const fresh: Entry = {
    ...current,
    access_token: body.access_token as string,
    refresh_token: (body.refresh_token as string | undefined) ?? current.refresh_token,
    expires_at: new Date(now + Number(body.expires_in ?? 3600) * 1000).toISOString(),
    obtained_at: new Date(now).toISOString(),
  }
  writeEntry(tokenFile, account, fresh)
  return fresh
}

async function main(): Promise<void> {
  const seen = readEntry(tokenFile, account)
  if (!seen) done(4, undefined, 'not signed in')
  if (!isExpiring(seen, Date.now())) done(0, seen.access_token)
  if (strategy === 'none') done(0, (await refresh(seen)).access_token)
  let release: () => Promise<void>
  try {
    release = await lockfile.lock(tokenFile, POPULAR_LOCK_OPTIONS)
  } catch (error) {
    done(5, undefined, `cannot lock ${tokenFile}: ${(error as Error).message}`)
  }
  try {
    const current = readEntry(tokenFile, account)
    if (!current) throw new Exit(4, 'not signed in')
    const peerRefreshed = current.access_token !== seen.access_token && !isExpiring(current, Date.now())
    const tokens = peerRefreshed ? current : await refresh(current)
    await release()
    done(0, tokens.access_token)
  } catch (error) {
    await release().catch(() => {})
    throw error
  }
}

main().catch((error: unknown) =>
  error instanceof Exit ? done(error.code, undefined, error.message) : done(1, undefined, String(error)),
)
