// nodevms seed dat://<log key> --dir <dir> --bootstrap HOST:PORT[,...]: a mirror that verifies as it follows.
// stdout: "Verified <N> entries" each time the log is checked up to a new length N; "MISMATCH ..." once.
// stderr: what is mirrored, where, and warnings.
import { resolve } from 'node:path'
import type { MirrorMismatch } from '../host/swarm/index.js'
import type { Invocation, ServeCommand } from './command-spec.js'
import { CliError, red } from './output.js'
import { parseBootstrap, parseDatKey, hyperUrl } from './swarm-options.js'
import { formatReport } from './verify.js'

export interface SeedOptions {
  dir?: string
  bootstrap?: string | string[]
  allowEngineMismatch?: boolean
}

export const seedCommand: ServeCommand = {
  usage: 'seed <key>',
  description: 'Mirror a backend by its call log key: follow, verify and serve it on the Dat network',
  options: [
    { flags: '--dir <dir>', description: 'Where the mirror keeps its copy of the log and files; required', defaultText: 'none' },
    { flags: '--bootstrap <nodes>', description: 'DHT bootstrap nodes HOST:PORT[,...], required; the public DHT is never used by default', repeatable: true, defaultText: 'none' },
    { flags: '--allow-engine-mismatch', description: 'Replay even if the log was written by another engine version' }
  ],
  check ({ args: [key], options }) {
    parseDatKey(key)
    if (options.dir === undefined || options.dir === '') throw CliError.usage('seed needs --dir <dir>: where the mirror keeps its copy of the log and files')
    parseBootstrap(options.bootstrap, 'seed')
  },
  serve: ({ args: [key], options }: Invocation) => runSeed(key, options as SeedOptions)
}

/**
 * Starts the mirror (check() has run); resolves once it is announced. The returned stop() closes it and
 * gives the exit code.
 */
export async function runSeed (target: string, opts: SeedOptions): Promise<() => Promise<number>> {
  const logKey = parseDatKey(target)
  const bootstrap = parseBootstrap(opts.bootstrap, 'seed')
  const dir = resolve(opts.dir!)
  const { Mirror } = await import('../host/swarm/index.js') // here, not at the top: help should not wait for Hyperswarm
  const mirror = new Mirror({
    logKey,
    dir,
    bootstrap,
    verify: { allowEngineMismatch: opts.allowEngineMismatch === true },
    onVerified: (entries) => { process.stdout.write(`Verified ${entries} entries\n`) },
    onMismatch: (m) => { process.stdout.write(formatMismatch(m, logKey)) },
    onFiles: (filesKey) => { process.stderr.write(`Files:    dat://${filesKey}\n`) },
    onWarning: (message) => { process.stderr.write(`warning: ${message}\n`) }
  })
  await mirror.ready()
  process.stderr.write(`Mirroring call log dat://${logKey} (${hyperUrl(logKey)}) into ${dir}\n`)
  process.stderr.write(`Serving it on the swarm (bootstrap ${bootstrap.map((n) => `${n.host}:${n.port}`).join(',')})\n`)
  return async () => {
    await mirror.close()
    return mirror.mismatch === null ? 0 : 1
  }
}

/** The MISMATCH block: the verifier's own report for a divergence, a short one for a fork. */
export function formatMismatch (m: MirrorMismatch, logKey: string): string {
  if (m.kind === 'divergence') return formatReport(m.report) + 'The mirror keeps serving what it holds.\n'
  const what = m.kind === 'fork' ? `the call log was rewritten: ${m.message}` : m.message
  return `${red('MISMATCH', process.stdout)}: ${what}\nCall log:   dat://${logKey}\nThe mirror keeps serving what it holds.\n`
}
