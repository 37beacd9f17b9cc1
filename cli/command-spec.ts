// What a command is: its usage, its options (each with a value kind and a default), and what it runs.
// Each command file exports one CommandSpec; cli/commands.ts lists them; cli/parse-argv.ts reads argv
// against them before anything runs, so usage errors exit 2 before a file is read or a socket opened.
import { CliError } from './output.js'

/** Turns the text typed after an option into the value the command gets, or throws CliError.usage. */
export type ValueKind<T = unknown> = (text: string, flag: string) => T

export interface OptionSpec {
  /** `--port <port>` takes a value; `--debug` and `--no-anonymous` are flags (true / false when given). */
  flags: string
  description: string
  /** The value used when the option is absent, written as a user would type it; shown in --help. */
  default?: string
  /** What --help says when the default is not a value: `./<script name>`, `off`. Flags default to `off`. */
  defaultText?: string
  /** How the value is read. Default: `text`, the string as typed (never a number). */
  value?: ValueKind
  /** May be given more than once (the command gets an array); otherwise the last one counts. */
  repeatable?: boolean
}

/** A command line read against a spec: positional arguments as typed, options by camelCase name. */
export interface Invocation {
  args: string[]
  options: Record<string, unknown>
}

/** How a long-lived command ends itself (dev, when its REPL exits), as a signal would end it. */
export interface Lifetime { end (code: number): void }

interface CommandBase {
  /** cac syntax: `exec <script>`, `verify [url]`, `call <url> <method> [...args]`. */
  usage: string
  description: string
  options: OptionSpec[]
  /** Checks between options that need no I/O (throw CliError.usage); they run before the command does. */
  check? (input: Invocation): void
}

/** A command that runs to completion and resolves to its exit code. */
export interface RunCommand extends CommandBase {
  run (input: Invocation): Promise<number>
}

/** A long-lived service (exec, seed, dev): `serve` resolves once it is up, to the stop() SIGINT/SIGTERM call. */
export interface ServeCommand extends CommandBase {
  serve (input: Invocation, lifetime: Lifetime): Promise<() => Promise<number | void>>
}

export type CommandSpec = RunCommand | ServeCommand

/** The command's name: the first word of its usage. */
export function commandName (spec: CommandSpec): string {
  return spec.usage.split(' ')[0]
}

// ---- value kinds ----

/** Any non-empty text, kept exactly as typed: paths, keys, names, urls (`--dir 007` stays "007"). */
export const text: ValueKind<string> = (value) => value

/** A TCP port; 0 asks the system for a free one. */
export const port: ValueKind<number> = (value, flag) => {
  const n = /^\d+$/.test(value) ? Number(value) : NaN
  if (!(n >= 0 && n <= 65535)) throw CliError.usage(`${flag} needs a port number from 0 to 65535 (0 picks a free one), got ${JSON.stringify(value)}`)
  return n
}

/** A number above zero: seconds, megabytes. */
export const positive: ValueKind<number> = (value, flag) => {
  const n = /^\s*$/.test(value) ? NaN : Number(value)
  if (!(Number.isFinite(n) && n > 0)) throw CliError.usage(`${flag} needs a number above 0, got ${JSON.stringify(value)}`)
  return n
}

/** A whole number above zero: gas. */
export const count: ValueKind<number> = (value, flag) => {
  const n = /^\d+$/.test(value) ? Number(value) : NaN
  if (!(Number.isSafeInteger(n) && n > 0)) throw CliError.usage(`${flag} needs a whole number above 0, got ${JSON.stringify(value)}`)
  return n
}

/** The lines printed under a usage error of this command. */
export function usageLines (spec: CommandSpec): string[] {
  return [`Usage: nodevms ${spec.usage}${spec.options.length > 0 ? ' [options]' : ''}`, `nodevms ${commandName(spec)} --help lists the options.`]
}
