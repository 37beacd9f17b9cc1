// nodevms verify <url> | --dir <dir>: fetch the log and files, replay, and print the verdict.
// stdout: the verdict (one JSON object with --json). stderr: progress (TTY only) and diagnostics.
import { ClientError } from '../client/node.js'
import type { RemoteOptions, VerifyDivergence, VerifyReport, VerifySource } from '../host/verify/index.js'
import { positive, usageLines, type Invocation, type OptionSpec, type RunCommand } from './command-spec.js'
import { CliError, dim, explain, green, red, useColour } from './output.js'
import { isDatTarget, parseBootstrap, parseDatKey, parseSeconds } from './swarm-options.js'

export interface VerifyCliOptions {
  files?: string
  log?: string
  json?: boolean
  dir?: string
  store?: string
  allowEngineMismatch?: boolean
  bootstrap?: string | string[]
  timeout?: number | string
}

/** Where the log and files come from, and what to expect of them: shared by verify and explore. */
export const SOURCE_OPTIONS: OptionSpec[] = [
  { flags: '--dir <dir>', description: 'A stopped host\'s directory, read offline instead of a host <url>', defaultText: 'none' },
  { flags: '--files <key>', description: 'The files archive key you expect (dat://, hyper:// or hex)', defaultText: 'any' },
  { flags: '--log <key>', description: 'The call log key you expect (dat://, hyper:// or hex)', defaultText: 'any' },
  { flags: '--bootstrap <nodes>', description: 'With dat://KEY, required: DHT bootstrap nodes HOST:PORT[,...]; the public DHT is never used by default', repeatable: true, defaultText: 'none' },
  { flags: '--timeout <seconds>', description: 'How long to wait for the host to answer (with dat://KEY: for peers), in seconds', default: '30', value: positive },
  { flags: '--allow-engine-mismatch', description: 'Replay even if the log was written by another engine version' }
]

export const verifyCommand: RunCommand = {
  usage: 'verify [url]',
  description: 'Replicate a host\'s call log and files, replay every call, and prove the state',
  options: [
    ...SOURCE_OPTIONS,
    { flags: '--json', description: 'Print one JSON object' },
    { flags: '--store <dir>', description: 'Keep the replicated cores here, to catch a host that rewrites history later', defaultText: 'a temporary directory' }
  ],
  run: ({ args: [url], options }: Invocation) => runVerify(url, options as VerifyCliOptions)
}

/** What verify (and explore) need before they fetch anything: a host url, a dat://KEY or a directory, and options that fit it. */
export function checkTarget (target: string | undefined, opts: VerifyCliOptions): void {
  if (opts.dir !== undefined && target !== undefined) throw CliError.usage('give either a host <url> (or dat://KEY) or --dir <dir>, not both')
  if (opts.dir === undefined && target === undefined) throw CliError.usage('give a host <url> (localhost:5555), a dat://KEY or --dir <dir>')
  if (opts.dir !== undefined && (opts.files !== undefined || opts.log !== undefined || opts.store !== undefined)) throw CliError.usage('--files, --log and --store need a host <url> or dat://KEY, not --dir')
  if (target !== undefined && isDatTarget(target)) {
    parseDatKey(target)
    parseBootstrap(opts.bootstrap, 'a dat://KEY')
    if (opts.store !== undefined) throw CliError.usage('--store is not supported with dat://KEY yet')
  } else if (opts.bootstrap !== undefined) {
    throw CliError.usage('--bootstrap goes with a dat://KEY (a host url needs no DHT)')
  }
}

/** Errors that mean "could not even start": exit 2 (CONTRACT §4). */
const USAGE_CODES = new Set(['USAGE', 'BAD_URL', 'CONNECTION_FAILED', 'CONNECTION_REFUSED', 'CALL_TIMEOUT', 'CONNECTION_CLOSED', 'BAD_KEY',
  'NOT_A_NODEVMS_HOST', 'NOT_A_NODEVMS_LOG', 'HOST_RUNNING', 'NOT_A_HOST_DIR', 'NO_PEERS', 'SWARM_NO_BOOTSTRAP'])
