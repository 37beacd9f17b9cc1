// What a benchmark leaves behind if it is interrupted (Ctrl-C, SIGTERM): the servers and verify runs it
// started, and its temporary directories. They are stopped and removed before it exits, instead of servers
// running on with nobody to stop them. (A bench that ends normally stops and removes them itself.)
import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const children = new Set<ChildProcess>()
const dirs = new Set<string>()
let listening = false

function onInterrupt (signal: NodeJS.Signals): void {
  for (const child of children) child.kill('SIGKILL')
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  process.exit(signal === 'SIGINT' ? 130 : 143)
}

function listen (): void {
  if (listening) return
  listening = true
  process.once('SIGINT', onInterrupt)
  process.once('SIGTERM', onInterrupt)
}

/** Tracks `child` until it exits; returns it. */
export function tracked<T extends ChildProcess> (child: T): T {
  listen()
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** A new temporary directory named `nodevms-bench-<name>-…`, removed if the bench is interrupted. */
export async function benchDir (name: string): Promise<string> {
  listen()
  const dir = await mkdtemp(join(tmpdir(), `nodevms-bench-${name}-`))
  dirs.add(dir)
  return dir
}
