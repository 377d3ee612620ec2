// Writes dist/cli.cjs.v8cache and dist/main.cjs.v8cache: V8's code caches for the two CLI bundles, taken after real
// runs (`token` through the fast lane, then `status --offline` through the full program), so that they hold the
// functions that run, compiled. bin/load-compiled.js uses them when V8 accepts them. Run by scripts/build.mjs with
// stdout ignored (the warm-up prints a throwaway token).
'use strict'
const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const { loadCompiled, compiled } = require('../bin/load-compiled.js')

const dist = join(__dirname, '..', 'dist')
const home = mkdtempSync(join(tmpdir(), 'authgate-code-cache-')) // 0700 already
const config = join(home, 'config', 'authgate')
mkdirSync(config, { recursive: true, mode: 0o700 })
const session = {
  server_url: 'http://localhost:8080',
  client_id: 'code-cache',
  access_token: 'warm-up-token',
  token_type: 'Bearer',
  refresh_token: 'warm-up-refresh',
  expires_at: '2999-01-01T00:00:00Z',
  obtained_at: '2000-01-01T00:00:00Z',
  scope: 'email profile',
}
const doc = { version: 1, sessions: { 'code-cache@http://localhost:8080': session } }
writeFileSync(join(config, 'tokens.json'), JSON.stringify(doc), { mode: 0o600 })
for (const name of Object.keys(process.env))
  if (/^AUTHGATE_|^(SERVER_URL|CLIENT_ID|TOKEN_FILE|TOKEN_STORE)$/.test(name)) delete process.env[name]
Object.assign(process.env, {
  XDG_CONFIG_HOME: join(home, 'config'),
  XDG_CACHE_HOME: join(home, 'cache'),
  AUTHGATE_CLIENT_ID: 'code-cache',
  AUTHGATE_TOKEN_STORE: 'file',
})

compiled.recording = true
const cli = loadCompiled(join(dist, 'cli.cjs'))
const bin = join(__dirname, '..', 'bin', 'authgate.js')

async function warmUp() {
  process.argv = [process.argv[0], bin, 'token']
  await cli.run()
  // The entry bundle's cache is taken now: what `token` compiled, and nothing the full program's start-up adds to it.
  const entry = join(dist, 'cli.cjs')
  writeFileSync(`${entry}.v8cache`, compiled.get(entry).createCachedData())
  // The full program ends with process.exit once its output is flushed: write the caches at that moment.
  process.exit = (code) => finish(code)
  process.argv = [process.argv[0], bin, 'status', '--offline']
  await cli.run()
}

function finish(code) {
  const main = join(dist, 'main.cjs')
  if (compiled.has(main)) writeFileSync(`${main}.v8cache`, compiled.get(main).createCachedData())
  rmSync(home, { recursive: true, force: true })
  process.reallyExit(compiled.size === 2 && code === 0 ? 0 : 1)
}

warmUp().catch((err) => {
  console.error(`code cache not written: ${err && err.message}`)
  process.reallyExit(1)
})
