// Runs every compiled test file in its own process (a WASM abort or a leaked handle then fails one file,
// not the suite), two at a time, and prints the closing line CI reads: "N passed, N failed".
// Usage: node dist/test/run.js [substring ...]   (only files whose path contains one of the substrings)
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('.', import.meta.url))
const filters = process.argv.slice(2)
const PARALLEL = 2
const FILE_TIMEOUT_MS = 240_000

function findTests (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) out.push(...findTests(full))
    else if (name.endsWith('.test.js')) out.push(full)
  }
  return out
}

interface FileResult { file: string, passed: number, failed: number, skipped: number, output: string, code: number | null, ms: number }

function killGroup (pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {}
}

function groupAlive (pid: number): boolean {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}

/** True when processes of the group still run `graceMs` after its leader exited; they are then killed. */
async function outlives (pid: number | undefined, graceMs: number): Promise<boolean> {
  if (pid === undefined) return false
  for (const deadline = Date.now() + graceMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
    if (!groupAlive(pid)) return false
  }
  killGroup(pid)
  return true
}

function runFile (file: string): Promise<FileResult> {
  const started = Date.now()
  return new Promise((resolve) => {
    // Each file runs in its own process group, so a file that times out is killed with every child it started.
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' }, detached: true })
    let output = ''
    child.stdout.on('data', (d) => { output += d })
    child.stderr.on('data', (d) => { output += d })
    const timer = setTimeout(() => { output += `\n[run] ${file} timed out after ${FILE_TIMEOUT_MS} ms\n`; killGroup(child.pid) }, FILE_TIMEOUT_MS)
    child.on('close', async (code) => {
      clearTimeout(timer)
      // A test file must leave no process behind: what is still in its group after a grace period is killed and fails the file.
      const leftover = await outlives(child.pid, 3000)
      if (leftover) output += `\n[run] ${file} left processes running after it exited; they were killed\n`
      const num = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(output)?.[1] ?? 0)
      const total = num('Total')
      let passed = num('Passed')
      const skipped = num('Skipped')
      let failed = total - passed // uvu's Total does not count test.skip
      // A crash before uvu could report still counts as a failure of that file.
      if ((code !== 0 || leftover) && failed === 0) { failed = 1; passed = Math.min(passed, total) }
      resolve({ file, passed, failed, skipped, output, code, ms: Date.now() - started })
    })
  })
}

const files = findTests(root).filter((f) => f !== fileURLToPath(import.meta.url) &&
  (filters.length === 0 || filters.some((s) => relative(root, f).includes(s))))
const results: FileResult[] = []
let next = 0
async function worker () {
  while (next < files.length) {
    const file = files[next++]
    const r = await runFile(file)
    results.push(r)
    const name = relative(root, file)
    process.stdout.write(`${r.failed ? 'FAIL' : 'ok  '} ${name}  (${r.passed} passed, ${r.failed} failed, ${(r.ms / 1000).toFixed(1)} s)\n`)
    if (r.failed) process.stdout.write(r.output.replace(/^/gm, '    ') + '\n')
  }
}
const started = Date.now()
await Promise.all(Array.from({ length: PARALLEL }, worker))
const passed = results.reduce((n, r) => n + r.passed, 0)
const failed = results.reduce((n, r) => n + r.failed, 0)
const skipped = results.reduce((n, r) => n + r.skipped, 0)
process.stdout.write(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`)
process.exitCode = failed > 0 || files.length === 0 ? 1 : 0
