// nodevms/host: the serving side. A Host runs a script against a durable call log (a Hypercore) and a
// files archive (a Hyperdrive) in one corestore: call → engine → CallRecord → log entry → group commit.
// The rooms beside it build on these names: host/rpc (the network), host/verify (replay and verdict),
// host/swarm (the Dat network and mirrors).
export { Host, LOG_CORE_NAME, DEFAULT_QUEUE_LIMIT } from './host.js'
export type { HostOptions, CallContext, CallOutcome, OpenReport } from './host.js'
export { HostError } from './errors.js'
export { CallLog, sha256Hex, encodeChanges, decodeChanges, toCallRecord } from './call-log.js'
export type { LogEntry, InitEntry, RestartEntry, UpgradeEntry, CallEntry, CallAuth, LogChange, EngineInfo, Limits, Mode } from './call-log.js'
export { readLastCounters } from './counter-snapshot.js'
export { signatureCovers } from './call-signature.js'
export { StateRoot, computeStateRoot } from './state-root.js'
export { DriveFiles, FilesTransaction } from './drive-files.js'
export type { Change } from './drive-files.js'
export { readWindow, readWindows } from './block-reader.js'
export { replicateCores } from './replication.js'
export type { Replication } from './replication.js'
export { BLOCKS_PATH, MAX_FRAME_BLOCKS, MAX_FRAME_BYTES, MAX_REPLY_BYTES, flat, spans, encodeReply, decodeReply } from './block-frames.js'
export type { BlockRequest, BlockReply, HeadReply, BlocksReply, ErrorReply, WireNode } from './block-frames.js'
