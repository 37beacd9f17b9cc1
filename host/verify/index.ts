// host/verify: the auditor's side. Fetch a log and its files archive (from a host's port or a stopped
// host's directory), replay every entry in a fresh engine, compare, and report the first difference.
export { verifyLog } from './verify-log.js'
export { LogVerifier } from './verifier.js'
export type { VerifyOptions } from './verifier.js'
export type { VerifyDivergence, VerifyReport } from './report.js'
export type { UnsignedCaller, UnsignedCallersReport } from './unsigned-callers.js'
export { openRemote, openReplicationStream } from './remote.js'
export type { RemoteOptions } from './remote.js'
export { openHostDir } from './host-dir.js'
export { parseKey } from './source.js'
export type { VerifySource } from './source.js'
