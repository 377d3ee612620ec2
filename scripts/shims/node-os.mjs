export { os as default } from './node-builtins.mjs'
