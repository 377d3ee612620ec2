export { path as default } from './node-builtins.mjs'
