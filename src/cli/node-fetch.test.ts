import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { selfSignedCertificate } from '../../test/support/tls.ts'
import { nodeFetch } from './node-fetch.ts'

const execFileAsync = promisify(execFile)

interface Seen {
  method: string
  headers: IncomingMessage['headers']
  body: string
  socket: unknown
}

/** A real HTTP server whose routes answer as a test needs; it records each request and the socket it came on. */
function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`${(server.address() as AddressInfo).port}`)),
  )
}

describe('nodeFetch (the CLI’s OAuth HTTP client) against a real server', () => {
  const seen: Seen[] = []
  let base = ''
  const routes: Record<string, (res: ServerResponse) => void> = {
    '/token': (res) => {
      res.writeHead(400, 'Bad Thing', { 'content-type': 'application/json', 'x-extra': 'one' })
      res.end('{"error":"invalid_grant"}')
    },
    '/big': (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }) // chunked: no length to refuse it by
      for (let i = 0; i < 64; i++) res.write('x'.repeat(1024))
      res.end()
    },
    '/gzip': (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
      res.end(gzipSync('{"issuer":"zipped"}'))
    },
    '/stall': (res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"access_token":') // the headers and a part of the body, then nothing
    },
    '/redirect': (res) => {
      res.writeHead(302, { location: 'https://elsewhere.example/steal' })
      res.end()
    },
    '/empty-gzip': (res) => {
      res.writeHead(204, { 'content-encoding': 'gzip' }) // no body to decode, whatever the header says
      res.end()
    },
    '/empty': (res) => {
      res.writeHead(204)
      res.end()
    },
  }
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => (body += c))
    req.on('end', () => {
      seen.push({ method: req.method!, headers: req.headers, body, socket: req.socket })
      routes[req.url!]?.(res)
    })
  })
  before(async () => {
    base = `http://127.0.0.1:${await listen(server)}`
  })
  after(() => {
    server.closeAllConnections()
    server.close()
  })

  test('a form POST arrives whole, with its length; the answer keeps status, status text, headers and body', async () => {
    const fetch = nodeFetch(1024 * 1024)
    const res = await fetch(`${base}/token`, {
      method: 'POST',
      headers: { accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'rt-é' }),
    })
    assert.equal(res.status, 400)
    assert.equal(res.statusText, 'Bad Thing')
    assert.equal(res.headers.get('x-extra'), 'one')
    assert.deepEqual(await res.json(), { error: 'invalid_grant' })
    const req = seen.at(-1)!
    assert.equal(req.method, 'POST')
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded;charset=UTF-8')
    assert.equal(req.headers['content-length'], String(Buffer.byteLength(req.body)))
    assert.equal(req.headers['transfer-encoding'], undefined)
    assert.equal(new URLSearchParams(req.body).get('refresh_token'), 'rt-é')
  })

  test('discovery and the grant after it share one connection (one TLS handshake on a real server)', async () => {
    const fetch = nodeFetch(1024 * 1024)
    await (await fetch(`${base}/token`)).arrayBuffer()
    await (await fetch(`${base}/token`, { method: 'POST', body: 'x' })).arrayBuffer()
    const [a, b] = seen.slice(-2)
    assert.equal(a!.socket, b!.socket)
  })

  test('an answer larger than the cap is cut one byte past it, whatever the server still sends', async () => {
    const res = await nodeFetch(1000)(`${base}/big`)
    assert.equal((await res.arrayBuffer()).byteLength, 1001)
  })

  test('a compressed answer is decoded, as the global fetch does', async () => {
    const res = await nodeFetch(1024 * 1024)(`${base}/gzip`)
    assert.deepEqual(await res.json(), { issuer: 'zipped' })
    assert.equal(res.headers.get('content-encoding'), null)
  })

  test('204 has no body', async () => {
    const res = await nodeFetch(1024)(`${base}/empty`)
    assert.equal(res.status, 204)
    assert.equal(res.body, null)
  })

  test('a redirect is handed back as it is, never followed', async () => {
    const before = seen.length
    const res = await nodeFetch(1024)(`${base}/redirect`, { redirect: 'manual' })
    assert.equal(res.status, 302)
    assert.equal(res.headers.get('location'), 'https://elsewhere.example/steal')
    assert.equal(seen.length, before + 1)
  })

  test('204 with a Content-Encoding: nothing to decode', async () => {
    const res = await nodeFetch(1024)(`${base}/empty-gzip`)
    assert.equal(res.status, 204)
  })

  test('an abort while the answer stalls rejects with the signal’s reason', async () => {
    const controller = new AbortController()
    const pending = nodeFetch(1024)(`${base}/stall`, { signal: controller.signal })
    setTimeout(() => controller.abort(new Error('deadline')), 50)
    await assert.rejects(pending, /deadline/)
  })

  test('nobody listening: TypeError "fetch failed" carrying ECONNREFUSED, as the global fetch reports it', async () => {
    const closed = createServer()
    const port = await listen(closed)
    await new Promise((resolve) => closed.close(resolve))
    await assert.rejects(nodeFetch(1024)(`http://127.0.0.1:${port}/`), (err: TypeError) => {
      assert.ok(err instanceof TypeError)
      assert.equal(err.message, 'fetch failed')
      assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED')
      return true
    })
  })

  test('a connection that closes with neither an answer nor an error (101) fails at once, not at the timeout', async () => {
    const upgrading = createNetServer((socket) =>
      socket.once('data', () =>
        socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
      ),
    )
    const port = await listen(upgrading as unknown as Server)
    try {
      await assert.rejects(nodeFetch(1024)(`http://127.0.0.1:${port}/`), /fetch failed/)
    } finally {
      upgrading.close()
    }
  })

  test('what OAuth never sends is refused before any connection: other schemes, URL credentials, stream bodies', async () => {
    const before = seen.length
    const fetch = nodeFetch(1024)
    await assert.rejects(fetch('file:///etc/passwd'), /fetch failed/)
    await assert.rejects(fetch(`http://user:pw@127.0.0.1:1/`), /fetch failed/)
    await assert.rejects(fetch(`${base}/token`, { method: 'POST', body: new Blob(['x']) }), /fetch failed/)
    assert.equal(seen.length, before)
  })
})

