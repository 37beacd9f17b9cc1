// Lowercase hex for keys and signatures, without Buffer (which browsers lack).

const DIGITS = '0123456789abcdef'

export function toHex (bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += DIGITS[byte >> 4] + DIGITS[byte & 15]
  return out
}

/** The bytes of an even-length hex string; callers check the characters first (isHex). */
export function fromHex (hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** Exactly `chars` lowercase hex characters. */
export function isHex (value: unknown, chars: number): value is string {
  return typeof value === 'string' && value.length === chars && /^[0-9a-f]*$/.test(value)
}
