// Small pieces shared by tests in more than one folder.

/** A deterministic PRNG (mulberry32), so a workload or a failure reproduces in every process. */
export function prng (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A counter kept in the files archive at /counter, so it survives a restart. */
export const PERSISTENT_COUNTER = `const fs = System.files
exports.increment = async function () {
  let i = 0
  try { i = await fs.readFile('/counter', 'json') } catch (e) {}
  i++
  await fs.writeFile('/counter', i)
  return i
}
`

/** add(client): bumps /counter and writes /calls/<n>.json, so both the log and the files archive move with every call. */
export const LEDGER = `
const fs = System.files
exports.add = async function (client) {
  var n = 0
  try { n = await fs.readFile('/counter', 'json') } catch (e) { if (e.name !== 'NotFoundError') throw e }
  n++
  await fs.writeFile('/counter', n)
  await fs.writeFile('/calls/' + n + '.json', { n: n, client: client })
  return n
}
`

/** Memory and files side by side: `next` changes both; bomb, spin and stall change both and then hit a limit. */
export const LIMITED = `let n = 0
const fs = System.files
exports.next = async () => { n++; await fs.writeFile('/n', n); return n }
exports.bomb = async () => { n += 100; await fs.writeFile('/n', 'bomb'); const a = []; for (;;) a.push([a.length]) }
exports.spin = async () => { n += 100; await fs.writeFile('/spin', 'x'); for (;;) {} }
exports.stall = async () => { n += 100; await fs.writeFile('/stall', 'x'); await System.oracle(() => { for (;;) {} }) }
`
