import { CommanderError } from 'commander'
import { parsedOptions, parseTableTests } from '../../../test/support/parse-table.ts'
import { registerToken, type TokenOptions } from './token.ts'

// ---- parse table: argv → options, with the run function replaced ----

parseTableTests<TokenOptions>(
  [
    { argv: ['token'], want: { json: false, login: false } },
    { argv: ['token', '--json'], want: { json: true, login: false } },
    { argv: ['--json', 'token', '--login'], want: { json: true, login: true } },
    { argv: ['token', '--force'], want: (e) => e instanceof CommanderError },
    { argv: ['token', 'extra'], want: (e) => e instanceof CommanderError },
  ],
  (argv) => parsedOptions<TokenOptions>(argv, (p, env, capture) => registerToken(p, env, capture)),
)
