// Mixed calls of fixtures/rich.js, the same in every process: the byte-identity and checkpoint workloads.
import { prng } from '../helpers.js'

const WORDS = ['alpha', 'Beta', 'gamma', 'délta', 'epsilon', 'zeta', 'ÉTA', 'theta', 'iota', 'kappa', 'lambda', 'mu', '2021-05-06', 'naïve', '😀']

/** A call: method, args, caller. */
export type Call = [string, unknown[], string | null]

/** `count` calls of fixtures/rich.js: files, oracles, regexps, gas-hungry and failing calls, by seed. */
export function workload (count: number, seeded: boolean, seed = seeded ? 2 : 1): Call[] {
  const rand = prng(seed)
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ')
  const id = () => `n${String(1 + Math.floor(rand() * 40)).padStart(4, '0')}`
  const calls: Call[] = []
  for (let i = 0; i < count; i++) {
    const caller = pick([null, 'alice', 'bob'])
    const r = rand()
    if (r < 0.25) calls.push(['add', [words(2), words(12), [pick(WORDS), pick(WORDS)]], caller])
    else if (r < 0.32) calls.push(['get', [id()], caller])
    else if (r < 0.38) calls.push(['search', [pick(['a', '^[A-Z]', 'ta\\b', '\\d+', '[', 'é'])], caller])
    else if (r < 0.42) calls.push(['tagged', [pick(WORDS)], caller])
    else if (r < 0.46) calls.push(['histogram', [1 + Math.floor(rand() * 6)], caller])
    else if (r < 0.52) calls.push(['stats', [Array.from({ length: 3 + Math.floor(rand() * 20) }, () => rand() * 1000 - 300)], caller])
    else if (r < 0.57) calls.push(['primes', [rand() < 0.1 ? 1_000_000 : 10 + Math.floor(rand() * 400)], caller])
    else if (r < 0.62) calls.push(['blob', [pick(['a', 'b', 'c']), Math.floor(rand() * 5000), Math.floor(rand() * 1e9)], caller])
    else if (r < 0.67) calls.push(['text', [words(6)], caller])
    else if (r < 0.72) calls.push(['dates', [Math.floor(rand() * 4e12) - 1e12], caller])
    else if (r < 0.75) calls.push(['tree', [], caller])
    else if (r < 0.80) calls.push(['prune', [id()], caller])
    else if (r < 0.92) calls.push(['stamp', [`s${i % 17}`], caller])
    else calls.push([seeded ? 'seeded' : 'add', seeded ? [] : [123, 'not a title'], caller])
  }
  return calls
}

