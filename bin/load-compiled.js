'use strict'
// Loads one of authgate's CommonJS bundles with the V8 code cache that the build wrote beside it
// (scripts/code-cache.cjs), so V8 skips compiling what it compiled during the build's warm-up run. A missing or
// rejected cache (another Node version) means a plain require(), nothing worse.
const fs = require('node:fs')
const path = require('node:path')
const { Module, createRequire } = require('node:module')
const vm = require('node:vm')

/** The build's warm-up sets this to collect the compiled scripts and write their caches. */
const compiled = new Map()

function loadCompiled(file) {
  return tryCached(file) || require(file)
}

function tryCached(file) {
  try {
    const cachedData = compiled.recording ? undefined : fs.readFileSync(`${file}.v8cache`)
    const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData })
    if (script.cachedDataRejected) return undefined
    if (compiled.recording) compiled.set(file, script)
    const mod = { exports: {} }
    script.runInThisContext()(mod.exports, createRequire(file), mod, file, path.dirname(file))
    return mod.exports
  } catch {
    return undefined
  }
}

module.exports = { loadCompiled, compiled }
