import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseTokenArgv } from './global-options.ts'

test('parseTokenArgv: the fast lane takes only what commander would take the same way', () => {
  const cases: Array<{ argv: string[]; want: ReturnType<typeof parseTokenArgv> }> = [
    { argv: ['token'], want: { flags: {}, json: false, verbose: false, login: false } },
    {
      argv: ['token', '--client-id', 'x', '--server-url=https://a.example'],
      want: { flags: { clientId: 'x', serverUrl: 'https://a.example' }, json: false, verbose: false, login: false },
    },
    {
      argv: ['--client-id', 'x', 'token'],
      want: { flags: { clientId: 'x' }, json: false, verbose: false, login: false },
    },
    { argv: ['token', '--json'], want: { flags: {}, json: true, verbose: false, login: false } },
    { argv: ['token', '--verbose'], want: { flags: { verbose: 'true' }, json: false, verbose: true, login: false } },
    {
      argv: ['token', '--allow-insecure-http'],
      want: { flags: { allowInsecureHttp: 'true' }, json: false, verbose: false, login: false },
    },
    { argv: ['status'], want: undefined },
    {
      argv: ['token', '--login', '--client-id', 'x'],
      want: { flags: { clientId: 'x' }, json: false, verbose: false, login: true },
    },
    { argv: ['--login', 'token'], want: undefined },
    { argv: ['token', '--help'], want: undefined },
    { argv: ['token', '--unknown'], want: undefined },
    { argv: ['token', '--client-id'], want: undefined },
    { argv: ['token', '--client-id', '--json'], want: undefined },
    { argv: ['token', '--client-id', 'a', '--client-id', 'b'], want: undefined },
    { argv: ['token', '--token-store', 'vault'], want: undefined },
    { argv: ['token', '--json=1'], want: undefined },
    { argv: ['token', 'token'], want: undefined },
  ]
  for (const c of cases) assert.deepEqual(parseTokenArgv(c.argv), c.want, c.argv.join(' '))
})
