import { SETTINGS, type SettingRow } from '../config/settings-table.ts'
import type { GlobalFlags } from '../session/open.ts'

/** A global option of the command line: every setting (config/settings-table.ts), and `--json`. */
export type GlobalOption = Pick<SettingRow, 'flag' | 'arg' | 'help' | 'choices' | 'repeatable'> & {
  readonly key: SettingRow['key'] | 'json'
}

/** Commander's definitions (program.ts) and the parser below both come from here, so they cannot disagree. */
export const GLOBAL_OPTIONS: readonly GlobalOption[] = [
  ...SETTINGS,
  // An output choice of the commands that have one, not a setting: no environment variable, no profile field.
  { flag: '--json', key: 'json', help: 'machine-readable output where a command has any' },
]

/**
 * Parses `token` plus global options only, in the forms commander accepts (`--x v`, `--x=v`, boolean flags).
 * Anything else (help, an unknown or repeated flag, a missing value) returns undefined: the full program handles it.
 */
export function parseTokenArgv(
  argv: readonly string[],
): { flags: GlobalFlags; json: boolean; verbose: boolean; login: boolean } | undefined {
  const flags: Record<string, string> = {}
  let sawCommand = false
  let login = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === 'token' && !sawCommand) {
      sawCommand = true
      continue
    }
    // `token --login`: a usable token is printed here as without it; the sign-in, if needed, is the full program's.
    if (arg === '--login' && sawCommand) {
      login = true
      continue
    }
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(0, eq) : arg
    const option = GLOBAL_OPTIONS.find((o) => o.flag === name)
    if (!option || flags[option.key] !== undefined) return undefined
    let value = 'true'
    if (option.arg) {
      value = eq > 0 ? arg.slice(eq + 1) : (argv[++i] ?? '')
      if (value === '' || (eq < 0 && value.startsWith('-'))) return undefined
      if (option.choices && !option.choices.includes(value)) return undefined
    } else if (eq > 0) return undefined
    flags[option.key] = value
  }
  if (!sawCommand) return undefined
  const { json, verbose, ...rest } = flags
  return {
    flags: { ...rest, ...(verbose ? { verbose } : {}) } as GlobalFlags,
    json: json === 'true',
    verbose: verbose === 'true',
    login,
  }
}
