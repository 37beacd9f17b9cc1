// Swarm tests and benchmarks run only inside a network namespace that has nothing but loopback: a DHT node
// announces every interface it has, and outside loopback nothing may be contacted from these machines.
//
// loopbackOnly(file) in a test file:
//   - inside such a namespace (NODEVMS_NETNS set, and only `lo` up): returns 'inside'; run the tests;
//   - otherwise: makes a namespace, runs `node file` in it, relays its output, deletes the namespace,
//     sets the exit code and returns 'relayed'; the caller does nothing more;
//   - when no namespace can be made (not root, no `ip`): returns 'skip' after a loud message.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { networkInterfaces } from 'node:os'

export const NETNS_ENV = 'NODEVMS_NETNS'
const PREFIX = 'nodevms-test-'

export type Where = 'inside' | 'relayed' | 'skip'

/** True when every network interface of this process is loopback. */
export function onlyLoopback (): boolean {
  const names = Object.entries(networkInterfaces())
  return names.every(([, addrs]) => (addrs ?? []).every((a) => a.internal))
}

function ip (args: string[]): { ok: boolean, out: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' })
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? r.error?.message ?? ''}`.trim() }
}

/** Namespaces an earlier run of ours left when it was killed (its pid is gone). */
function removeStale (): void {
  const list = ip(['netns', 'list'])
  for (const line of list.out.split('\n')) {
    const name = line.split(' ')[0]
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1])
    if (!Number.isInteger(pid)) continue
    try { process.kill(pid, 0) } catch { ip(['netns', 'del', name]) }
  }
}

export function loud (message: string): void {
  const bar = '!'.repeat(78)
  process.stderr.write(`\n${bar}\n!! ${message.split('\n').join('\n!! ')}\n${bar}\n\n`)
}

/** Where this process stands: inside a loopback-only namespace we made, or able to make one. */
export function inNamespace (): boolean {
  if (process.env[NETNS_ENV] === undefined) return false
  if (!onlyLoopback()) throw new Error(`${NETNS_ENV} is set but this process sees interfaces other than loopback: refusing to start a swarm here`)
  return true
}

/** Why no namespace can be made here, or null when one can (root and `ip netns` work). */
export function cannotMakeNamespace (): string | null {
  if (process.getuid?.() !== 0) return 'making a network namespace needs root (ip netns)'
  const probe = ip(['netns', 'list'])
  return probe.ok ? null : `ip netns does not work here: ${probe.out || 'failed'}`
}

/**
 * Runs `node file args` inside a fresh loopback-only namespace (NETNS_ENV set in it) and deletes the
 * namespace afterwards. stdout is relayed, or captured and returned with stdout: 'pipe'.
 */
export async function runInNamespace (file: string, args: string[], opts: { stdout?: 'inherit' | 'pipe' } = {}): Promise<{ code: number, stdout: string }> {
  const reason = cannotMakeNamespace()
  if (reason !== null) throw new Error(reason)
  removeStale()
  const name = `${PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`
  const made = ip(['netns', 'add', name])
  if (!made.ok) throw new Error(`ip netns add ${name}: ${made.out || 'failed'}`)
  try {
    const up = ip(['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'])
    if (!up.ok) throw new Error(`cannot bring up loopback in namespace ${name}: ${up.out}`)
    return await new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', name, 'env', `${NETNS_ENV}=${name}`, process.execPath, file, ...args],
        { stdio: ['pipe', opts.stdout ?? 'inherit', 'inherit'] })
      let stdout = ''
      child.stdout?.on('data', (d) => { stdout += d })
      const forward = (signal: NodeJS.Signals): void => { child.kill(signal) }
      process.once('SIGTERM', forward)
      process.once('SIGINT', forward)
      child.on('close', (c, signal) => {
        process.off('SIGTERM', forward)
        process.off('SIGINT', forward)
        resolve({ code: c ?? (signal !== null ? 1 : 0), stdout })
      })
    })
  } finally {
    ip(['netns', 'del', name])
  }
}

/** Keeps a child in the namespace from outliving the parent that relays it. */
function exitWithParent (): void {
  process.stdin.on('end', () => process.exit(70))
  process.stdin.resume()
  process.stdin.unref() // ...without keeping this process alive once its work is done
}

/** Where this test file runs; see the header. `file` is the compiled file (fileURLToPath(import.meta.url)). */
export async function loopbackOnly (file: string, args: string[] = []): Promise<Where> {
  if (inNamespace()) {
    exitWithParent()
    return 'inside'
  }
  const reason = cannotMakeNamespace()
  if (reason !== null) {
    loud(`SKIPPED: swarm tests need a loopback-only network namespace, and ${reason}.\nThey never run in the normal network namespace.`)
    return 'skip'
  }
  try {
    const { code } = await runInNamespace(file, args)
    process.exitCode = code
    return 'relayed'
  } catch (err) {
    loud(`SKIPPED: cannot set up a loopback-only network namespace: ${(err as Error).message}.\nSwarm tests never run in the normal network namespace.`)
    return 'skip'
  }
}
