// One CommonJS bundle for the CLI (fastest start on Node 20, see shared/evidence/dependencies.md §7) and one ESM
// bundle for the library. Native addons stay external: they load their prebuilt binaries from their package folders.
import { build } from 'esbuild'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: ['fs-native-extensions', '@napi-rs/keyring'],
  define: { AUTHGATE_VERSION: JSON.stringify(pkg.version) },
  legalComments: 'none',
  logLevel: 'warning',
}
const cjs = {
  ...common,
  format: 'cjs',
  // import() of ./main.cjs must become require(): through the ESM loader it costs ~100 ms of CPU per process, paid by
  // every command but a fresh `token` (found by the storm benchmark).
  supported: { 'dynamic-import': false },
  // import.meta.url: createRequire in src/ finds the native addons next to the bundle, and `open` finds its xdg-open
  // script; CommonJS has __filename instead. Computed on first use only: the `token` fast lane never needs it, and
  // start-up is what it is measured on.
  define: { ...common.define, 'import.meta.url': '__authgateModule.url' },
  banner: {
    js: "const __authgateModule = { get url() { return require('node:url').pathToFileURL(__filename).href } };",
  },
}
/**
 * The entry bundle holds the real deps and the `token` fast lane; `./main.ts` is the full program, a bundle of its own,
 * loaded through bin/load-compiled.js so that it starts from its V8 code cache too.
 */
const splitMain = {
  name: 'split-main',
  setup(b) {
    b.onResolve({ filter: /^\.\/main\.ts$/ }, (args) =>
      args.importer.endsWith('system.ts') ? { path: 'main', namespace: 'authgate-main' } : undefined,
    )
    b.onResolve({ filter: /^\.\.\/bin\/load-compiled\.js$/ }, (args) => ({ path: args.path, external: true }))
    b.onLoad({ filter: /.*/, namespace: 'authgate-main' }, () => ({
      contents:
        "module.exports = require('../bin/load-compiled.js').loadCompiled(require('node:path').join(__dirname, 'main.cjs'))",
      loader: 'js',
    }))
  },
}
/**
 * pg (node-postgres) is loaded only by the postgres store: the CLI bundles reach it as dist/pg.cjs, a bundle of its own
 * loaded through bin/load-compiled.js with its V8 code cache (scripts/pg-code-cache.cjs), so no other store pays to
 * parse it and this one does not compile it. Once per process: the fast lane and the full program share it.
 * The library keeps the pg package as it is.
 */
const pgBundle = {
  name: 'pg-bundle',
  setup(b) {
    b.onResolve({ filter: /^pg$/ }, () => ({ path: 'pg', namespace: 'authgate-pg' }))
    b.onResolve({ filter: /^\.\.\/bin\/load-compiled\.js$/ }, (args) => ({ path: args.path, external: true }))
    b.onLoad({ filter: /.*/, namespace: 'authgate-pg' }, () => ({
      contents: `const k = Symbol.for('authgate.pg')
module.exports = globalThis[k] ??= require('../bin/load-compiled.js').loadCompiled(require('node:path').join(__dirname, 'pg.cjs'))`,
      loader: 'js',
    }))
  },
}
/** Replaces each `from` in a pg source file, and fails the build when one is missing (another pg version). */
function patched(path, replacements) {
  let text = readFileSync(path, 'utf8')
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`pg-lean: ${path} no longer holds ${JSON.stringify(from)}`)
    text = text.split(from).join(to)
  }
  return { contents: text, loader: 'js' }
}
/**
 * What pg does at load that a CLI start-up must not pay for. On Node 20 (no `navigator`) its start-up probe for
 * Cloudflare Workers constructs a fetch `Response`, which loads undici: tens of ms; the Node stream functions are all
 * the CLI runs on. Its crypto helpers load node:crypto and fetch WebCrypto at load (~5 ms) though only password
 * (SCRAM, md5) sign-ins use them (the store loads node:crypto itself while the server starts the backend), and
 * connection-parameters loads `dns` (~1 ms) for pg-native alone: all become lookups on first use.
 */
const pgLean = {
  name: 'pg-lean',
  setup(b) {
    b.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, () => ({
      contents:
        "module.exports = { getStream: () => new (require('net').Socket)(), getSecureStream: (o) => require('tls').connect(o) }",
      loader: 'js',
    }))
    b.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]crypto[\\/]utils\.js$/ }, (args) =>
      patched(args.path, [
        [
          "const nodeCrypto = require('crypto')",
          "const nodeCrypto = { get webcrypto() { return require('crypto').webcrypto }, createHash: (...a) => require('crypto').createHash(...a) }",
        ],
        [
          'const webCrypto = nodeCrypto.webcrypto || globalThis.crypto',
          'const webCrypto = () => nodeCrypto.webcrypto || globalThis.crypto',
        ],
        ['const subtleCrypto = webCrypto.subtle', 'const subtleCrypto = () => webCrypto().subtle'],
        ['webCrypto.', 'webCrypto().'],
        ['subtleCrypto.', 'subtleCrypto().'],
      ]),
    )
    b.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]connection-parameters\.js$/ }, (args) =>
      patched(args.path, [
        ["const dns = require('dns')", "const dns = { lookup: (...a) => require('dns').lookup(...a) }"],
      ]),
    )
  },
}
// Minified: V8 compiles the whole entry bundle on every start, and fewer bytes compile faster.
await build({
  ...cjs,
  entryPoints: ['src/cli/system.ts'],
  outfile: 'dist/cli.cjs',
  plugins: [splitMain, pgBundle],
  minify: true,
})
await build({ ...cjs, entryPoints: ['src/cli/main.ts'], outfile: 'dist/main.cjs', plugins: [pgBundle] })
await build({
  ...cjs,
  entryPoints: ['pg'],
  outfile: 'dist/pg.cjs',
  external: ['pg-native', 'pg-cloudflare'],
  plugins: [pgLean],
  minify: true,
})
await build({
  ...common,
  external: [...common.external, 'pg'],
  entryPoints: ['src/index.ts'],
  format: 'esm',
  outfile: 'dist/index.js',
  banner: {
    js: "import { createRequire as __authgateRequire } from 'node:module'; const require = __authgateRequire(import.meta.url);",
  },
})

// V8's code cache for the entry bundle, warmed by a real fast-lane run (see scripts/code-cache.cjs).
const cache = spawnSync(process.execPath, [new URL('./code-cache.cjs', import.meta.url).pathname], {
  stdio: ['ignore', 'ignore', 'inherit'],
})
if (cache.status !== 0)
  console.warn('warning: no code cache for dist/cli.cjs; authgate still works, a little slower to start')
const pgCache = spawnSync(process.execPath, [new URL('./pg-code-cache.cjs', import.meta.url).pathname], {
  stdio: ['ignore', 'ignore', 'inherit'],
})
if (pgCache.status !== 0)
  console.warn('warning: no code cache for dist/pg.cjs; the postgres store still works, a little slower to start')
