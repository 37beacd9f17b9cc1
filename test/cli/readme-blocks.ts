// Reading the README's runnable examples (README "Development" says how they are written): the code
// blocks marked <!-- runnable -->, console transcripts split into steps, and expected lines matched with
// `…` standing for anything. Pure: nothing here runs a command.

export interface CodeBlock { lang: string, code: string, line: number }

export type Step =
  /** `$ command`, the lines typed into it (`> …`), what it must print, and how it must exit. */
  | { kind: 'command', command: string, input: string[], expect: string[], exit: number }
  /** `^C`: stop the host that is serving; the lines after it are expected on its stderr. */
  | { kind: 'interrupt', expect: string[] }

export const MARKER = '<!-- runnable -->'

/** Every fenced block that the line before it (blank lines aside) marks runnable, in order. */
export function runnableBlocks (markdown: string): CodeBlock[] {
  const lines = markdown.split('\n')
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== MARKER) continue
    let at = i + 1
    while (at < lines.length && lines[at].trim() === '') at++
    const fence = /^```(\w*)\s*$/.exec(lines[at] ?? '')
    if (fence === null) throw new Error(`README line ${i + 1}: ${MARKER} must stand right before a fenced code block`)
    const end = lines.findIndex((l, j) => j > at && l.startsWith('```'))
    if (end === -1) throw new Error(`README line ${at + 1}: the code block never closes`)
    blocks.push({ lang: fence[1], code: lines.slice(at + 1, end).join('\n'), line: at + 1 })
    i = end
  }
  return blocks
}

/** A console transcript as steps. Blank lines are ignored; anything before the first step is an error. */
export function transcriptSteps (code: string): Step[] {
  const steps: Step[] = []
  for (const raw of code.split('\n')) {
    const line = raw.trimEnd()
    if (line === '') continue
    const current = steps.at(-1)
    if (line.startsWith('$ ')) steps.push({ kind: 'command', command: line.slice(2), input: [], expect: [], exit: 0 })
    else if (line === '^C') steps.push({ kind: 'interrupt', expect: [] })
    else if (current === undefined) throw new Error(`a runnable transcript starts with "$ " or "^C", not ${JSON.stringify(line)}`)
    else if (line.startsWith('> ') && current.kind === 'command') current.input.push(line.slice(2))
    else if (/^\[exit \d+\]$/.test(line) && current.kind === 'command') current.exit = Number(/\d+/.exec(line)![0])
    else current.expect.push(line)
  }
  return steps
}

/** The output a JS block promises: its `// → X` comments, in order. */
export function jsExpectations (code: string): string[] {
  return code.split('\n').map((l) => /\/\/ → (.*)$/.exec(l)?.[1].trim()).filter((l): l is string => l !== undefined)
}

/** A full-line pattern: `…` matches anything, everything else itself. */
export function linePattern (expected: string): RegExp {
  return new RegExp(`^${expected.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
}

/**
 * The expected lines that are missing: each must match a line of one of the streams, after the line
 * matched before it in that stream (so the order within a stream is checked). Returns [] when all are there.
 */
export function missingLines (expected: readonly string[], streams: ReadonlyArray<readonly string[]>): string[] {
  const positions = streams.map(() => 0)
  const missing: string[] = []
  for (const line of expected) {
    const pattern = linePattern(line)
    const found = streams.some((stream, s) => {
      const at = stream.findIndex((candidate, i) => i >= positions[s] && pattern.test(candidate))
      if (at === -1) return false
      positions[s] = at + 1
      return true
    })
    if (!found) missing.push(line)
  }
  return missing
}

/** A stream's lines as compared: without REPL prompts in front, without trailing blanks. */
export function outputLines (text: string): string[] {
  return text.split('\n').map((l) => l.replace(/^(> )+/, '').trimEnd())
}
