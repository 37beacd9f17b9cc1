// Spawning the built CLI (dist/cli/index.js) in tests. Every child spawned here is tracked: call
// stopAll() in an `after` hook so a failing test leaves no host running.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const CLI_PATH = fileURLToPath(new URL('../../cli/index.js', import.meta.url))
export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url))

export interface SpawnOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** How long to wait for the four start-up lines (default 20 s). */
  timeoutMs?: number
}

export interface RunOptions extends SpawnOptions {
  /** Written to stdin, which is then closed; without it stdin is ignored. */
  input?: string
}

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

/** A running `nodevms exec`, after it printed its four start-up lines. */
export interface ServingCli {
  port: number
  dir: string
  filesKey: string
  logKey: string
  /** The four start-up lines, exactly as printed. */
  lines: string[]
  child: ChildProcess
  /** Everything the child wrote so far. */
  stdout (): string
  stderr (): string
  /** Sends signal (default SIGTERM) and resolves with the exit; SIGKILLs after 10 s. */
  stop (signal?: NodeJS.Signals): Promise<Exit>
  /** Resolves when the child exits by itself. */
  exited: Promise<Exit>
}

export interface CliResult { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

const children = new Set<ChildProcess>()
const temps = new Set<string>()

const START = [
  /^Serving at [^\s:]+:(\d+)$/,
  /^Serving directory (.+)$/,
  /^Files: {4}dat:\/\/([0-9a-f]{64})$/,
  /^Call log: dat:\/\/([0-9a-f]{64})$/
]

function track (child: ChildProcess): Promise<Exit> {
  children.add(child)
  return new Promise((resolve) => child.once('exit', (code, signal) => {
    children.delete(child)
    resolve({ code, signal })
  }))
}

/** Spawns `node <args>`, tracked for stopAll(), with its output collected as it comes. */
function launch (args: string[], opts: RunOptions) {
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']
  })
  const exited = track(child)
  const output = { stdout: '', stderr: '' }
  child.stdout!.on('data', (d) => { output.stdout += d })
  child.stderr!.on('data', (d) => { output.stderr += d })
  if (opts.input !== undefined) child.stdin!.end(opts.input)
  return { child, exited, output }
}

/** Sends signal (default SIGTERM) and resolves with the exit; SIGKILLs after 10 s. */
function stopper (child: ChildProcess, exited: Promise<Exit>) {
  return async (signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> => {
    if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode }
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const exit = await exited
    clearTimeout(timer)
    return exit
  }
}

/** Starts `nodevms <args>` (usually `exec …`) and resolves once the four CONTRACT §4 lines are out. */
export function spawnCli (args: string[], opts: SpawnOptions = {}): Promise<ServingCli> {
  const { child, exited, output } = launch([CLI_PATH, ...args], opts)
  const stop = stopper(child, exited)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void stop('SIGKILL'); reject(new Error(`nodevms ${args.join(' ')} did not start within ${opts.timeoutMs ?? 20_000} ms.\nstdout: ${output.stdout}\nstderr: ${output.stderr}`)) }, opts.timeoutMs ?? 20_000)
    const onData = () => {
      const lines = output.stdout.split('\n')
      if (lines.length < 5) return
      child.stdout!.off('data', onData)
      clearTimeout(timer)
      const first = lines.slice(0, 4)
      const matches = first.map((line, i) => START[i].exec(line))
      if (matches.some((m) => m === null)) {
        void stop('SIGKILL')
        reject(new Error(`nodevms printed unexpected start-up lines:\n${first.join('\n')}`))
        return
      }
      resolve({
        port: Number(matches[0]![1]), dir: matches[1]![1], filesKey: matches[2]![1], logKey: matches[3]![1],
        lines: first, child, stdout: () => output.stdout, stderr: () => output.stderr, stop, exited
      })
    }
    child.stdout!.on('data', onData)
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`nodevms ${args.join(' ')} exited (${code ?? signal}) before serving.\nstdout: ${output.stdout}\nstderr: ${output.stderr}`))
    })
  })
}

/** A running `nodevms explore`, after it printed `Explorer at <url>`. */
export interface ExploringCli {
  /** The page's address, as printed. */
  url: string
  child: ChildProcess
  stdout (): string
  stderr (): string
  stop (signal?: NodeJS.Signals): Promise<Exit>
  exited: Promise<Exit>
}

/** Starts `nodevms explore <args>` and resolves once it printed `Explorer at http://HOST:PORT/`. */
export function spawnExplore (args: string[], opts: SpawnOptions = {}): Promise<ExploringCli> {
  const { child, exited, output } = launch([CLI_PATH, 'explore', ...args], opts)
  const stop = stopper(child, exited)
  return new Promise((resolve, reject) => {
    const ms = opts.timeoutMs ?? 30_000
    const timer = setTimeout(() => { void stop('SIGKILL'); reject(new Error(`nodevms explore ${args.join(' ')} printed no address within ${ms} ms.\nstdout: ${output.stdout}\nstderr: ${output.stderr}`)) }, ms)
    const onData = () => {
      const match = /^Explorer at (http:\/\/[^\s]+\/)$/m.exec(output.stdout)
      if (match === null) return
      child.stdout!.off('data', onData)
      clearTimeout(timer)
      resolve({ url: match[1], child, stdout: () => output.stdout, stderr: () => output.stderr, stop, exited })
    }
    child.stdout!.on('data', onData)
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`nodevms explore ${args.join(' ')} exited (${code ?? signal}) before its page was ready.\nstdout: ${output.stdout}\nstderr: ${output.stderr}`))
    })
  })
}

/** Runs `node <args>` to completion (SIGKILL after timeoutMs, default 20 s); resolves once its output is all read. */
export function runNode (args: string[], opts: RunOptions = {}): Promise<CliResult> {
  const { child, output } = launch(args, opts)
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000)
  return new Promise((resolve) => child.once('close', (code, signal) => {
    clearTimeout(timer)
    resolve({ code, signal, ...output })
  }))
}

/** Runs `nodevms <args>` to completion, as runNode does. */
export function runCli (args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return runNode([CLI_PATH, ...args], opts)
}

/** A port nothing listens on: bound, then released. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A temp dir removed by stopAll(). */
export async function tempDir (prefix = 'nodevms-cli-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  temps.add(dir)
  return dir
}

/** Kills every child spawned here that is still running, and removes the temp dirs. For `after` hooks. */
export async function stopAll (): Promise<void> {
  await Promise.all([...children].map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })))
  for (const dir of temps) await rm(dir, { recursive: true, force: true })
  temps.clear()
}
