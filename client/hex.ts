// Lowercase hex for keys and signatures, without Buffer (which browsers lack).

const DIGITS = '0123456789abcdef'

export function toHex (bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += DIGITS[byte >> 4] + DIGITS[byte & 15]
  return out
}

/** The bytes of an even-length hex string; callers check the characters first (describeHex). */
export function fromHex (hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

/**
 * Why `value` is not exactly `chars` lowercase hex characters, or null when it is. `what` names the
 * field; a secret's value is never echoed.
 */
export function describeHex (value: unknown, chars: number, what: string, opts: { secret?: boolean } = {}): string | null {
  if (typeof value !== 'string') return `"${what}" must be a string of ${chars} hex characters, not ${value === null ? 'null' : typeof value}`
  if (!/^[0-9a-f]*$/.test(value)) {
    return `"${what}" must be lowercase hex (0-9, a-f)${opts.secret === true ? '' : `, got ${JSON.stringify(value.slice(0, 140))}`}`
  }
  if (value.length !== chars) return `"${what}" must be ${chars} hex characters (${chars / 2} bytes), got ${value.length}`
  return null
}
