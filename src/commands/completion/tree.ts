import type { Command, Option } from 'commander'

/** One flag as a shell completes it. */
export interface CompletionFlag {
  /** `--server-url`, `-X`. */
  readonly names: readonly string[]
  readonly description: string
  readonly takesValue: boolean
  readonly choices: readonly string[]
}

/** One command (the program itself at path []), with what may follow it. */
export interface CompletionNode {
  readonly path: readonly string[]
  readonly subcommands: ReadonlyArray<{ name: string; description: string }>
  /** Its own flags; the program's flags (global, accepted after any command) are in the root node. */
  readonly flags: readonly CompletionFlag[]
  /** Choices of its positional arguments (`completion <bash|zsh|fish>`). */
  readonly argChoices: readonly string[]
  /** Its operands form another command line (`exec <command...>`: a variadic argument named `command`). */
  readonly runsCommand: boolean
}

export interface CompletionTree {
  readonly program: string
  /** Every command, depth first, the program first. */
  readonly nodes: readonly CompletionNode[]
  /** Every flag name that takes a value, anywhere: a shell skips the word after it when it walks the line. */
  readonly valueFlags: readonly string[]
}

/** Built from commander's own objects (its Help lists what `--help` shows), so a new command or flag completes at once. */
export function completionTree(program: Command): CompletionTree {
  const nodes: CompletionNode[] = []
  const visit = (cmd: Command, path: string[]) => {
    const help = cmd.createHelp()
    const children = help.visibleCommands(cmd)
    nodes.push({
      path,
      subcommands: children.map((c) => ({ name: c.name(), description: c.description() })),
      flags: help.visibleOptions(cmd).map(flagOf),
      argChoices: cmd.registeredArguments.flatMap((a) => a.argChoices ?? []),
      runsCommand: cmd.registeredArguments.some((a) => a.variadic && a.name() === 'command'),
    })
    for (const child of cmd.commands) if (children.includes(child)) visit(child, [...path, child.name()])
  }
  visit(program, [])
  const valueFlags = new Set(nodes.flatMap((n) => n.flags.filter((f) => f.takesValue).flatMap((f) => f.names)))
  for (const node of nodes) {
    for (const flag of node.flags) {
      // The walk skips a value after every flag in valueFlags: one name must not be a switch elsewhere.
      if (!flag.takesValue && flag.names.some((n) => valueFlags.has(n)))
        throw new TypeError(`completion: ${flag.names.join('/')} takes a value in one command and not in another`)
    }
  }
  return { program: program.name(), nodes, valueFlags: [...valueFlags].sort() }
}

function flagOf(option: Option): CompletionFlag {
  return {
    names: [option.long, option.short].filter((n): n is string => n !== undefined),
    description: option.description,
    takesValue: option.required || option.optional,
    choices: option.argChoices ?? [],
  }
}
