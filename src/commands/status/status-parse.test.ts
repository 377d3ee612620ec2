import { CommanderError } from 'commander'
import { parsedOptions, parseTableTests } from '../../../test/support/parse-table.ts'
import { registerStatus, type StatusOptions } from './status.ts'

// ---- parse table: argv → options, with the run function replaced ----

parseTableTests<StatusOptions>(
  [
    { argv: ['status'], want: { json: false, offline: false, all: false } },
    { argv: ['status', '--offline'], want: { json: false, offline: true, all: false } },
    { argv: ['--json', 'status', '--all'], want: { json: true, offline: false, all: true } },
    { argv: ['status', '--force'], want: (e) => e instanceof CommanderError },
  ],
  (argv) => parsedOptions<StatusOptions>(argv, (p, env, capture) => registerStatus(p, env, capture)),
)
