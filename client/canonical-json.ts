// Canonical JSON (CONTRACT §5): object keys sorted by code unit, no whitespace, JavaScript's own number
// and string output. The signed payload of a call is the canonical JSON of its parts (call-signature.ts).

export function canonicalJson (value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value)
    if (text === undefined) throw new TypeError(`${typeof value} is not a JSON value`)
    return text
  }
  if (Array.isArray(value)) return '[' + value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',') + ']'
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort()
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(obj[k])).join(',') + '}'
}