/** Errors that are a verdict: the host is not what it claims. */
const MISMATCH_FIELDS: Record<string, (data: Record<string, unknown>) => Pick<VerifyDivergence, 'field' | 'expected' | 'actual'>> = {
  KEY_MISMATCH: (d) => ({ field: d.what === 'call log' ? 'log.key' : 'files.key', expected: d.given, actual: d.served }),
  HISTORY_REWRITTEN: (d) => ({ field: 'log.history', expected: `the ${String(d.verifiedLength)} entries verified before`, actual: d.detail }),
  BLOCKS_REFUSED: (d) => ({ field: String(d.field), expected: d.expected, actual: d.actual })
}

/** Runs verify and returns the exit code: 0 verified, 1 mismatch or failure, 2 usage or unreachable. */
export async function runVerify (target: string | undefined, opts: VerifyCliOptions): Promise<number> {
  const json = opts.json === true
  const warn = (message: string) => { if (!json) process.stderr.write(`${dim('warning:')} ${message}\n`) }
  let source: VerifySource | null = null
  const progress = new Progress(!json && process.stderr.isTTY === true)
  try {
    checkTarget(target, opts)
    // Loaded here, not at the top: help and usage errors should not wait for Hypercore.
    const { verifyLog } = await import('../host/verify/index.js')
    if (opts.dir === undefined) process.stderr.write(json ? '' : `${dim(`Fetching the call log and files from ${target}...`)}\n`)
    source = await openVerifySource(target, opts)
    const report = await verifyLog(source.log, source.drive, {
      allowEngineMismatch: opts.allowEngineMismatch === true,
      onProgress: (done, total) => progress.update(done, total)
    })
    progress.clear()
    if (report.ok) await source.remember(report.entries)
    report.warnings.unshift(...(source.warnings ?? []))
    for (const w of report.warnings) warn(w)
    process.stdout.write(json ? JSON.stringify(report) + '\n' : formatReport(report))
    return report.ok ? 0 : 1
  } catch (err) {
    progress.clear()
    return failure(source?.explain?.(err) ?? err, json)
  } finally {
    await source?.close()
  }
}

/**
 * The log and files to verify: a stopped host's --dir, a dat:// key on the swarm, or a host's URL.
 * onReplicating (URL only) sees the log and files while they are still being fetched.
 */
export async function openVerifySource (target: string | undefined, opts: VerifyCliOptions, onReplicating?: RemoteOptions['onReplicating']): Promise<VerifySource> {
  const { openHostDir, openRemote } = await import('../host/verify/index.js')
  if (opts.dir !== undefined) return await openHostDir(opts.dir)
  if (isDatTarget(target!)) return await openSwarmSource(target!, opts)
  return await openRemote(target!, { store: opts.store, expect: { log: opts.log, files: opts.files }, onReplicating, timeout: parseSeconds(opts.timeout, '--timeout') })
}

/** verify dat://KEY: the log and files from whatever peers serve them on the swarm. */
async function openSwarmSource (target: string, opts: VerifyCliOptions): Promise<VerifySource> {
  const key = parseDatKey(target)
  const bootstrap = parseBootstrap(opts.bootstrap, 'verify dat://KEY')
  if (opts.log !== undefined && parseDatKey(opts.log) !== key) throw CliError.usage(`--log ${opts.log} is not the key being verified`)
  const expectFiles = opts.files === undefined ? undefined : parseDatKey(opts.files, 'files archive')
  const { openSwarmRemote } = await import('../host/swarm/index.js')
  return await openSwarmRemote(key, { bootstrap, timeoutMs: parseSeconds(opts.timeout, '--timeout'), expectFiles })
}

/** The code of an error that stopped verify before a verdict. */
function errorCode (err: unknown): string {
  const e = err as Error & { code?: unknown }
  // The client refuses a handshake without a methods list: that server is not a nodevms host.
  if (err instanceof TypeError && /is not a nodevms host/.test(e.message)) return 'NOT_A_NODEVMS_HOST'
  return typeof e?.code === 'string' ? e.code : 'ERROR'
}

