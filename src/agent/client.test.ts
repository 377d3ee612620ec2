import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { AuthRequiredError } from '../errors.ts'
import { askAgent } from './client.ts'

/** A hostile or slow agent: it answers `chunks`, one write each, a pause between them. */
async function agentSending(t: test.TestContext, chunks: Buffer[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-agent-client-'))
  const path = join(dir, 'agent.sock')
  const server = createServer((socket) => {
    socket.once('data', async () => {
      for (const chunk of chunks) {
        socket.write(chunk)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  t.after(() => {
    server.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return path
}

const request = { serverUrl: 'https://auth.example', clientId: 'cli' }

test('an answer line split inside a UTF-8 sequence decodes whole', async (t) => {
  const line = Buffer.from(`${JSON.stringify({ v: 1, error: 'café not exposed', exit: 4 })}\n`)
  const cut = line.indexOf(Buffer.from('é')) + 1 // between the two bytes of é
  const path = await agentSending(t, [line.subarray(0, cut), line.subarray(cut)])
  await assert.rejects(askAgent(path, request, { timeoutMs: 5000 }), (err: Error) => {
    assert.ok(err instanceof AuthRequiredError)
    assert.match(err.message, /: café not exposed$/)
    return true
  })
})

test('a token line in pieces is one answer; what follows the newline is ignored', async (t) => {
  const path = await agentSending(t, [
    Buffer.from('{"v":1,"access_token":"AT-'),
    Buffer.from('one","expires_at":null}\n{"v":1,"access_token":"AT-two","expires_at":null}\n'),
  ])
  assert.deepEqual(await askAgent(path, request, { timeoutMs: 5000 }), {
    accessToken: 'AT-one',
    expiresAtMs: undefined,
  })
})
