import { afterEach, describe, expect, it } from 'vitest'
import type { ExecResult } from '../agent/types.ts'
import { createMemoryStore } from '../state/memory.ts'
import { replay } from '../state/replay.ts'
import { harness, stopAll, tasks } from './test-harness.ts'

afterEach(stopAll)

type Exec = Omit<ExecResult, 'durationMs'>
const exited = (exitCode: number, output = ''): Exec => ({ exitCode, output, timedOut: false })

/** What an install prints when it cannot reach the registry, as npm says it. */
const NPM_OFFLINE = [
  'npm ERR! code ENOTCACHED',
  "npm ERR! request to https://registry.npmjs.org/left-pad failed: cache mode is 'only-if-cached' but no cached response is available.",
  'npm ERR! A complete log of this run can be found in: /root/.npm/_logs/debug-0.log',
  '',
].join('\n')

describe('a role’s setup', () => {
  it("runs through the agent's exec after the workspace is prepared and before each task's first iteration, not before later ones", async () => {
    const timeline: string[] = []
    const h = harness(
      {
        tasks: tasks(
          { id: 'A', priority: 'high', completion: { verify: 'test -f A.done' } },
          { id: 'B', completion: { verify: 'test -f B.done' } },
        ),
        agents: { default: { count: 1, setup: 'npm ci' } },
      },
      {
        backend: {
          isolated: true,
          begin: (task) => {
            timeline.push(`begin ${task.id}`)
          },
          exec: (command, files) => {
            timeline.push(`exec ${command}`)
            if (command === 'npm ci') {
              files.set('node_modules/.bin/vitest', '')
              return exited(0, 'added 1 package in 0.4s\n')
            }
            const file = /^test -f (\S+)$/.exec(command)?.[1]
            return file && files.has(file) ? exited(0) : exited(1, 'not done\n')
          },
          // A's first try leaves it unfinished; each try says whether the dependencies were there.
          script: ({ task, iteration, files }) => {
            timeline.push(`run ${task.id}#${iteration}${files.has('node_modules/.bin/vitest') ? ' (installed)' : ''}`)
            const done = task.id === 'B' || iteration === 2
            return { type: 'succeed', ...(done ? { files: { [`${task.id}.done`]: '' } } : {}) }
          },
        },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()

    expect(summary.allComplete).toBe(true)
    expect(timeline).toEqual([
      'begin A',
      'exec npm ci',
      'run A#1 (installed)',
      'exec test -f A.done',
      'run A#2 (installed)',
      'exec test -f A.done',
      // The agent's workspace is reused, and landed work may change what it needs: set up again.
      'begin B',
      'exec npm ci',
      'run B#1 (installed)',
      'exec test -f B.done',
    ])
    // Its output is for the task's log, as verify's is.
    expect(h.all('task:setup')).toEqual([
      expect.objectContaining({
        taskId: 'A',
        agent: 'default-1',
        role: 'default',
        command: 'npm ci',
        exitCode: 0,
        output: 'added 1 package in 0.4s\n',
      }),
      expect.objectContaining({ taskId: 'B', agent: 'default-1', command: 'npm ci', exitCode: 0 }),
    ])
    const [setupA] = h.all('task:setup')
    expect(h.indexOf('task:setup')).toBeLessThan(h.indexOf('iteration:started', (e) => e.taskId === setupA!.taskId))
  })

  it('that fails runs no agent and pauses the role, saying the command, exit code, output, role and key; the other roles go on', async () => {
    const setups: string[] = []
    const h = harness(
      {
        tasks: tasks(
          { id: 'W-1', role: 'web', priority: 'high' },
          { id: 'W-2', role: 'web' },
          { id: 'D-1', role: 'docs' },
        ),
        defaults: { setup: 'npm ci --offline' },
        agents: { web: { count: 1 }, docs: { setup: false } },
      },
      {
        backend: {
          isolated: true,
          exec: (command) => {
            setups.push(command)
            return exited(1, NPM_OFFLINE)
          },
        },
      },
    )
    await h.orchestrator.start()
    const summary = await h.orchestrator.done()

    // Paid for once: W-2 never met it, and no agent ran for W-1.
    expect(setups).toEqual(['npm ci --offline'])
    expect(h.backend.runs.map((run) => run.taskId)).toEqual(['D-1'])
    expect(h.orchestrator.task('D-1')?.status).toBe('complete')
    for (const id of ['W-1', 'W-2']) {
      expect(h.orchestrator.task(id)).toMatchObject({ status: 'pending', iterations: 0, attempts: 0 })
    }
    expect(h.all('task:failed')).toEqual([])
    const cause =
      'setup `npm ci --offline` exited 1 in the workspace of agent web-1 (memory:web-1), before task W-1: ' +
      "npm ERR! code ENOTCACHED ⏎ npm ERR! request to https://registry.npmjs.org/left-pad failed: cache mode is 'only-if-cached' but no cached response is available. ⏎ " +
      'npm ERR! A complete log of this run can be found in: /root/.npm/_logs/debug-0.log. ' +
      'No agent ran; every task of role "web" would meet it. Correct `defaults.setup` (or what it needs); `tanuki logs W-1` has its output'
    expect(h.all('role:paused')).toEqual([expect.objectContaining({ role: 'web', cause })])
    expect(summary.problems).toEqual([`role "web" is paused: ${cause}`])
    expect(h.orchestrator.task('W-1')?.lastError).toMatchObject({ class: 'could-not-start', cause })
    expect(h.all('task:setup')).toEqual([
      expect.objectContaining({ taskId: 'W-1', agent: 'web-1', exitCode: 1, output: NPM_OFFLINE }),
    ])
  })

  it("names the role's own key when the role sets it", async () => {
    const h = harness(
      { tasks: tasks({ id: 'A', role: 'api' }), agents: { api: { setup: 'uv sync' } } },
      { backend: { exec: () => exited(2, 'error: no pyproject.toml found\n') } },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.backend.runs).toEqual([])
    const [paused] = h.all('role:paused')
    expect(paused?.cause).toContain('setup `uv sync` exited 2 in the workspace of agent api-1')
    expect(paused?.cause).toContain('Correct `agents.api.setup`')
  })

  it('that the agent could not run at all (its container died) loses the agent, not the role: the task runs on', async () => {
    let calls = 0
    const h = harness(
      { tasks: tasks({ id: 'A', completion: { verify: 'true' } }), agents: { default: { setup: 'npm ci' } } },
      {
        backend: {
          exec: () => (++calls === 1 ? Promise.reject(new Error('container 3f2a is not running')) : exited(0)),
        },
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.all('role:paused')).toEqual([])
    expect(h.orchestrator.task('A')?.status).toBe('complete')
  })

  it('that fails in a workspace holding the task’s own earlier work blames that work, not the role: the agent works on', async () => {
    // The journal says A already ran a try (its first broke the manifest): its workspace carries it.
    const store = createMemoryStore(replay([{ t: 'task', id: 'A', status: 'pending', iterations: 1 }]))
    const h = harness(
      {
        tasks: tasks({ id: 'A', completion: { verify: 'true', maxIterations: 3 } }),
        agents: { default: { setup: 'npm ci' } },
      },
      {
        backend: {
          exec: (command) => (command === 'npm ci' ? exited(1, 'npm ERR! lockfile out of sync\n') : exited(0)),
        },
        store,
      },
    )
    await h.orchestrator.start()
    await h.orchestrator.done()
    expect(h.all('role:paused')).toEqual([])
    expect(h.backend.runs.map((run) => run.taskId)).toEqual(['A'])
    expect(h.orchestrator.task('A')?.status).toBe('complete')
  })
})
