import { CommanderError } from 'commander'
import { parsedOptions, parseTableTests } from '../../../test/support/parse-table.ts'
import { registerRefresh, type RefreshOptions } from './refresh.ts'

// ---- parse table: argv → options, with the run function replaced ----

parseTableTests<RefreshOptions>(
  [
    { argv: ['refresh'], want: { force: false } },
    { argv: ['refresh', '--force'], want: { force: true } },
    { argv: ['refresh', '--login'], want: (e) => e instanceof CommanderError },
  ],
  (argv) => parsedOptions<RefreshOptions>(argv, (p, env, capture) => registerRefresh(p, env, capture)),
)
