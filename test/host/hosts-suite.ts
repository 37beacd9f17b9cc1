// A suite whose tests start hosts in a temp directory: each test gets a fresh `root`, and the hosts it pushed
// onto `hosts` are closed, and the directory removed, after it.
import { suite } from 'uvu'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Host } from '../../host/index.js'

export interface HostsCtx { root: string, hosts: Host[] }

export function hostsSuite (name: string, prefix: string): ReturnType<typeof suite<HostsCtx>> {
  const test = suite<HostsCtx>(name, { root: '', hosts: [] })
  test.before.each(async (ctx) => { ctx.root = await mkdtemp(join(tmpdir(), `nodevms-${prefix}-`)); ctx.hosts = [] })
  test.after.each(async (ctx) => {
    for (const host of ctx.hosts) await host.close()
    await rm(ctx.root, { recursive: true, force: true })
  })
  return test
}
