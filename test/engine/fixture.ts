// Reads a script from fixtures/ (the seed README's examples and the rich fixture) for the engine tests.
import { readFileSync } from 'node:fs'

const FIXTURES = new URL('../../../fixtures/', import.meta.url)

export function fixture (name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8')
}

export const utf8 = (bytes: Uint8Array | null): string => (bytes === null ? '(missing)' : new TextDecoder().decode(bytes))
