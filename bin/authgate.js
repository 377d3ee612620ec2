#!/usr/bin/env node
'use strict'
// CommonJS on purpose (bin/package.json): the ESM loader alone costs several ms, and `authgate token` runs in prompts.
// The entry bundle is compiled with V8's code cache that the build wrote beside it (scripts/code-cache.cjs) when V8
// accepts it; a missing or rejected cache (another Node version) means a plain require(), nothing worse.
const entry = require('node:path').join(__dirname, '..', 'dist', 'cli.cjs')
;(loadCached(entry) || require(entry)).run()

function loadCached(file) {
  try {
    const fs = require('node:fs')
    const vm = require('node:vm')
    const cachedData = fs.readFileSync(`${file}.v8cache`)
    const source = require('node:module').wrap(fs.readFileSync(file, 'utf8'))
    const script = new vm.Script(source, { filename: file, cachedData })
    if (script.cachedDataRejected) return undefined
    const mod = { exports: {} }
    script.runInThisContext()(
      mod.exports,
      require('node:module').createRequire(file),
      mod,
      file,
      require('node:path').dirname(file),
    )
    return mod.exports
  } catch {
    return undefined
  }
}
