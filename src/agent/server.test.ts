import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { listenAgent, type Answerer } from './server.ts'

/** A sleep the test ends by hand: `fire()` resolves every wait that has not been aborted (the idle bound). */
function manualSleep() {
  const waits: Array<{ resolve: () => void; signal?: AbortSignal | undefined }> = []
  return {
    sleep: (_ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
        waits.push({ resolve, signal })
      }),
    fire: () => waits.filter((w) => !w.signal?.aborted).forEach((w) => w.resolve()),
  }
}

async function agentOn(t: TestContext, answer: Answerer, sleep: ReturnType<typeof manualSleep>['sleep']) {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-agent-unit-'))
  const path = join(dir, 's.sock')
  const server = await listenAgent(path, answer, { sleep, idleMs: 1000, maxConnections: 2 })
  t.after(() => {
    server.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const connections = () => new Promise<number>((r) => server.getConnections((_e, n) => r(n)))
  return { path, connections }
}

function open(path: string) {
  const c = connect({ path })
  let got = ''
  c.on('data', (d: Buffer) => (got += d.toString()))
  const closed = new Promise<string>((resolve) => c.on('close', () => resolve(got)))
  const connected = new Promise<void>((resolve) => c.on('connect', () => resolve()))
  return { c, closed, connected, got: () => got }
}

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 5))
}

test('an idle connection is closed when the idle bound passes; one being answered is not', async (t) => {
  const clock = manualSleep()
  let release!: () => void
  const held = new Promise<void>((r) => (release = r))
  let asked = false
  const { path } = await agentOn(
    t,
    async () => {
      asked = true
      await held
      return { accessToken: 'AT', expiresAtMs: undefined }
    },
    clock.sleep,
  )
  const idle = open(path)
  const busy = open(path)
  await Promise.all([idle.connected, busy.connected])
  busy.c.write('{"v":1,"op":"token","server_url":"https://a.example","client_id":"c"}\n')
  await until(() => asked)
  clock.fire()
  assert.equal(await idle.closed, '', 'the idle connection was closed without an answer')
  release()
  await until(() => busy.got().includes('\n'))
  assert.deepEqual(JSON.parse(busy.got()), { v: 1, access_token: 'AT', expires_at: null })
  busy.c.destroy()
})

test('connections beyond maxConnections are closed at once; the others are served', async (t) => {
  const clock = manualSleep()
  const { path, connections } = await agentOn(
    t,
    async () => ({ accessToken: 'AT', expiresAtMs: undefined }),
    clock.sleep,
  )
  const a = open(path)
  const b = open(path)
  await Promise.all([a.connected, b.connected])
  let n = 0
  while (n < 2) n = await connections().then(async (c) => (await new Promise((r) => setTimeout(r, 5)), c))
  const third = open(path)
  assert.equal(await third.closed, '', 'the third connection got nothing')
  a.c.write('{"v":1,"op":"token","server_url":"https://a.example","client_id":"c"}\n')
  await until(() => a.got().includes('\n'))
  assert.equal(JSON.parse(a.got()).access_token, 'AT')
  a.c.destroy()
  b.c.destroy()
})