describe('nodeFetch over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-node-fetch-'))
  let tls: { key: string; cert: string } | undefined
  let url = ''
  let server: Server | undefined
  before(async () => {
    if (spawnSync('openssl', ['version'], { stdio: 'ignore' }).error) {
      if (process.env.CI === 'true') assert.fail('openssl not installed: apt-get install openssl')
      return // each test skips, naming what to install
    }
    tls = selfSignedCertificate(dir)
    server = createTlsServer(tls, (_req, res) => res.end('{"ok":true}'))
    url = `https://127.0.0.1:${await listen(server)}/`
  })
  after(() => {
    server?.closeAllConnections()
    server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('a certificate nobody vouches for is refused', async (t) => {
    if (!tls) return t.skip('openssl not installed: apt-get install openssl')
    await assert.rejects(nodeFetch(1024)(url), (err: TypeError) => {
      assert.equal(err.message, 'fetch failed')
      assert.match(String((err.cause as NodeJS.ErrnoException).code), /SELF_SIGNED|UNABLE_TO_VERIFY/)
      return true
    })
  })

  test('a certificate the user trusts (NODE_EXTRA_CA_CERTS) is accepted', async (t) => {
    if (!tls) return t.skip('openssl not installed: apt-get install openssl')
    const ca = join(dir, 'ca.pem')
    writeFileSync(ca, tls.cert)
    const script = `import { nodeFetch } from ${JSON.stringify(new URL('./node-fetch.ts', import.meta.url).pathname)}
const res = await nodeFetch(1024)(${JSON.stringify(url)}); process.stdout.write(await res.text())`
    // Not spawnSync: the server the child talks to runs in this process.
    const child = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: ca },
    })
    assert.equal(child.stdout, '{"ok":true}', child.stderr)
  })
})
