// nodevms exec <script>: run a backend script on a host directory and serve it over JSON-RPC.
import { readFileSync } from 'node:fs'
import { basename, extname, resolve } from 'node:path'
import { EngineError } from '../engine/index.js'
import { Host } from '../host/index.js'
import { hostService, OriginPolicy, RpcServer } from '../host/rpc/index.js'
import { CliError, printError } from './output.js'
import { startSwarm, type SwarmHandle } from '../host/swarm/index.js'
import { hyperLines, parseBootstrap } from './swarm-options.js'

export interface ExecOptions {
  port?: number | string
  host?: string
  dir?: string
  debug?: boolean
  seeded?: boolean
  gas?: number | string
  memory?: number | string
  timeout?: number | string
  new?: boolean
  swarm?: boolean
  bootstrap?: string | string[]
  anonymous?: boolean   // cac: --no-anonymous sets false
  allowOrigin?: unknown // --allow-origin LIST (a string; repeated, an array)
}

function positiveNumber (value: number | string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw CliError.usage(`${flag} needs a positive number, got ${JSON.stringify(value)}`)
  return n
}

/** --allow-origin: comma-separated origins or *, given once or more; a malformed value is a usage error. */
function originPolicy (value: unknown): OriginPolicy | undefined {
  if (value === undefined) return undefined
  const values = Array.isArray(value) ? value : [value]
  if (values.some((v) => typeof v !== 'string' && typeof v !== 'number')) throw CliError.usage('--allow-origin needs a value: comma-separated origins, or *')
  try {
    return OriginPolicy.parse(values.map(String).join(','))
  } catch (err) {
    throw CliError.usage((err as Error).message)
  }
}

function readScript (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : String((err as Error).message)
    throw CliError.usage(`cannot read the script ${path}: ${why}`)
  }
}

export async function runExec (script: string, opts: ExecOptions): Promise<() => Promise<void>> {
  const scriptPath = resolve(script)
  const source = readScript(scriptPath)
  if (opts.swarm !== true && opts.bootstrap !== undefined) throw CliError.usage('--bootstrap goes with --swarm: add --swarm to publish on the Dat network')
  const bootstrap = opts.swarm === true ? parseBootstrap(opts.bootstrap, 'exec --swarm') : null
  const port = opts.port === undefined ? 5555 : Number(opts.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw CliError.usage(`--port needs a port number (0 picks a free one), got ${JSON.stringify(opts.port)}`)
  const gas = positiveNumber(opts.gas, '--gas')
  const memoryMb = positiveNumber(opts.memory, '--memory')
  const timeoutS = positiveNumber(opts.timeout, '--timeout')
  const dir = resolve(opts.dir ?? basename(scriptPath, extname(scriptPath)))
  const listenHost = opts.host ?? 'localhost'
  const origins = originPolicy(opts.allowOrigin)

  let server: RpcServer | null = null
  let swarm: SwarmHandle | null = null
  let stopping: Promise<void> | null = null
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await swarm?.close()
      await server?.close()
      await host.close()
    })()
    return stopping
  }
  const host = new Host({
    source,
    filename: basename(scriptPath),
    dir,
    seeded: opts.seeded === true,
    gasLimit: gas,
    memoryLimit: memoryMb === undefined ? undefined : Math.round(memoryMb * 1024 * 1024),
    timeoutMs: timeoutS === undefined ? undefined : Math.round(timeoutS * 1000),
    refuseUpgrade: opts.new === true,
    // The store is damaged or failed: the host has stopped taking calls, so the process stops too (exit 1).
    onFailure: (err) => {
      printError(err)
      void stop().finally(() => process.exit(1))
    },
    // A full disk made the host reopen its store: the swarm follows the new one.
    onReopen: async () => {
      if (swarm === null) return
      await swarm.close()
      swarm = await startSwarm(host.store, { bootstrap: bootstrap!, topics: [host.log.core, host.drive.core] })
    }
  })
  try {
    await host.ready()
  } catch (err) {
    if (err instanceof EngineError) throw new CliError(err.message, 1, err.code)
    throw err
  }
  server = new RpcServer({ service: hostService(host, { allowAnonymous: opts.anonymous !== false }), host: listenHost, port, debug: opts.debug === true, origins })
  try {
    await server.open()
  } catch (err) {
    await host.close()
    throw err
  }
  if (bootstrap !== null) {
    try {
      swarm = await startSwarm(host.store, { bootstrap, topics: [host.log.core, host.drive.core] })
    } catch (err) {
      await server.close()
      await host.close()
      throw err
    }
  }
  if (host.report.upgraded) process.stderr.write(`Logged an upgrade: ${basename(scriptPath)} differs from the script in the log.\n`)
  process.stdout.write(`Serving at ${listenHost}:${server.port}\n`)
  process.stdout.write(`Serving directory ${dir}\n`)
  process.stdout.write(`Files:    dat://${host.filesKey}\n`)
  process.stdout.write(`Call log: dat://${host.callLogKey}\n`)
  if (swarm !== null) {
    for (const line of hyperLines(host)) process.stdout.write(line + '\n')
    process.stderr.write(`Announced on the Dat network (bootstrap ${bootstrap!.map((n) => `${n.host}:${n.port}`).join(',')})\n`)
  }
  if (opts.anonymous === false) process.stderr.write('Signed calls only (--no-anonymous): unsigned calls are refused.\n')
  if (opts.debug === true) process.stderr.write('Debug mode: clients may name themselves with ?user=NAME. Do not use it in production.\n')
  if (opts.debug === true && origins?.allowsAny === true) process.stderr.write('--allow-origin * with --debug: any web page the user opens may call this host as any debug user.\n')
  return stop
}
