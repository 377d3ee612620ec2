// Runs the AuthGate test server in a process of its own for the storm: in the benchmark's parent, the server would
// share an event loop with the code that spawns N processes and collects their output, and the one refresh of a
// storm would queue behind that bookkeeping. Answers the parent's questions over IPC.
import { startAuthGateServer } from '../../test/support/authgate-server/index.ts'
import { obtainTokensFromAuthGate } from '../../test/support/tokens.ts'

const server = await startAuthGateServer({
  rotation: true,
  tokenRateLimitPerMinute: 0,
  deviceCodeRateLimitPerMinute: 0,
})
const issued = await obtainTokensFromAuthGate(server)
process.on('message', async (msg: { id: number; op: 'stats' | 'isTokenActive' | 'close'; token?: string }) => {
  if (msg.op === 'close') {
    await server.close()
    process.exit(0)
  }
  const value = msg.op === 'stats' ? { ...server.stats } : server.isTokenActive(msg.token ?? '')
  process.send?.({ id: msg.id, value })
})
process.send?.({ ready: { url: server.url, publicClientId: server.publicClientId, issued } })
