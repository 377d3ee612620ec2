import { AuthgateError, CommandFailedError } from '../errors.ts'
import type { Redactor } from './redact.ts'

/**
 * The one place where failures become exit codes and one-line messages (gh's internal/ghcmd/cmd.go does the same).
 * Commands throw; they never print a failure or exit.
 */
export function reportError(err: unknown, write: (line: string) => void, redactor: Redactor, verbose: boolean): number {
  if (err instanceof CommandFailedError && err.silent) return err.exitCode
  if (err instanceof AuthgateError) {
    write(redactor.redact(`authgate: ${err.message}\n`))
    if (err.hint) write(redactor.redact(`  → ${err.hint}\n`))
    if (verbose && err.cause instanceof Error) write(redactor.redact(`  cause: ${err.cause.message}\n`))
    return err.exitCode
  }
  const message = err instanceof Error ? err.message : String(err)
  write(redactor.redact(`authgate: unexpected error: ${message}\n`))
  if (verbose && err instanceof Error && err.stack) write(redactor.redact(`${err.stack}\n`))
  return 1
}
