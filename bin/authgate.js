#!/usr/bin/env node
'use strict'
// CommonJS on purpose (bin/package.json): the ESM loader alone costs several ms, and `authgate token` runs in prompts.
require('./load-compiled.js')
  .loadCompiled(require('node:path').join(__dirname, '..', 'dist', 'cli.cjs'))
  .run()
