// env-paths imports node:os, node:path and node:process by default import. In a CommonJS bundle esbuild wraps each in
// __toESM, which copies every property of the module onto a new object at start-up (node:process has over 100);
// `authgate token` is measured on its start-up. These shims hand env-paths the modules themselves.
/* global require */
export const os = require('node:os')
export const path = require('node:path')
export const process = globalThis.process
