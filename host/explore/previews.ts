// What the explorer shows of a value or a file: bounded previews, so no answer of its JSON API grows with
// what a script chose to log. Text is only ever sent as JSON strings; the page renders it as text.
import { createHash } from 'node:crypto'
import type { FileContent, JsonPreview } from './page/wire.js'

export const MAX_JSON_CHARS = 64 * 1024
export const MAX_TEXT_BYTES = 256 * 1024
const HEX_BYTES = 256
const decoder = new TextDecoder('utf-8', { fatal: true })

export function jsonPreview (value: unknown, max = MAX_JSON_CHARS): JsonPreview {
  const json = value === undefined ? 'undefined' : JSON.stringify(value, null, 2) ?? String(value)
  return json.length > max ? { json: json.slice(0, max), truncated: true } : { json, truncated: false }
}

/** One line of a JSON value, for a timeline row. */
export function shortJson (value: unknown, max = 120): string {
  const json = value === undefined ? '' : JSON.stringify(value) ?? String(value)
  return json.length > max ? json.slice(0, max - 1) + '…' : json
}

/** Text on one line, cut at max characters. */
export function oneLine (text: string, max = 120): string {
  const line = text.replace(/\s+/g, ' ')
  return line.length > max ? line.slice(0, max - 1) + '…' : line
}

export function sha256Of (data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** The bytes as text, or null when they are not UTF-8 or hold control characters other than tab and newlines. */
export function asText (data: Uint8Array): string | null {
  let text: string
  try {
    text = decoder.decode(data)
  } catch {
    return null
  }
  return /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/.test(text) ? null : text
}

export function fileContent (data: Uint8Array, maxText = MAX_TEXT_BYTES): FileContent {
  const facts = { size: data.byteLength, sha256: sha256Of(data) }
  let head = data.subarray(0, maxText)
  let text = asText(head)
  // A cut inside a multi-byte character is not binary: drop the partial character.
  for (let drop = 1; text === null && head.byteLength < data.byteLength && drop <= 3; drop++) text = asText(data.subarray(0, maxText - drop))
  if (text !== null) head = data.subarray(0, Buffer.byteLength(text))
  if (text !== null) return { ...facts, text, truncated: head.byteLength < data.byteLength }
  const hex = Buffer.from(data.buffer, data.byteOffset, Math.min(HEX_BYTES, data.byteLength)).toString('hex')
  return { ...facts, hex, truncated: data.byteLength > HEX_BYTES }
}
