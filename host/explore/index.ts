// host/explore: the auditor's window. An Explorer follows a log and its files archive, verifies them with
// the verifier of host/verify as they arrive, and serves a web page (no CDN, no framework) with a JSON API.
export { Explorer } from './explorer.js'
export type { ExplorerOptions, ExplorerStatus } from './explorer.js'
export type { VerificationOptions } from './verification.js'
export type { Verdict } from './page/wire.js'
