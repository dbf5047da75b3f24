import { describeAgentBackend } from '@tanuki/testing'
import Docker from 'dockerode'
import { beforeAll, describe } from 'vitest'
import { createDockerBackend, type DockerAgent } from '../src/index.ts'
import { TEST_IMAGE, problem, requireEngine, skipDocker, tempProject } from './helpers.ts'

describe.skipIf(skipDocker)(`on a real engine${skipDocker ? ` (skipped: ${problem})` : ''}`, () => {
  beforeAll(async () => {
    await requireEngine()
  }, 120_000)

  describeAgentBackend({
    name: 'docker',
    backend: () => createDockerBackend({ image: TEST_IMAGE, kind: 'shell', stopTimeoutSeconds: 1 }),
    project: () => tempProject('contract'),
    // A container that dies without Tanuki asking is the agent's crash.
    kill: async (agent) => {
      await new Docker().getContainer((agent as DockerAgent).containerId).kill()
    },
  })
})
