// Host addresses as users type them: `localhost:5555`, `host:port`, `ws://…`, `wss://…` (CONTRACT §4).
import { ClientError } from './errors.js'

/** `localhost:5555` → `ws://localhost:5555/`; http(s) becomes ws(s); anything else is a BAD_URL ClientError. */
export function normaliseUrl (url: string): string {
  if (typeof url !== 'string') throw ClientError.BAD_URL(String(url))
  const trimmed = url.trim()
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `ws://${trimmed}`
  let parsed: URL
  try {
    parsed = new URL(withScheme)
  } catch {
    throw ClientError.BAD_URL(url)
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:'
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:'
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw ClientError.BAD_URL(url)
  return parsed.href
}
