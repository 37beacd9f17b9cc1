// nodevms verify <url> | --dir <dir>: fetch the log and files, replay, and print the verdict.
// stdout: the verdict (one JSON object with --json). stderr: progress (TTY only) and diagnostics.
import { ClientError } from '../client/node.js'
import { openHostDir, openRemote, verifyLog, type RemoteOptions, type VerifyDivergence, type VerifyReport, type VerifySource } from '../host/verify/index.js'
import { CliError, dim, green, red, useColour } from './output.js'
import { openSwarmRemote } from '../host/swarm/index.js'
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

/** Errors that mean "could not even start": exit 2 (CONTRACT §4). */
const USAGE_CODES = new Set(['USAGE', 'BAD_URL', 'CONNECTION_FAILED', 'CALL_TIMEOUT', 'CONNECTION_CLOSED', 'BAD_KEY',
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
    if (opts.dir !== undefined && target !== undefined) throw CliError.usage('give either a host <url> or --dir <dir>, not both')
    if (opts.dir === undefined && target === undefined) throw CliError.usage('give a host <url> (localhost:5555) or --dir <dir>; see nodevms verify --help')
    if (opts.dir !== undefined && (opts.files !== undefined || opts.log !== undefined || opts.store !== undefined)) throw CliError.usage('--files, --log and --store need a host <url>, not --dir')
    if (opts.dir === undefined) process.stderr.write(json ? '' : `${dim(`Fetching the call log and files from ${target}...`)}\n`)
    source = await openVerifySource(target, opts)
    const report = await verifyLog(source.log, source.drive, {
      allowEngineMismatch: opts.allowEngineMismatch === true,
      onProgress: (done, total) => progress.update(done, total)
    })
    progress.clear()
    if (report.ok) await source.remember(report.entries)
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
  if (opts.dir !== undefined) return await openHostDir(opts.dir)
  if (isDatTarget(target!)) return await openSwarmSource(target!, opts)
  return await openRemote(target!, { store: opts.store, expect: { log: opts.log, files: opts.files }, onReplicating })
}

/** verify dat://KEY: the log and files from whatever peers serve them on the swarm. */
async function openSwarmSource (target: string, opts: VerifyCliOptions): Promise<VerifySource> {
  const key = parseDatKey(target)
  const bootstrap = parseBootstrap(opts.bootstrap, 'verify dat://KEY')
  if (opts.store !== undefined) throw CliError.usage('--store is not supported with dat://KEY yet')
  if (opts.log !== undefined && parseDatKey(opts.log) !== key) throw CliError.usage(`--log ${opts.log} is not the key being verified`)
  const expectFiles = opts.files === undefined ? undefined : parseDatKey(opts.files, 'files archive')
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
  const message = e?.message ?? String(err)
  const toDivergence = MISMATCH_FIELDS[code]
  const divergence = toDivergence === undefined ? undefined : { index: null, method: null, caller: null, ...toDivergence((e.data ?? {}) as Record<string, unknown>), message }
  const exit = exitCodeOf(err)
  if (json) {
    process.stdout.write(JSON.stringify({ ok: false, entries: 0, calls: 0, ...(divergence ? { divergence } : {}), error: { code, message } }) + '\n')
  } else if (divergence !== undefined) {
    process.stdout.write(`${red('MISMATCH', process.stdout)}: ${message}\n`)
  } else {
    process.stderr.write(`${red('nodevms verify:')} ${message}\n`)
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
    lines.push(`${green('Verified', process.stdout)} ${r.entries} entries: ${r.calls} calls, ${r.oracles} oracle outcomes, ${r.restarts} restarts, ${r.upgrades} upgrades, in ${secs} s`)
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
