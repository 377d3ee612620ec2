import { Command, CommanderError } from 'commander'
import type { CommandEnv } from '../commands/command-env.ts'
import type { Deps } from '../session/deps.ts'
import { registerCommands } from './commands.ts'
import { escapeTerminal } from '../commands/terminal-text.ts'
import { MAX_RESPONSE_BYTES } from '../oauth/http.ts'
import { reportError } from './exit.ts'
import { addManualLinks } from './manual.ts'
import { addGlobalOptions, globalFlags, VERSION } from './program.ts'
import { Redactor } from './redact.ts'
import { nodeFetch } from './node-fetch.ts'

export { openBrowser } from '../loopback/open-browser.ts'
export { buildProtocol } from '../session/protocol-client.ts'
/** OAuth requests of the CLI: node:http, not the global fetch (see node-fetch.ts); loaded only when one is sent. */
export const oauthFetch = nodeFetch(MAX_RESPONSE_BYTES)

/** Runs one command line and returns the exit code. Only this function decides exit codes. */
export async function main(argv: readonly string[], deps: Deps): Promise<number> {
  const redactor = new Redactor()
  const verbose = argv.includes('--verbose') || /^(1|true|yes|on)$/i.test(deps.env.AUTHGATE_DEBUG ?? '')
  // The one sink of stderr messages: whatever a server or a file put in them is escaped here (contract, trust).
  const writeErr = (text: string) => void deps.io.stderr.write(redactor.redact(escapeTerminal(text)))
  const program = addGlobalOptions(new Command('authgate'))
    .description('Sign in to an OAuth 2.0 / AuthGate server and hand a valid access token to every program that asks.')
    .version(VERSION, '-V, --version', 'print the version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: (s) => void deps.io.stdout.write(s), writeErr, outputError: (s, write) => write(s) })
  const warned = new Set<string>()
  const warn = (line: string) => {
    if (warned.has(line)) return
    warned.add(line)
    writeErr(`${line}\n`)
  }
  const makeEnv = (cmd: Command): CommandEnv => {
    const opts = cmd.optsWithGlobals() as Record<string, unknown>
    return {
      deps: { ...deps, warn },
      flags: globalFlags(opts),
      json: opts.json === true,
      trace: verbose ? (line) => writeErr(`[http] ${line}\n`) : undefined,
      secret: (value) => redactor.add(value),
      say: (line) => writeErr(`${line}\n`),
    }
  }
  registerCommands(program, makeEnv)
  addManualLinks(program)
  if (argv.length === 0) {
    program.outputHelp({ error: true })
    return 2
  }
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2
    return reportError(err, writeErr, redactor, verbose)
  }
}
