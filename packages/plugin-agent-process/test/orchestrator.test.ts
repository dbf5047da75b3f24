import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createOrchestrator, type TanukiEvents, type TaskInput } from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createProcessBackend } from '../src/backend.ts'
import { gitLanding, processAgents } from '../src/index.ts'
import { worktreePath } from '../src/kit/workspace.ts'
import { git, gitRepo, project, removeTempDirs } from './support/repo.ts'

afterEach(removeTempDirs)

const sh = (...lines: string[]): string => ['```sh', ...lines, '```'].join('\n')

describe('the process backend under the real orchestrator', () => {
  it('runs a project of shell tasks with dependencies across roles, verify and retries, in worktrees', async () => {
    const root = gitRepo()
    const tasks: TaskInput[] = [
      {
        id: 'TASK-001',
        title: 'Create hello.txt',
        role: 'backend',
        body: sh('echo hello > hello.txt'),
        completion: { verify: 'test -f hello.txt' },
      },
      {
        id: 'TASK-002',
        title: 'Check hello.txt',
        role: 'qa',
        dependsOn: ['TASK-001'],
        // Runs in the qa agent's own worktree: the backend agent's work was merged into it.
        body: sh('grep -q hello hello.txt', 'echo QA_PASSED'),
        completion: { signal: 'QA_PASSED', verify: 'test -f hello.txt' },
      },
      {
        id: 'TASK-003',
        title: 'Succeed on the second try',
        role: 'backend',
        dependsOn: ['TASK-001'],
        body: sh('if [ -f .tried ]; then echo ok > second.txt; else touch .tried; fi'),
        completion: { verify: 'test -f second.txt', maxIterations: 3 },
      },
    ]
    const orchestrator = createOrchestrator({
      config: {
        tasks,
        cooldownMs: 0,
        agents: { backend: { backend: 'process', kind: 'shell' }, qa: { backend: 'process', kind: 'shell' } },
      },
      project: project(root),
      backends: [createProcessBackend()],
    })
    const finished: TanukiEvents['iteration:finished'][] = []
    orchestrator.events.on('iteration:finished', (event) => finished.push(event))
    await orchestrator.start()
    const summary = await orchestrator.done()

    expect(summary.allComplete).toBe(true)
    expect(orchestrator.status().tasks.map((t) => [t.id, t.status])).toEqual([
      ['TASK-001', 'complete'],
      ['TASK-002', 'complete'],
      ['TASK-003', 'complete'],
    ])
    const third = finished.filter((event) => event.taskId === 'TASK-003')
    expect(third.map((event) => event.outcome)).toEqual(['retry', 'complete'])
    expect(third[0]!.verify?.exitCode).toBe(1)

    // Each role's agent worked on its own branch; the project's checkout is untouched.
    const backendTree = worktreePath(project(root), 'backend-1')
    const qaTree = worktreePath(project(root), 'qa-1')
    expect(readFileSync(join(backendTree, 'second.txt'), 'utf8')).toBe('ok\n')
    expect(existsSync(join(qaTree, 'hello.txt'))).toBe(true)
    expect(existsSync(join(root, 'hello.txt'))).toBe(false)
    expect(git(root, 'log', 'tanuki/backend-1', '--format=%(trailers:key=Tanuki-Task,valueonly)')).toContain('TASK-001')
  })

  it('reassigns a task whose agent process is killed mid-task, and it completes', async () => {
    const root = gitRepo()
    const backend = createProcessBackend({ killGraceMs: 500 })
    const orchestrator = createOrchestrator({
      config: {
        tasks: [
          {
            id: 'SLOW',
            title: 'Hang the first time',
            body: sh('if [ ! -f .first ]; then touch .first; echo started; sleep 1000; fi', 'echo finished > done.txt'),
            completion: { verify: 'test -f done.txt' },
          },
        ],
        cooldownMs: 0,
        agents: { default: { backend: 'process', kind: 'shell' } },
      },
      project: project(root),
      backends: [backend],
    })
    const crashed: TanukiEvents['agent:crashed'][] = []
    orchestrator.events.on('agent:crashed', (event) => crashed.push(event))
    orchestrator.events.on('iteration:output', ({ text, agent }) => {
      if (!text.includes('started')) return
      const pid = backend.agents.get(agent)?.pid
      if (pid) process.kill(pid, 'SIGKILL')
    })
    await orchestrator.start()
    const summary = await orchestrator.done()
    expect(crashed).toHaveLength(1)
    expect(crashed[0]).toMatchObject({ agent: 'default-1', taskId: 'SLOW' })
    expect(crashed[0]!.reason).toContain('SIGKILL')
    expect(summary.allComplete).toBe(true)
    expect(orchestrator.status().tasks[0]).toMatchObject({ status: 'complete', attempts: 1 })
  })

  it('is a plugin, lands the work with gitLanding, and removes worktrees and branches on stop({ remove: true })', async () => {
    const root = gitRepo()
    const orchestrator = createOrchestrator({
      config: {
        tasks: [
          { id: 'A', title: 'Write a', body: sh('echo a > a.txt', 'echo A_DONE'), completion: { signal: 'A_DONE' } },
        ],
        plugins: [processAgents({ kind: 'shell' }), gitLanding()],
        stopWhenSettled: false,
      },
      project: project(root),
    })
    const landed = new Promise<void>((resolve) => orchestrator.events.on('task:landed', () => resolve()))
    await orchestrator.start()
    await landed
    expect(existsSync(worktreePath(project(root), 'default-1'))).toBe(true)
    // The work is on the person's branch, in their working tree, as one commit.
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('a\n')
    expect(git(root, 'log', '-1', '--format=%s%n%(trailers:key=Tanuki-Task,valueonly)', 'main')).toBe('Write a\nA')
    await orchestrator.stop({ remove: true })
    expect(existsSync(worktreePath(project(root), 'default-1'))).toBe(false)
    // Its work landed, so nothing of Tanuki's is kept.
    expect(git(root, 'branch', '--list', 'tanuki/default-1')).toBe('')
  })

  it('a task a person approves after review lands its own work, though its agent went on to another task', async () => {
    const root = gitRepo()
    const orchestrator = createOrchestrator({
      config: {
        tasks: [
          // No completion: a person reviews it after one run.
          { id: 'DOC', title: 'Write a doc', priority: 'high', body: sh('echo draft > doc.txt') },
          {
            id: 'NEXT',
            title: 'Then this',
            body: sh('echo next > next.txt'),
            completion: { verify: 'test -f next.txt' },
          },
        ],
        plugins: [processAgents({ kind: 'shell' }), gitLanding()],
        cooldownMs: 0,
        stopWhenSettled: false,
      },
      project: project(root),
    })
    const landings: TanukiEvents['task:landed'][] = []
    const landed = (id: string) =>
      new Promise<void>((resolve) =>
        orchestrator.events.on('task:landed', (event) => {
          landings.push(event)
          if (event.taskId === id) resolve()
        }),
      )
    const next = landed('NEXT')
    await orchestrator.start()
    await next
    expect(orchestrator.task('DOC')).toMatchObject({ status: 'review' })
    // The one agent's branch has moved past DOC's work: only its recorded work can still say what it was.
    expect(git(root, 'log', '-1', '--format=%(trailers:key=Tanuki-Task,valueonly)', 'tanuki/default-1')).toBe('NEXT')

    const doc = landed('DOC')
    await orchestrator.mark('DOC', 'complete')
    await doc
    const commit = landings.find((event) => event.taskId === 'DOC')!.commit
    expect(landings.find((event) => event.taskId === 'DOC')).toMatchObject({ moved: true })
    expect(landings.find((event) => event.taskId === 'DOC')!.note).toBeUndefined()
    // Its own commit on main, with its trailer and its work; recorded as such.
    expect(git(root, 'rev-parse', 'main')).toBe(commit)
    expect(git(root, 'log', '-1', '--format=%s%n%(trailers:key=Tanuki-Task,valueonly)', commit)).toBe(
      'Write a doc\nDOC',
    )
    expect(git(root, 'show', `${commit}:doc.txt`)).toBe('draft')
    expect(git(root, 'diff', '--name-only', `${commit}^`, commit)).toBe('doc.txt')
    expect(readFileSync(join(root, 'doc.txt'), 'utf8')).toBe('draft\n')
    expect(orchestrator.task('DOC')).toMatchObject({ status: 'complete', landed: { commit } })
    await orchestrator.stop({ remove: true })
    // Everything landed: nothing is kept for work that has not.
    expect(git(root, 'branch', '--list', 'tanuki/default-1')).toBe('')
  })
})
