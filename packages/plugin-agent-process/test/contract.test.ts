import { describe } from 'vitest'
import { join } from 'node:path'
import { describeAgentBackend } from '@tanuki/testing'
import type { ProcessAgent } from '../src/agent.ts'
import { createProcessBackend } from '../src/backend.ts'
import { gitRepo, removeTempDirs } from './support/repo.ts'

describe('in a git worktree', () => {
  describeAgentBackend({
    name: 'process (worktree)',
    backend: () => createProcessBackend({ kind: 'shell', killGraceMs: 200 }),
    project: () => {
      const root = gitRepo()
      return { root, name: 'contract', stateDir: join(root, '.tanuki'), cleanup: removeTempDirs }
    },
    // A process killed by a signal Tanuki did not send is the agent's crash.
    kill: (agent) => void process.kill(-(agent as ProcessAgent).pid!, 'SIGKILL'),
  })
})

describe('from a long-lived shell (session: true)', () => {
  describeAgentBackend({
    name: 'process (session)',
    backend: () => createProcessBackend({ kind: 'shell', session: true, killGraceMs: 200 }),
    project: () => {
      const root = gitRepo()
      return { root, name: 'contract', stateDir: join(root, '.tanuki'), cleanup: removeTempDirs }
    },
    kill: (agent) => void process.kill(-(agent as ProcessAgent).pid!, 'SIGKILL'),
  })
})
