// Writes dist/pg.cjs.v8cache: V8's code cache for the pg bundle, taken after it ran what `authgate token` runs on the
// postgres store (connect, one parameterised query answered with an int4 and a bytea, end) against a throwaway
// in-process stand-in for a PostgreSQL server on 127.0.0.1, so the cache holds those functions compiled.
// bin/load-compiled.js uses it when V8 accepts it. Run by scripts/build.mjs.
'use strict'
const { createServer } = require('node:net')
const { writeFileSync } = require('node:fs')
const { join } = require('node:path')
const { loadCompiled, compiled } = require('../bin/load-compiled.js')

const file = join(__dirname, '..', 'dist', 'pg.cjs')

/** One backend message: type byte, length, body. */
function message(type, body) {
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}
const int16 = (n) => Buffer.from([n >> 8, n & 0xff])
const int32 = (n) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
const cstring = (s) => Buffer.from(`${s}\0`)
const ready = message('Z', Buffer.from('I'))
/** RowDescription and DataRow of `SELECT <int4> AS version, <bytea> AS sealed`, text format, as the store reads. */
function row() {
  const field = (name, oid, size) =>
    Buffer.concat([cstring(name), int32(0), int16(0), int32(oid), int16(size & 0xffff), int32(-1), int16(0)])
  const value = (s) => Buffer.concat([int32(Buffer.byteLength(s)), Buffer.from(s)])
  return Buffer.concat([
    message('1', Buffer.alloc(0)),
    message('2', Buffer.alloc(0)),
    message('T', Buffer.concat([int16(2), field('version', 23, 4), field('sealed', 17, -1)])),
    message('D', Buffer.concat([int16(2), value('1'), value('\\x0102')])),
    message('C', cstring('SELECT 1')),
    ready,
  ])
}

/** Answers the startup packet with AuthenticationOk, then every Sync with one row, until Terminate. */
function serve(socket) {
  let buffer = Buffer.alloc(0)
  let started = false
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk])
    for (;;) {
      if (!started) {
        if (buffer.length < 4 || buffer.length < buffer.readInt32BE(0)) return
        buffer = buffer.subarray(buffer.readInt32BE(0))
        started = true
        socket.write(Buffer.concat([message('R', int32(0)), message('K', Buffer.alloc(8)), ready]))
        continue
      }
      if (buffer.length < 5 || buffer.length < 1 + buffer.readInt32BE(1)) return
      const type = String.fromCharCode(buffer[0])
      buffer = buffer.subarray(1 + buffer.readInt32BE(1))
      if (type === 'S') socket.write(row())
      if (type === 'X') socket.end()
    }
  })
  socket.on('error', () => {})
}

async function warmUp() {
  const server = createServer(serve)
  await new Promise((done) => server.listen(0, '127.0.0.1', done))
  compiled.recording = true
  const pg = loadCompiled(file)
  const client = new pg.Client({
    connectionString: `postgres://warm-up@127.0.0.1:${server.address().port}/warm-up`,
    application_name: 'authgate code cache',
    connectionTimeoutMillis: 10_000,
  })
  client.on('error', () => {})
  await client.connect()
  const { rows } = await client.query({ text: 'SELECT $1', values: ['warm-up'], query_timeout: 10_000 })
  if (rows[0].version !== 1 || !Buffer.isBuffer(rows[0].sealed)) throw new Error('unexpected warm-up row')
  await client.end()
  server.close()
  const script = compiled.get(file)
  if (!script) throw new Error('dist/pg.cjs was not compiled')
  writeFileSync(`${file}.v8cache`, script.createCachedData())
}

warmUp().then(
  () => process.exit(0),
  (err) => {
    console.error(`code cache not written: ${err && err.message}`)
    process.exit(1)
  },
)
