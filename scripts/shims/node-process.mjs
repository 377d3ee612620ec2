export { process as default } from './node-builtins.mjs'
