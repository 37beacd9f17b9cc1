// Reading argv against the command specs, strictly and before anything runs (CONTRACT §9): a missing
// argument, an unknown option, an option without its value or a value of the wrong kind is a usage error
// (exit 2) that names the command. Values stay the strings typed until their option's value kind reads
// them, so `--dir 007` is "007" (cac's parser turns number-like text into numbers, hence this file).
import { commandName, text, type CommandSpec, type Invocation, type OptionSpec } from './command-spec.js'
import { CliError } from './output.js'

export type ParsedArgv =
  | { kind: 'run', spec: CommandSpec, input: Invocation }
  | { kind: 'help', spec: CommandSpec | null }
  | { kind: 'version' }

/** An option as the parser sees it: `--no-anonymous` is the flag `no-anonymous` that sets `anonymous` to false. */
interface Known { spec: OptionSpec, long: string, key: string, takesValue: boolean, negated: boolean }

const HELP = new Set(['-h', '--help'])
const VERSION = new Set(['-v', '--version'])
const isNegativeNumber = (token: string) => /^-\d/.test(token)
const looksLikeOption = (token: string) => token.length > 1 && token.startsWith('-') && !isNegativeNumber(token)
const camelCase = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())

export function describeOption (spec: OptionSpec): Known {
  const match = /^--([a-z][a-z0-9-]*)(?:\s+[<[][^>\]]+[>\]])?$/.exec(spec.flags)
  if (match === null) throw new Error(`cannot read option flags ${JSON.stringify(spec.flags)}: write --name or --name <value>`)
  const long = match[1]
  const negated = long.startsWith('no-')
  return { spec, long, key: camelCase(negated ? long.slice(3) : long), takesValue: /[<[]/.test(spec.flags), negated }
}

/** Reads `nodevms <argv...>` (argv without node and the script). Throws CliError.usage, naming the command. */
export function parseArgv (argv: readonly string[], commands: readonly CommandSpec[]): ParsedArgv {
  const at = argv.findIndex((token) => !looksLikeOption(token))
  const before = at === -1 ? argv : argv.slice(0, at)
  for (const token of before) {
    if (!HELP.has(token) && !VERSION.has(token)) throw CliError.usage(`unknown option ${token.split('=')[0]}${suggest(token, ['--help', '--version'])}`)
  }
  if (before.some((t) => HELP.has(t))) return { kind: 'help', spec: null }
  if (before.some((t) => VERSION.has(t))) return { kind: 'version' }
  if (at === -1 || argv[at] === '--') throw CliError.usage('no command given')
  const name = argv[at]
  const rest = argv.slice(at + 1)
  if (name === 'help') {
    const topic = rest.find((t) => !looksLikeOption(t))
    return { kind: 'help', spec: topic === undefined ? null : findCommand(topic, commands) }
  }
  const spec = findCommand(name, commands)
  if (rest.slice(0, rest.includes('--') ? rest.indexOf('--') : rest.length).some((t) => HELP.has(t))) return { kind: 'help', spec }
  try {
    const input = readInvocation(spec, rest)
    spec.check?.(input)
    return { kind: 'run', spec, input }
  } catch (err) {
    if (err instanceof CliError) err.command ??= commandName(spec)
    throw err
  }
}

function findCommand (name: string, commands: readonly CommandSpec[]): CommandSpec {
  const spec = commands.find((c) => commandName(c) === name)
  if (spec === undefined) throw CliError.usage(`unknown command "${name}"${suggest(name, commands.map(commandName))}`)
  return spec
}

function readInvocation (spec: CommandSpec, tokens: readonly string[]): Invocation {
  const known = spec.options.map(describeOption)
  const options: Record<string, unknown> = {}
  const args: string[] = []
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]
    if (token === '--') { args.push(...tokens.slice(i + 1)); break }
    if (!looksLikeOption(token)) { args.push(token); continue }
    const eq = token.indexOf('=')
    const flag = eq === -1 ? token : token.slice(0, eq)
    const option = flag.startsWith('--') ? known.find((k) => k.long === flag.slice(2)) : undefined
    if (option === undefined) throw CliError.usage(`unknown option ${flag}${suggest(flag, known.map((k) => `--${k.long}`))}`)
    if (!option.takesValue) {
      if (eq !== -1) throw CliError.usage(`${flag} takes no value (got ${JSON.stringify(token.slice(eq + 1))})`)
      options[option.key] = !option.negated
      continue
    }
    let value: string
    if (eq !== -1) value = token.slice(eq + 1)
    else if (i + 1 < tokens.length && !looksLikeOption(tokens[i + 1]) && tokens[i + 1] !== '--') value = tokens[++i]
    else throw CliError.usage(`${flag} needs a value: ${option.spec.flags}`)
    if (value === '') throw CliError.usage(`${flag} needs a value: ${option.spec.flags}`)
    const read = (option.spec.value ?? text)(value, flag)
    options[option.key] = option.spec.repeatable === true ? [...(options[option.key] as unknown[] | undefined ?? []), read] : read
  }
  for (const option of known) {
    if (option.key in options) continue
    if (!option.takesValue) options[option.key] = option.negated
    else if (option.spec.default !== undefined) {
      const read = (option.spec.value ?? text)(option.spec.default, `--${option.long}`)
      options[option.key] = option.spec.repeatable === true ? [read] : read
    }
  }
  checkArgs(spec, args)
  return { args, options }
}

/** Too few or too many positional arguments for `exec <script>`, `call <url> <method> [...args]`. */
function checkArgs (spec: CommandSpec, args: readonly string[]): void {
  const declared = [...spec.usage.matchAll(/([<[])(\.\.\.)?([^>\]]+)[>\]]/g)].map((m) => ({ required: m[1] === '<', variadic: m[2] !== undefined, name: m[3] }))
  const missing = declared.filter((d) => d.required)[args.length]
  if (missing !== undefined) throw CliError.usage(`missing <${missing.name}>`)
  if (!declared.some((d) => d.variadic) && args.length > declared.length) {
    const extra = args.slice(declared.length)
    throw CliError.usage(`unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((a) => JSON.stringify(a)).join(' ')}`)
  }
}

/** " (did you mean --port?)" for a near miss, else "". */
function suggest (typed: string, candidates: readonly string[]): string {
  const word = typed.split('=')[0]
  let best: string | null = null
  let bestDistance = 3
  for (const candidate of candidates) {
    const d = distance(word, candidate)
    if (d < bestDistance) { best = candidate; bestDistance = d }
  }
  return best === null ? '' : ` (did you mean ${best}?)`
}

/** Levenshtein distance, for suggestions. */
function distance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = row
  }
  return previous[b.length]
}
