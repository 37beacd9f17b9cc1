// Deep recursion inside QuickJS built-ins, run as a child process by native-stack.test.ts:
//   node [--stack-size=N] stack-cases.js [--in-worker] [--depths JSON]
// For each kind of recursion, the guest finds the first nesting depth that fails (or, given
// --depths, takes it), then runs that depth and the one below it, and prints how each ended and the
// gas it used. The output must not depend on the host process's stack (--stack-size, a worker thread).
import { Worker, isMainThread, parentPort } from 'node:worker_threads'
import { createEngine } from 'nodevms/engine'

// probe(kind, depth) builds one nesting of that depth and uses it: 'ok', or how it failed. Each probe
// is a call of its own, so every probe of a depth runs with the same frames above it.
// JSON.stringify costs the square of the depth (a cycle check per level), so it is probed at a few
// fixed depths instead: below where V8's own stack gives out on the main thread, and beyond QuickJS's limit.
export const SCRIPT = String.raw`
const stringify = (d) => JSON.stringify(nest(d, (a) => [a], [])).length
const nest = (d, f, seed) => { let x = seed; for (let i = 0; i < d; i++) x = f(x); return x }
const boundChain = (d, target) => nest(d, (f) => f.bind(null), target)
const proxyChain = (d, target) => nest(d, (p) => new Proxy(p, {}), target)
const kinds = {
  parse: (d) => JSON.parse('['.repeat(d) + ']'.repeat(d)).length,
  join: (d) => String(nest(d, (a) => [a, 1], [])).length,
  flat: (d) => nest(d, (a) => [a], [1]).flat(Infinity).length,
  evalParens: (d) => (0, eval)('('.repeat(d) + '1' + ')'.repeat(d)),
  evalArrays: (d) => (0, eval)('['.repeat(d) + ']'.repeat(d)).length,
  evalTemplates: (d) => (0, eval)('\x60$\x7b'.repeat(d) + '1' + '}\x60'.repeat(d)),
  newFunction: (d) => Function('return ' + '('.repeat(d) + '1' + ')'.repeat(d))(),
  regexpCompile: (d) => new RegExp('(?:'.repeat(d) + 'a' + ')'.repeat(d)).test('a'),
  regexpGroups: (d) => new RegExp('('.repeat(d) + 'a' + ')'.repeat(d)).exec('a').length,
  boundCall: (d) => boundChain(d, function () { return 1 })(),
  boundInstanceof: (d) => ({}) instanceof boundChain(d, class {}),
  boundNew: (d) => typeof new (boundChain(d, class {}))(),
  boundProxyNew: (d) => typeof new (nest(d, (f) => new Proxy(f.bind(null), {}), class {}))(),
  recursion: (d) => { const r = (n) => (n === 0 ? 0 : 1 + r(n - 1)); return r(d) },
  sortComparator: (d) => { const s = (n) => { if (n > 0) [2, 1].sort(() => s(n - 1)); return 0 }; return s(d) },
  getterChain: (d) => { const o = nest(d, (inner) => ({ get v () { return inner.v } }), { v: 1 }); return o.v },
  proxyGet: (d) => proxyChain(d, { x: 1 }).x,
  proxyCall: (d) => proxyChain(d, function () { return 1 })(),
  proxyNew: (d) => typeof new (proxyChain(d, class {}))(),
  generators: (d) => { function * g (n) { if (n > 0) yield * g(n - 1); yield n } return [...g(d)].length },
  toStringChain: (d) => String(nest(d, (inner) => ({ toString () { return String(inner) } }), 'x')),
  applyChain: (d) => { const r = (n) => (n === 0 ? 0 : Reflect.apply(r, null, [n - 1])); return r(d) }
}
const describe = (e) => e === null ? 'null' : (e && e.name) + ': ' + (e && e.message)
exports.kinds = () => Object.keys(kinds)
exports.probe = (kind, depth) => { try { kinds[kind](depth); return 'ok' } catch (e) { return describe(e) } }
exports.stringify = (depths) => depths.map((d) => { try { stringify(d); return 'ok' } catch (e) { return describe(e) } })
exports.cyclic = () => { var a = []; a[0] = a; try { return String(a).length } catch (e) { return describe(e) } }
`

const MAX_DEPTH = 400_000
const LIMITS = { gasLimit: 1e9, timeoutMs: 600_000, memoryLimit: 256 * 1024 * 1024 }

/** One probe's record: how it ended, and its gas. */
export interface ProbeOutcome { result?: unknown, error?: { name: string, message: string }, gas: number }
/** Per kind: the first failing depth, and the probes at it and just below it. */
export interface CaseOutcome { kind: string, depth: number | null, below: ProbeOutcome, at: ProbeOutcome }
export interface CasesOutput { cases: CaseOutcome[], stringify: ProbeOutcome, cyclic: ProbeOutcome }

async function runCases (given: Record<string, number | null> | null): Promise<CasesOutput> {
  const engine = await createEngine(SCRIPT, { ...LIMITS, log: () => {} })
  const probe = async (method: string, args: unknown[]): Promise<ProbeOutcome> => {
    const { result, error, gas } = await engine.call(method, args)
    return error === undefined ? { result, gas } : { error, gas }
  }
  const fails = async (kind: string, depth: number) => {
    const outcome = await probe('probe', [kind, depth])
    if (outcome.error !== undefined) throw new Error(`${kind} at ${depth}: the probe itself failed: ${JSON.stringify(outcome.error)}`)
    return outcome.result !== 'ok'
  }
  // The smallest failing depth up to MAX_DEPTH: doubling, then bisection.
  const first = async (kind: string): Promise<number | null> => {
    let lo = 1
    let hi = 64
    while (!await fails(kind, hi)) {
      if (hi >= MAX_DEPTH) return null
      lo = hi + 1
      hi = Math.min(hi * 2, MAX_DEPTH)
    }
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2)
      if (await fails(kind, mid)) hi = mid
      else lo = mid + 1
    }
    return hi
  }
  const cases: CaseOutcome[] = []
  for (const kind of (await engine.call('kinds')).result as string[]) {
    const depth = given === null ? await first(kind) : given[kind]
    if (depth === null || depth === undefined) cases.push({ kind, depth: null, below: await probe('probe', [kind, MAX_DEPTH]), at: await probe('probe', [kind, MAX_DEPTH]) })
    else cases.push({ kind, depth, below: await probe('probe', [kind, depth - 1]), at: await probe('probe', [kind, depth]) })
  }
  const output = { cases, stringify: await probe('stringify', [[6000, 17_000]]), cyclic: await probe('cyclic', []) }
  await engine.close()
  return output
}

const at = process.argv.indexOf('--depths')
const given = at === -1 ? null : JSON.parse(process.argv[at + 1]) as Record<string, number | null>
if (!isMainThread) {
  parentPort!.postMessage(await runCases(given))
} else if (process.argv.includes('--in-worker')) {
  // The engine is created from inside a worker thread that itself has a small stack.
  const worker = new Worker(new URL(import.meta.url), { resourceLimits: { stackSizeMb: 1 }, argv: process.argv.slice(2) })
  const output = await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject) })
  process.stdout.write(JSON.stringify(output) + '\n')
} else {
  process.stdout.write(JSON.stringify(await runCases(given)) + '\n')
}
