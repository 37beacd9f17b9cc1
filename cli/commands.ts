// The nodevms command line. Each command is one file exporting a CommandSpec; this file lists them, reads
// argv against them (parse-argv.ts) before anything runs, prints help through cac, runs the command and
// turns what it throws into an exit code (CONTRACT §4: 0 ok, 1 mismatch or runtime failure, 2 usage error
// or a host that cannot be reached).
//
// To add a command: write cli/<name>.ts exporting a CommandSpec, and add it to COMMANDS below.
// To add an option: add one OptionSpec (flags, description, default, value kind) to its command's `options`;
// the command finds it read and checked in `input.options.<camelCaseName>`.
import { readFileSync } from 'node:fs'
import { cac, type CAC } from 'cac'
import { callCommand } from './call.js'
import { commandName, usageLines, type CommandSpec, type Invocation, type OptionSpec, type ServeCommand } from './command-spec.js'
import { devCommand } from './dev.js'
import { execCommand } from './exec.js'
import { exploreCommand } from './explore.js'
import { idCommand } from './id.js'
import { CliError, exitCodeFor, explain, printError } from './output.js'
import { parseArgv } from './parse-argv.js'
import { replCommand } from './repl.js'
import { seedCommand } from './seed.js'
import { verifyCommand } from './verify.js'

/** Every command, in the order --help lists them. */
export const COMMANDS: readonly CommandSpec[] = [execCommand, devCommand, callCommand, replCommand, verifyCommand, exploreCommand, idCommand, seedCommand]

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

/** The help text of an option: its description and its default, which every option states. */
export function optionHelp (option: OptionSpec): string {
  const takesValue = /[<[]/.test(option.flags)
  return `${option.description} (default: ${option.default ?? option.defaultText ?? (takesValue ? 'none' : 'off')})`
}

/** cac renders the help; parsing is ours (parse-argv.ts). */
function helpRenderer (commands: readonly CommandSpec[]): CAC {
  const cli = cac('nodevms')
  for (const spec of commands) {
    const command = cli.command(spec.usage, spec.description)
    for (const option of spec.options) command.option(option.flags, optionHelp(option))
    // cac gives a --no-x flag the default true and prints "(default: true)"; optionHelp already says it.
    for (const option of command.options) option.config.default = undefined
  }
  cli.command('help [command]', 'Show this help, or one command\'s')
  cli.help((sections) => sections.map(({ title, body }) => ({
    title,
    body: body.split('\n').filter((line) => !line.endsWith(' help --help')).map((line) => line.trimEnd()).join('\n')
  })))
  cli.version(pkg.version)
  return cli
}

function printHelp (spec: CommandSpec | null): void {
  const cli = helpRenderer(COMMANDS)
  if (spec === null) cli.globalCommand.outputHelp()
  else cli.commands.find((c) => c.name === commandName(spec))!.outputHelp()
}

/** The usage line printed under a usage error. */
function printUsage (name: string | undefined): void {
  const spec = COMMANDS.find((c) => commandName(c) === name)
  const lines = spec === undefined
    ? ['Usage: nodevms <command> [options]', `Commands: ${COMMANDS.map(commandName).join(', ')}. nodevms --help describes them.`]
    : usageLines(spec)
  process.stderr.write(lines.join('\n') + '\n')
}

function fail (err: unknown, command?: string): never {
  printError(explain(err))
  if (err instanceof CliError && err.code === 'USAGE') printUsage(err.command ?? command)
  process.exit(exitCodeFor(err))
}

let earlySignal: string | null = null

/** Runs the command line. `early` is a signal that arrived while the modules were still loading. */
export async function main (early: string | null): Promise<void> {
  earlySignal = early
  let parsed
  try {
    parsed = parseArgv(process.argv.slice(2), COMMANDS)
  } catch (err) {
    fail(err)
  }
  if (parsed.kind === 'help') return printHelp(parsed.spec)
  if (parsed.kind === 'version') return helpRenderer(COMMANDS).outputVersion()
  const { spec, input } = parsed
  const name = commandName(spec)
  try {
    if ('serve' in spec) return await serveUntilSignal(spec, input, name)
    // Only long-lived services close cleanly on a signal that came while loading; anything else stops.
    if (earlySignal !== null) process.exit(earlySignal === 'SIGINT' ? 130 : 143)
    process.exitCode = await spec.run(input)
  } catch (err) {
    fail(err, name)
  }
}

/**
 * Runs a long-lived service until SIGINT or SIGTERM (or until it ends itself), then stops it and exits with
 * its code (0 by default). The handlers are installed before start-up, so a signal that arrives while the
 * service is still starting stops it as soon as it is up instead of killing the process half-way.
 */
async function serveUntilSignal (spec: ServeCommand, input: Invocation, name: string): Promise<void> {
  let stop: (() => Promise<number | void>) | null = null
  let reason: { signal: string } | { code: number } | null = earlySignal === null ? null : { signal: earlySignal }
  let closing = false
  const close = () => {
    if (closing || stop === null || reason === null) return
    closing = true
    const ending = reason
    if ('signal' in ending) process.stderr.write(`\n${ending.signal}: closing nodevms ${name}...\n`)
    stop().then((code) => process.exit('code' in ending ? ending.code : typeof code === 'number' ? code : 0), (err) => fail(err, name))
  }
  const onSignal = (signal: string) => { reason ??= { signal }; close() }
  process.on('SIGINT', () => onSignal('SIGINT'))
  process.on('SIGTERM', () => onSignal('SIGTERM'))
  stop = await spec.serve(input, { end: (code) => { reason ??= { code }; close() } })
  close()
}
