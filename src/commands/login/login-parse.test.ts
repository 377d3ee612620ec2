import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CommanderError } from 'commander'
import { UsageError } from '../../errors.ts'
import { registerLogin, type LoginOptions } from './login.ts'
import { parsedOptions } from '../../../test/support/parse-table.ts'

// ---- parse table: argv → options, with the run function replaced ----

const parse = (argv: string[]) => parsedOptions<LoginOptions>(argv, (p, env, capture) => registerLogin(p, env, capture))

const parseCases: Array<{ argv: string[]; want: LoginOptions | ((err: unknown) => boolean) }> = [
  { argv: ['login'], want: { flow: undefined, open: true, json: false } },
  { argv: ['login', '--device'], want: { flow: 'device', open: true, json: false } },
  { argv: ['login', '--no-browser'], want: { flow: 'device', open: true, json: false } },
  { argv: ['login', '--browser'], want: { flow: 'browser', open: true, json: false } },
  { argv: ['login', '--no-open'], want: { flow: undefined, open: false, json: false } },
  { argv: ['login', '--browser', '--no-open'], want: { flow: 'browser', open: false, json: false } },
  { argv: ['login', '--device', '--no-browser'], want: { flow: 'device', open: true, json: false } },
  { argv: ['--json', 'login'], want: { flow: undefined, open: true, json: true } },
  { argv: ['login', '--json', '--device'], want: { flow: 'device', open: true, json: true } },
  { argv: ['login', '--device', '--browser'], want: (e) => e instanceof UsageError && e.exitCode === 2 },
  { argv: ['login', '--open-browser'], want: (e) => e instanceof CommanderError },
  { argv: ['login', 'extra'], want: (e) => e instanceof CommanderError },
]

for (const c of parseCases) {
  test(`parse: authgate ${c.argv.join(' ')}`, async () => {
    if (typeof c.want === 'function') return void (await assert.rejects(parse(c.argv), c.want))
    assert.deepEqual(await parse(c.argv), c.want)
  })
}

// ---- run table: options + fake deps → stdout, stderr, error, store ----
