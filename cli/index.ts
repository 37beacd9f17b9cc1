#!/usr/bin/env node
// Entry point. Loading Hypercore and QuickJS takes a moment; a SIGINT or SIGTERM that arrives meanwhile
// is held, so that `exec` and `seed` can still close cleanly once they are up, instead of dying half-way.
// stdout carries data only (results, the exec lines, Verified <N> entries). nodevms never uses
// console.log; libraries that do (hypercore logs "conflict detected") are sent to stderr.
console.log = console.error
const held: string[] = []
const hold = (signal: string) => { held.push(signal) }
process.on('SIGINT', hold)
process.on('SIGTERM', hold)
const { main } = await import('./commands.js')
process.off('SIGINT', hold)
process.off('SIGTERM', hold)
await main(held[0] ?? null)
