// nodevms dev <script>: for script authors. The host runs in a throwaway directory; every save of the script
// starts it again with a fresh call log (under exec, a changed script is refused unless --upgrade logs it for good); the
// per-call lines are on, and a REPL with a connected `client` reads stdin (a terminal or a pipe).
// The server and its port outlive each reload; the REPL's client reconnects to pick up the new methods.
import { watch, type FSWatcher } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import type { Duplex } from 'node:stream'
import { connect } from '../client/node.js'
import type { Host } from '../host/index.js'
import type { CallContext, Service } from '../host/rpc/index.js'
import type { Invocation, Lifetime, ServeCommand } from './command-spec.js'
import { hostLimits, LISTEN_OPTIONS, readScript, SCRIPT_OPTIONS, scriptFailure, type ExecOptions } from './exec.js'
import { HostLines, servingLines } from './host-lines.js'
import { explain } from './output.js'
import { startReplSession, type ReplSession } from './repl.js'

export interface DevOptions extends Omit<ExecOptions, 'dir' | 'fresh' | 'upgrade' | 'swarm' | 'bootstrap' | 'anonymous'> {
  repl?: boolean // --no-repl sets false
}

export const devCommand: ServeCommand = {
  usage: 'dev <script>',
  description: 'Develop a script: a throwaway host that starts again with a fresh log on every save, with a REPL',
  options: [
    ...LISTEN_OPTIONS,
    ...SCRIPT_OPTIONS,
    { flags: '--no-repl', description: 'Serve only, without a REPL on stdin' }
  ],
  serve: ({ args: [script], options }: Invocation, lifetime: Lifetime) => runDev(script, options as unknown as DevOptions, lifetime)
}

/** A Service whose host is replaced on each reload, so the server, its port and its sockets stay. */
class ReloadableService implements Service {
  constructor (private current: Service) {}
  use (next: Service): void { this.current = next }
  get methods (): string[] { return this.current.methods }
  handshakeInfo (): Record<string, unknown> { return this.current.handshakeInfo() }
  call (method: string, params: unknown[], ctx: CallContext, raw: Record<string, unknown>) { return this.current.call(method, params, ctx, raw) }
  replicate (stream: Duplex): void { this.current.replicate?.(stream) }
}

const SAVE_SETTLE_MS = 100 // editors write a file in more than one step

export async function runDev (script: string, opts: DevOptions, lifetime: Lifetime): Promise<() => Promise<void>> {
  const scriptPath = resolve(script)
  const filename = basename(scriptPath)
  let source = readScript(scriptPath)
  const root = await mkdtemp(join(tmpdir(), 'nodevms-dev-'))
  const lines = new HostLines({ quiet: opts.quiet })
  let generation = 0
  // Loaded here, not at the top: help and usage errors should not wait for Hypercore.
  const [{ Host }, { hostService, RpcServer }] = await Promise.all([import('../host/index.js'), import('../host/rpc/index.js')])

  /** A host on a fresh directory under root; a script that does not load leaves nothing behind. */
  const startHost = async (text: string): Promise<Host> => {
    const dir = join(root, String(++generation))
    // The directory is thrown away: syncing each write, or auditing the store, would only slow the author down.
    const next = new Host({ source: text, filename, dir, ...hostLimits(opts), onCall: lines.onCall, warn: lines.warn, syncWrites: false, audit: false })
    try {
      await next.ready()
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw scriptFailure(err)
    }
    return next
  }
  const serviceOf = (h: Host) => hostService(h, { onRefused: lines.onRefused })

  let host: Host
  try {
    host = await startHost(source)
  } catch (err) {
    await rm(root, { recursive: true, force: true })
    throw err
  }
  const service = new ReloadableService(serviceOf(host))
  const server = new RpcServer({ service, host: opts.host, port: opts.port, debug: opts.debug === true })
  try {
    await server.open()
  } catch (err) {
    await host.close()
    await rm(root, { recursive: true, force: true })
    throw err
  }
  process.stdout.write(servingLines(`${opts.host}:${server.port}`, host))
  lines.started(host, filename)
  process.stderr.write(`dev: the directory is thrown away when dev stops; each save of ${filename} starts it again with a fresh log.\n`)

  let session: ReplSession | null = null
  if (opts.repl !== false) {
    session = startReplSession(await connect(server.url))
    void session.ended.then((code) => lifetime.end(code))
  }

  // Reloads run one at a time; a save during a reload is picked up when it ends.
  let reloading: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | null = null
  const reload = async () => {
    let text: string
    try {
      text = await readFile(scriptPath, 'utf8')
    } catch {
      return // mid-save, or moved away: the next save brings it back
    }
    if (text === source) return
    source = text
    let next: Host
    try {
      next = await startHost(text)
    } catch (err) {
      // The engine's advice is exec's ("start again"); here, saving the fixed script is enough.
      const why = explain(err).replace(/ Fix the script and start again\.$/, '')
      process.stderr.write(`${why}\ndev: still serving the previous version of ${filename}; save it again once it is fixed.\n`)
      return
    }
    const previous = host
    host = next
    service.use(serviceOf(next))
    await previous.close()
    await rm(previous.dir, { recursive: true, force: true })
    // The REPL's client is swapped before the reload is announced, so a line typed after it sees the new methods.
    if (session !== null) session.setClient(await connect(server.url))
    lines.reloaded(next, filename)
  }
  const watcher: FSWatcher = watch(dirname(scriptPath), (_event, name) => {
    if (name !== filename) return
    if (timer !== null) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = null
      reloading = reloading.then(reload).catch((err: unknown) => { process.stderr.write(`dev: reload failed: ${explain(err)}\n`) })
    }, SAVE_SETTLE_MS)
  })

  return async () => {
    watcher.close()
    if (timer !== null) clearTimeout(timer)
    await reloading
    await session?.close()
    await server.close()
    await host.close()
    lines.closed()
    await rm(root, { recursive: true, force: true })
  }
}