/** The exit code for an error that stopped verify (or explore) before a verdict: 2 when it could not even start. */
export function exitCodeOf (err: unknown): number {
  return USAGE_CODES.has(errorCode(err)) || err instanceof ClientError ? 2 : 1
}

function failure (err: unknown, json: boolean): number {
  const e = err as Error & { code?: unknown, data?: unknown }
  const code = errorCode(err)
  const message = explain(err)
  const toDivergence = MISMATCH_FIELDS[code]
  const divergence = toDivergence === undefined ? undefined : { index: null, method: null, caller: null, ...toDivergence((e.data ?? {}) as Record<string, unknown>), message }
  const exit = exitCodeOf(err)
  if (json) {
    process.stdout.write(JSON.stringify({ ok: false, entries: 0, calls: 0, ...(divergence ? { divergence } : {}), error: { code, message } }) + '\n')
  } else if (divergence !== undefined) {
    process.stdout.write(`${red('MISMATCH', process.stdout)}: ${message}\n`)
  } else {
    process.stderr.write(`${red('nodevms verify:')} ${message}\n`)
    if (code === 'USAGE') process.stderr.write(usageLines(verifyCommand).join('\n') + '\n')
  }
  return exit
}

const show = (value: unknown, max = 200): string => {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)
  return text.length > max ? text.slice(0, max) + '…' : text
}

/** The human verdict. */
export function formatReport (r: VerifyReport): string {
  const lines: string[] = []
  const secs = (r.ms / 1000).toFixed(r.ms < 10_000 ? 2 : 1)
  if (r.ok) {
    lines.push(`${green('Verified', process.stdout)} ${r.entries} entries: ${r.calls} calls${r.limitHits > 0 ? ` (${r.limitHits} that hit a limit and had no effect)` : ''}, ${r.oracles} oracle outcomes, ${r.restarts} restarts, ${r.upgrades} upgrades, in ${secs} s`)
  } else {
    const d = r.divergence!
    const where = d.type === 'end' ? `the files archive, after the last entry (${r.entries} entries replayed)` : `entry ${d.index} (${d.type}${d.method !== null ? ` ${d.method}` : ''})`
    lines.push(`${red('MISMATCH', process.stdout)} at ${where}: ${d.message}`)
    if (d.method !== null) lines.push(`  method:   ${d.method}`, `  caller:   ${d.caller ?? 'null'}`)
    lines.push(`  field:    ${d.field}`, `  expected: ${show(d.expected)}`, `  found:    ${show(d.actual)}`)
    if (d.paths !== undefined && d.paths.length > 0) lines.push(`  paths:    ${d.paths.join(', ')}`)
    for (const p of d.previews ?? []) lines.push(`    ${p.path}`, `      expected: ${p.expected ?? '(no file)'}`, `      found:    ${p.actual ?? '(no file)'}`)
    lines.push(`  ${r.entries} entries verified before it (${r.calls} calls), in ${secs} s`)
  }
  lines.push(`Call log:   dat://${r.logKey}`)
  lines.push(`Files:      dat://${r.filesKey} (version ${r.filesVersion})`)
  lines.push(`State root: ${r.stateRoot}`)
  return lines.join('\n') + '\n'
}

/** Entries/s and ETA on stderr, redrawn in place; only on a TTY, only for long logs. */
class Progress {
  private readonly started = Date.now()
  private last = 0
  private shown = false
  constructor (private readonly enabled: boolean) {}

  update (done: number, total: number): void {
    if (!this.enabled || total < 2000) return
    const now = Date.now()
    if (now - this.last < 200 && done < total) return
    this.last = now
    const rate = done / Math.max((now - this.started) / 1000, 0.001)
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0
    const line = `verifying ${done}/${total} entries, ${Math.round(rate)} entries/s, ETA ${eta} s`
    process.stderr.write(`\r${useColour(process.stderr) ? dim(line) : line}\u001b[K`)
    this.shown = true
  }

  clear (): void {
    if (this.shown) process.stderr.write('\r\u001b[K')
    this.shown = false
  }
}
