// Writes dist/cli.cjs.v8cache: V8's code cache for the entry bundle, taken after a real `authgate token` fast-lane run
// so that it holds the functions that run compiled, not only the top level. bin/authgate.js uses it when V8 accepts
// it (same V8 version and flags) and falls back to a plain require() otherwise. Run by scripts/build.mjs.
'use strict'
const { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join, dirname } = require('node:path')
const vm = require('node:vm')
const { createRequire } = require('node:module')

const entry = join(__dirname, '..', 'dist', 'cli.cjs')
const home = mkdtempSync(join(tmpdir(), 'authgate-code-cache-'))
const config = join(home, 'config', 'authgate')
mkdirSync(config, { recursive: true })
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
writeFileSync(
  join(config, 'tokens.json'),
  JSON.stringify({ version: 1, sessions: { 'code-cache@http://localhost:8080': session } }),
)
Object.assign(process.env, {
  XDG_CONFIG_HOME: join(home, 'config'),
  XDG_CACHE_HOME: join(home, 'cache'),
  AUTHGATE_CLIENT_ID: 'code-cache',
})
for (const name of Object.keys(process.env))
  if (/^AUTHGATE_(?!CLIENT_ID)|^(SERVER_URL|TOKEN_FILE|TOKEN_STORE)$/.test(name)) delete process.env[name]
process.argv = [process.argv[0], join(__dirname, '..', 'bin', 'authgate.js'), 'token']

const script = new vm.Script(require('node:module').wrap(readFileSync(entry, 'utf8')), { filename: entry })
const mod = { exports: {} }
script.runInThisContext()(mod.exports, createRequire(entry), mod, entry, dirname(entry))
// The fast lane prints the warm-up token on fd 1; scripts/build.mjs runs this with stdout ignored.
Promise.resolve(mod.exports.run()).then(
  () => {
    writeFileSync(`${entry}.v8cache`, script.createCachedData())
    rmSync(home, { recursive: true, force: true })
  },
  (err) => {
    console.error(`code cache not written: ${err && err.message}`)
    process.exitCode = 1
  },
)
