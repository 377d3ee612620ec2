import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Command } from 'commander'
import { addGlobalOptions } from '../../src/cli/program.ts'
import type { CommandEnv } from '../../src/commands/command-env.ts'

/** The real program's global options, with commander's exits and output turned into thrown errors and silence. */
export function quietProgram(): Command {
  return addGlobalOptions(new Command('authgate'))
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
}

/**
 * The parse half of a command's two test tables (gh's NewCmdX(f, runF)): registers the command with its run function
 * replaced by a capture, parses argv, and returns what the run function would have received.
 */
export async function parsedOptions<T>(
  argv: string[],
  register: (program: Command, makeEnv: (cmd: Command) => CommandEnv, capture: (options: T) => Promise<void>) => void,
): Promise<T> {
  let got: { options: T } | undefined
  const program = quietProgram()
  const makeEnv = (cmd: Command) => ({ json: cmd.optsWithGlobals().json === true }) as CommandEnv
  register(program, makeEnv, async (options) => void (got = { options }))
  await program.parseAsync(argv, { from: 'user' })
  assert.ok(got, 'run was called')
  return got.options
}

/** One test per row: argv → the options `parse` returns, or a predicate on the error it throws. */
export function parseTableTests<T>(
  cases: ReadonlyArray<{ argv: string[]; want: T | ((e: unknown) => boolean) }>,
  parse: (argv: string[]) => Promise<T>,
): void {
  for (const c of cases) {
    test(`parse: authgate ${c.argv.join(' ')}`, async () => {
      if (typeof c.want === 'function')
        return void (await assert.rejects(parse(c.argv), c.want as (e: unknown) => boolean))
      assert.deepEqual(await parse(c.argv), c.want)
    })
  }
}
