import { Command, Option } from 'commander'
import type { CommandEnv } from '../commands/command-env.ts'
import type { GlobalFlags } from '../session/open.ts'
import { GLOBAL_OPTIONS } from './global-options.ts'

declare const AUTHGATE_VERSION: string
export const VERSION = typeof AUTHGATE_VERSION === 'string' ? AUTHGATE_VERSION : '0.0.0-dev'

/** A command module: adds itself to the program and calls `run(env)` with its parsed options. */
export type Register = (program: Command, makeEnv: (cmd: Command) => CommandEnv) => void

/** Global options, accepted before or after the command (`authgate --client-id x token` = `authgate token --client-id x`). */
export function addGlobalOptions(program: Command): Command {
  for (const o of GLOBAL_OPTIONS) {
    const option = new Option(o.arg ? `${o.flag} ${o.arg}` : o.flag, o.help)
    if (o.repeatable)
      option.argParser((value: string, previous?: string) => (previous ? `${previous},${value}` : value))
    program.addOption(o.choices ? option.choices(o.choices) : option)
  }
  return program
}

/** commander's camelCase options → the settings resolver's raw strings (flags are the highest source). */
export function globalFlags(opts: Record<string, unknown>): GlobalFlags {
  const flags: Record<string, string> = {}
  for (const [name, value] of Object.entries(opts)) {
    if (value === undefined || name === 'json') continue
    flags[name] = value === true ? 'true' : String(value)
  }
  return flags as GlobalFlags
}
