// Where the CLI writes: data to stdout, diagnostics to stderr, colour only on a TTY without NO_COLOR.

export function useColour (stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && process.env.NO_COLOR === undefined
}

const paint = (code: number) => (text: string, stream: NodeJS.WriteStream = process.stderr) =>
  useColour(stream) ? `\u001b[${code}m${text}\u001b[0m` : text

export const red = paint(31)
export const green = paint(32)
export const dim = paint(2)

/** A CLI failure: the message goes to stderr, the process exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number
  readonly code: string
  constructor (message: string, exitCode: number, code = 'CLI_ERROR') {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
    this.code = code
  }

  static usage (message: string): CliError { return new CliError(message, 2, 'USAGE') }
}

export function printError (err: unknown): void {
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`${red('nodevms:')} ${message}\n`)
}
