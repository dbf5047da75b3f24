// The agent backend contract, against the remote backend: every call crosses a real Redis to a
// worker (in this process, with its real code) that runs a process agent in a clone of the
// project; the crash check kills the agent's process on the worker from outside.
import { describeAgentBackend, redisAvailable, startRedis, type RedisServer } from '@tanuki/testing'
import { afterAll, beforeAll, describe } from 'vitest'
import { createRemoteBackend, type RemoteBackend } from '../src/backend.ts'
import type { RemoteWorker } from '../src/worker.ts'
import { removeTempDirs, sharedProject, workerIn } from './support/cluster.ts'
import type { ProcessBackend } from '@tanuki/plugin-agent-process'
import type { ProjectInfo } from '@tanuki/core'

const available = redisAvailable()
if (!available && process.env.CI === 'true') throw new Error('redis-server is missing: CI must install it (.ci/run)')

let redis: RedisServer | undefined
beforeAll(async () => {
  if (available) redis = await startRedis()
})
afterAll(async () => {
  await redis?.close()
})

describe.skipIf(!available)('remote', () => {
  let bare = ''
  let key = ''
  let project: ProjectInfo | undefined
  let backend: RemoteBackend | undefined
  let worker: RemoteWorker | undefined
  let local: ProcessBackend | undefined
  let n = 0

  describeAgentBackend({
    name: 'remote (a worker over Redis)',
    project: () => {
      // A key per check: each starts with a queue of its own.
      key = `contract-${++n}`
      const made = sharedProject(key)
      bare = made.bare
      project = made.project
      return {
        ...made.project,
        async cleanup() {
          await backend?.close()
          await worker?.close()
          removeTempDirs()
        },
      }
    },
    backend: async () => {
      const started = await workerIn(bare, { redis: redis!.url, project: key })
      worker = started.worker
      local = started.local
      backend = createRemoteBackend({
        remote: { redis: redis!.url, project: key, stalledIntervalMs: 500, commandTimeoutMs: 5000 },
        project: project!,
      })
      return backend
    },
    roleOptions: { kind: 'shell' },
    // The agent's process, killed on the worker by a signal Tanuki did not send: the agent's crash.
    kill: (agent) => {
      const pid = local!.agents.get(agent.name)?.pid
      if (pid) process.kill(-pid, 'SIGKILL')
    },
  })
})
