// Dat network speed, in a loopback-only network namespace on a local testnet (never outside one):
//   swarm.catch_up   s for a fresh mirror (seed) to replicate and verify a 20,000-entry log over Hyperswarm
//                    baseline: verify of the same log over the host's own ws by Hypercore replication (the
//                    mirror's fetch; verify's default bulk fetch is faster), in the same run   target ≤ 2×
// Outside a namespace, benchSwarm re-runs this file inside a fresh one (root only); otherwise it skips loudly.
import { fileURLToPath } from 'node:url'
import type { Testnet } from '@hyperswarm/testnet'
import { hostService, RpcServer } from '../host/rpc/index.js'
import { openRemote, verifyLog } from '../host/verify/index.js'
import { loopbackTestnet, SwarmHost, TestMirror } from '../test/host/swarm/fixture.js'
import { cannotMakeNamespace, inNamespace, loud, runInNamespace } from '../test/host/swarm/netns.js'
import { formatJson, formatTable, round, type BenchResult } from './report.js'

const self = fileURLToPath(import.meta.url)

/** Seconds for verify over the host's ws by Hypercore replication, as the mirror fetches (replicate + replay + compare). */
async function verifyOverWs (host: SwarmHost, entries: number): Promise<number> {
  const server = new RpcServer({ service: hostService(host.host), host: '127.0.0.1', port: 0, onError: () => {} })
  await server.open()
  try {
    const started = performance.now()
    const source = await openRemote(`127.0.0.1:${server.port}`, { fetch: 'replicate' })
    try {
      const report = await verifyLog(source.log, source.drive)
      if (!report.ok || report.entries !== entries) throw new Error(`baseline verify failed: ${report.divergence?.message ?? `${report.entries} entries`}`)
    } finally {
      await source.close()
    }
    return (performance.now() - started) / 1000
  } finally {
    await server.close()
  }
}

/** Seconds for a fresh mirror to replicate and verify the whole log over the swarm. */
async function mirrorCatchUp (host: SwarmHost, testnet: Testnet, entries: number): Promise<number> {
  const started = performance.now()
  const mirror = await TestMirror.start(host.logKey, testnet.bootstrap)
  try {
    await mirror.untilVerified(entries, 600_000)
    if (mirror.mismatch !== null) throw new Error(`the mirror reported a mismatch: ${mirror.mismatch.message}`)
    return (performance.now() - started) / 1000
  } finally {
    await mirror.remove()
  }
}

/** The measures themselves; only inside a loopback-only namespace. */
async function measure (quick: boolean): Promise<BenchResult[]> {
  const calls = 20_000
  const rounds = quick ? 1 : 2
  const testnet = await loopbackTestnet()
  let host: SwarmHost | null = null
  try {
    host = await SwarmHost.start(testnet.bootstrap, 0)
    for (let done = 0; done < calls; done += 1000) await host.calls(1000)
    const entries = host.host.log.length
    const ws: number[] = []
    const swarm: number[] = []
    for (let r = 0; r < rounds; r++) { // alternate, so drift hits both
      ws.push(await verifyOverWs(host, entries))
      swarm.push(await mirrorCatchUp(host, testnet, entries))
    }
    const value = Math.min(...swarm)
    const baseline = Math.min(...ws)
    return [{
      name: 'swarm.catch_up', value: round(value, 2), unit: 's', baseline: round(baseline, 2), ratio: round(value / baseline, 3),
      target: '≤ 2× verify over ws', met: value / baseline <= 2
    }]
  } finally {
    await host?.remove()
    await testnet.destroy()
  }
}

export async function benchSwarm (quick: boolean): Promise<BenchResult[]> {
  if (inNamespace()) return await measure(quick)
  const reason = cannotMakeNamespace()
  if (reason !== null) {
    loud(`SKIPPED swarm.catch_up: it runs only in a loopback-only network namespace, and ${reason}.`)
    return []
  }
  const { code, stdout } = await runInNamespace(self, ['--json', ...(quick ? ['--quick'] : [])], { stdout: 'pipe' })
  if (code !== 0) throw new Error(`the swarm bench failed in its namespace (exit ${code})`)
  return (JSON.parse(stdout) as { results: BenchResult[] }).results
}

// Run on its own: node dist/bench/swarm.js [--quick] [--json]
if (process.argv[1] === self) {
  const results = await benchSwarm(process.argv.includes('--quick'))
  process.stdout.write(process.argv.includes('--json') ? formatJson(results) : formatTable(results))
}
