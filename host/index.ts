// nodevms/host: the host that runs a script against a durable call log and files archive.
export { Host, LOG_CORE_NAME, DEFAULT_QUEUE_LIMIT } from './host.js'
export type { HostOptions, CallContext, CallOutcome, OpenReport } from './host.js'
export { HostError } from './errors.js'
export { CallLog, sha256Hex } from './call-log.js'
export type { LogEntry, InitEntry, RestartEntry, UpgradeEntry, CallEntry, CallAuth } from './call-log.js'
export { StateRoot, computeStateRoot } from './state-root.js'
export { DriveFiles } from './drive-files.js'
