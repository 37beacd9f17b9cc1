// nodevms explore <url | dat://KEY | --dir DIR>: fetch and verify a backend as verify does, follow it live,
// and show it in a web page served on the auditor's own machine.
// stdout: "Explorer at http://HOST:PORT/" once the page is ready. stderr: what is explored, diagnostics.
// Exit codes as verify's: 2 when it cannot start (usage, unreachable host, port in use), 1 when it is
// stopped after finding a mismatch (or a --log/--files key differs), 0 otherwise.
import type { VerifySource } from '../host/verify/index.js'
import { port, type Invocation, type ServeCommand } from './command-spec.js'
import { CliError, dim, explain } from './output.js'
import { checkTarget, exitCodeOf, openVerifySource, SOURCE_OPTIONS, type VerifyCliOptions } from './verify.js'

const CLOSE_GRACE_MS = 5000

export interface ExploreOptions extends Pick<VerifyCliOptions, 'dir' | 'files' | 'log' | 'bootstrap' | 'timeout' | 'allowEngineMismatch'> {
  port: number
  host: string
}

export const exploreCommand: ServeCommand = {
  usage: 'explore [url]',
  description: 'Verify a host\'s log as verify does, follow it live, and watch it in a web page on this machine',
  options: [
    { flags: '--port <port>', description: 'Port for the page; 0 picks a free port', default: '0', value: port },
    { flags: '--host <host>', description: 'Address for the page', default: 'localhost' },
    ...SOURCE_OPTIONS
  ],
  check: ({ args: [url], options }) => checkTarget(url, options as VerifyCliOptions),
  serve: ({ args: [url], options }: Invocation) => runExplore(url, options as unknown as ExploreOptions)
}

/**
 * Starts the explorer (check() has run); resolves once the page is ready. The returned stop() closes it and
 * gives the exit code.
 */
export async function runExplore (target: string | undefined, opts: ExploreOptions): Promise<() => Promise<number>> {
  const what = opts.dir ?? target!
  const { Explorer } = await import('../host/explore/index.js') // here, not at the top: help should not wait for Hypercore

  const explorer = new Explorer({ target: what, host: opts.host, port: opts.port, verify: { allowEngineMismatch: opts.allowEngineMismatch === true } })
  try {
    await explorer.listen()
  } catch (err) {
    throw stopped(err, 2) // the port is taken, or the address cannot be used: choose another
  }
  process.stderr.write(`${dim(`Fetching the call log and files from ${what}...`)}\n`)
  // The page is ready once the source answered: a host's keys are checked and the fetch runs (its
  // progress shows on the page), or a directory or dat:// source is open.
  let fetching: () => void = () => {}
  const started = new Promise<void>((resolve) => { fetching = resolve })
  const opening: Promise<VerifySource> = openVerifySource(target, opts, (log, drive) => {
    explorer.watch(log, drive)
    fetching()
  })
  try {
    await Promise.race([started, opening])
  } catch (err) {
    await explorer.close()
    throw stopped(err)
  }
  let stopping = false
  opening.then((source) => explorer.follow(source), async (err) => {
    if (stopping) return
    // The host went away while the page was up: the same error and exit code as verify's.
    process.stderr.write(`nodevms explore: ${explain(err)}\n`)
    await explorer.close()
    process.exit(exitCodeOf(err))
  })
  process.stdout.write(`Explorer at ${explorer.url}\n`)
  return async () => {
    stopping = true
    await explorer.close()
    // A source still being fetched is closed by the explorer when it arrives: give it a moment.
    await Promise.race([opening.catch(() => {}), new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())])
    return explorer.verdict === 'mismatch' ? 1 : 0
  }
}

/** An error that stopped explore before the page was ready, with verify's exit code (or `exit`). */
function stopped (err: unknown, exit = exitCodeOf(err)): CliError {
  if (err instanceof CliError) return err
  const code = (err as { code?: unknown })?.code
  return new CliError(explain(err), exit, typeof code === 'string' ? code : 'ERROR')
}
