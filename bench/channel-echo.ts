// A worker that answers every message on an engine channel with the same message: the floor under
// Engine.call's cost, measured by bench/engine.ts as engine.channel.
import { workerData } from 'node:worker_threads'
import { WorkerEndpoint, type ChannelInit } from '../engine/channel.js'

const endpoint = new WorkerEndpoint(workerData as ChannelInit)
for (;;) endpoint.send(endpoint.receive()!)
