import { stripVTControlCharacters } from 'node:util'
import { describe, expect, it } from 'vitest'
import type { OrchestratorStatus } from '@tanuki/core'
import { runScenario } from '../../test/scenario.ts'
import { formatTime } from '../format.ts'
import { formatStatus } from './index.ts'

/** The shape `tanuki project status --json` prints (DESIGN.md). */
function asJson(status: OrchestratorStatus): unknown {
  return JSON.parse(
    JSON.stringify({ status: status.state, tasks: status.tasks, progress: status.progress, agents: status.agents }),
  )
}

/** The rows of one titled table in the text, split on runs of two or more spaces. */
function rows(text: string, title: string): string[][] {
  const lines = text.split('\n')
  const start = lines.indexOf(title)
  const end = lines.findIndex((line, i) => i > start && line === '')
  return lines.slice(start + 2, end === -1 ? undefined : end).map((line) => line.trim().split(/ {2,}/))
}

describe('formatStatus', () => {
  it('shows every task, every agent and what blocks the waiting tasks, from the --json shape', async () => {
    const { orchestrator } = await runScenario()
    const status = orchestrator.status()
    const text = formatStatus(asJson(status) as Parameters<typeof formatStatus>[0])

    const head = text.split('\n')[0]!
    expect(
      head.startsWith(
        `Project stopped · ${status.progress.complete}/${status.progress.total} complete (${status.progress.percentage}%)`,
      ),
    ).toBe(true)
    for (const key of ['failed', 'review', 'blocked', 'pending'] as const) {
      if (status.progress[key] > 0) expect(head).toContain(`${status.progress[key]} ${key}`)
    }
    const taskRows = rows(text, 'Tasks')
    expect(taskRows).toHaveLength(status.tasks.length)
    for (const task of status.tasks) {
      const row = taskRows.find((r) => r[0] === task.id)!
      expect(row).toContain(task.status)
      expect(row).toContain(task.role)
      expect(row).toContain(task.priority)
      expect(row.at(-1)).toBe(String(task.iterations))
    }
    const agentRows = rows(text, 'Agents')
    expect(agentRows.map((r) => r[0]).sort()).toEqual(status.agents.map((a) => a.name).sort())

    const waiting = status.tasks.filter((t) => t.status === 'blocked' || (t.status === 'pending' && t.blockers?.length))
    expect(waiting.length).toBeGreaterThan(1)
    const blockedLines = text.split('\n').slice(text.split('\n').indexOf('Blocked and waiting') + 1)
    for (const task of waiting) {
      const line = blockedLines.find((l) => l.trim().startsWith(`${task.id} `))!
      for (const blocker of task.blockers ?? []) expect(line).toContain(blocker.id)
    }
  })

  it('shows busy agents and their tasks mid-run, from orchestrator.status()', async () => {
    let during: OrchestratorStatus | undefined
    await runScenario({
      before: (orchestrator) =>
        orchestrator.events.on('iteration:started', () => {
          during ??= orchestrator.status()
        }),
    })
    const text = formatStatus(during!)
    const busy = during!.agents.find((a) => a.status === 'busy')!
    const row = rows(text, 'Agents').find((r) => r[0] === busy.name)!
    expect(row).toEqual([busy.name, busy.role, busy.backend, 'busy', busy.task])
    expect(text.split('\n')[0]).toMatch(/^Project running/)
  })

  it('colours statuses only when asked, and the columns stay aligned', async () => {
    const { orchestrator } = await runScenario()
    const plain = formatStatus(orchestrator.status())
    const colored = formatStatus(orchestrator.status(), { color: true })
    expect(plain).not.toContain('\u001b')
    expect(colored).toContain('\u001b[')
    expect(stripVTControlCharacters(colored)).toBe(plain)
    const header = plain.split('\n').find((line) => line.includes('PRIORITY'))!
    const statusColumn = header.indexOf('STATUS')
    for (const task of orchestrator.status().tasks) {
      const line = plain.split('\n').find((l) => l.trim().startsWith(`${task.id} `))!
      expect(line.slice(statusColumn).startsWith(task.status)).toBe(true)
    }
  })
})

describe('formatStatus of a task that ran its last try once more', () => {
  it('reads its tries as those max_iterations allows and those run again, not 4 beside max tries 3', () => {
    const text = formatStatus({
      status: 'failed',
      tasks: [
        { id: 'T-1', title: 'Again', role: 'default', status: 'review', iterations: 4, triesAgain: 1 },
        { id: 'T-2', title: 'Once', role: 'default', status: 'complete', iterations: 2 },
      ],
      progress: {
        total: 2,
        complete: 1,
        inProgress: 0,
        pending: 0,
        failed: 0,
        percentage: 50,
        byStatus: {},
        byRole: {},
      },
      agents: [],
    } as unknown as Parameters<typeof formatStatus>[0])
    expect(rows(text, 'Tasks').map((row) => [row[0], row.at(-1)])).toEqual([
      ['T-1', '3 +1 again'],
      ['T-2', '2'],
    ])
  })
})

describe('formatStatus of work waiting for the target', () => {
  it('says which complete tasks wait on the integration branch for which target, and what to do', () => {
    const note =
      'your uncommitted changes in /p (notes.txt) would be overwritten; commit or stash them, then run `tanuki land`'
    const waiting = (id: string) => ({
      id,
      status: 'complete',
      landed: null,
      heldBack: { target: 'main', commit: `${id}0000`, at: '2026-01-01T00:00:00.000Z', note },
    })
    const text = formatStatus({
      status: 'complete',
      tasks: [waiting('H-1'), waiting('H-2'), { id: 'L-1', status: 'complete', landed: { commit: 'c', at: 'x' } }],
    })
    expect(text.split('\n')[0]).toBe('Project complete · 3/3 complete (100%) · 2 waiting for main')
    const section = text.split('\n').slice(text.split('\n').indexOf('Waiting for main'))
    expect(section.slice(0, 3)).toEqual([
      'Waiting for main',
      '  H-1, H-2: landed on the integration branch, not on main, which could not move forward',
      `  note: ${note}`,
    ])
    // Without waiting work, no such section.
    expect(formatStatus({ status: 'complete', tasks: [{ id: 'L-1', status: 'complete' }] })).not.toContain('Waiting')
  })
})

describe('formatStatus of tasks a person must look at', () => {
  it('names each failed or review task with why, and what runs it again: resume does not', () => {
    const text = formatStatus({
      status: 'failed',
      tasks: [
        { id: 'V-1', status: 'failed', reason: 'verify could not run (exit 127: sh: 1: pytset: not found): pytset -q' },
        {
          id: 'R-1',
          status: 'review',
          reason: 'the same failure 3 tries in a row (verify-failed): verify exited with code 1: npm tset',
        },
        { id: 'C-1', status: 'complete' },
      ],
    })
    const lines = text.split('\n')
    const section = lines.slice(lines.indexOf('Needs you'))
    expect(section.slice(0, 4)).toEqual([
      'Needs you',
      '  V-1 failed ← verify could not run (exit 127: sh: 1: pytset: not found): pytset -q',
      '  R-1 review ← the same failure 3 tries in a row (verify-failed): verify exited with code 1: npm tset',
      '  `tanuki task show ID` has its tries, logs and work; then `tanuki task rerun ID` to try again, or `tanuki task mark ID complete` (`project resume` does not run them again).',
    ])
    expect(formatStatus({ status: 'complete', tasks: [{ id: 'C-1', status: 'complete' }] })).not.toContain('Needs you')
  })
})

describe('formatStatus of tasks that wait for a fix', () => {
  it('says complete work held by a target that fails land.verify is not landed, about the branch, not the task files', () => {
    const why =
      "main fails `sh check.sh` without any task's work (since commit c0ffee1 'break it'), so no agent is sent back " +
      'and nothing lands: fix main, then `tanuki land`'
    const text = formatStatus({
      status: 'complete',
      target: 'main',
      tasks: [{ id: 'L-1', status: 'complete', reason: `waits: ${why}`, source: '.tanuki/tasks/L-1.md' }],
    })
    const lines = text.split('\n')
    expect(lines[0]).toBe('Project complete · 1/1 complete (100%) · 1 not landed')
    expect(lines.slice(lines.indexOf('Needs you') + 1)).toEqual([`  L-1 complete, not landed ← ${why}`, ''])
    expect(text).not.toContain('task files')
  })

  it('names, once per cause, the tasks that wait, why, their files and what to do; resume runs them', () => {
    const why =
      'verify `pytset -q` cannot run on this machine for role "default" (exit 127: sh: 1: pytset: not found). ' +
      '`pytset` was not found there: install it (or put it on PATH), or correct the verify in the task files that give it; ' +
      'then `tanuki project resume`'
    const waiting = (id: string) => ({
      id,
      status: 'pending',
      reason: `waits: ${why}`,
      source: `.tanuki/tasks/${id.toLowerCase()}.md`,
    })
    const text = formatStatus({
      status: 'stopped',
      tasks: [
        waiting('T-1'),
        waiting('T-2'),
        { id: 'X-1', status: 'failed', reason: 'agent default-1 failed: boom' },
        // Waits for its dependency, not for the fix: said under "Blocked and waiting".
        {
          id: 'D-1',
          status: 'pending',
          reason: `waits: ${why}`,
          blockers: [{ id: 'T-1', reason: 'incomplete', status: 'pending' }],
        },
        // Pending with a reason of another kind: the next run takes it, nothing to fix.
        { id: 'P-1', status: 'pending', reason: 'run stopped; it will start over' },
      ],
    })
    const lines = text.split('\n')
    expect(lines.slice(lines.indexOf('Needs you'), lines.indexOf('Needs you') + 5)).toEqual([
      'Needs you',
      `  T-1, T-2 wait ← ${why}`,
      '    their task files: .tanuki/tasks/t-1.md, .tanuki/tasks/t-2.md',
      '  X-1 failed ← agent default-1 failed: boom',
      '  `tanuki task show ID` has its tries, logs and work; then `tanuki task rerun ID` to try again, or `tanuki task mark ID complete` (`project resume` does not run them again).',
    ])
    expect(text.match(/P-1/g)).toHaveLength(1)
    expect(
      formatStatus({ status: 'stopped', tasks: [{ id: 'P-1', status: 'pending', reason: 'rerun by a person' }] }),
    ).not.toContain('Needs you')
  })
})

describe('formatStatus of parked agents', () => {
  it('says which agents are parked, until when, and why', () => {
    const until = '2026-11-30T16:22:05.000Z'
    const cause = 'the API is unavailable (529): API Error: 529 Overloaded'
    const text = formatStatus({
      status: 'running',
      tasks: [
        {
          id: 'P-1',
          status: 'in_progress',
          assignedTo: 'default-1',
          lastError: { class: 'rate-limited', cause, iteration: 1, at: '2026-11-30T16:21:44.000Z' },
        },
        { id: 'P-2', status: 'in_progress', assignedTo: 'default-2' },
      ],
      agents: [
        { name: 'default-1', role: 'default', backend: 'process', status: 'busy', task: 'P-1', parkedUntil: until },
        { name: 'default-2', role: 'default', backend: 'process', status: 'busy', task: 'P-2', parkedUntil: until },
      ],
    })
    const at = formatTime(Date.parse(until))
    expect(rows(text, 'Agents').map((row) => row[3])).toEqual([`parked until ${at}`, `parked until ${at}`])
    const lines = text.split('\n')
    expect(lines.slice(lines.indexOf('Parked'), lines.indexOf('Parked') + 2)).toEqual([
      'Parked',
      `  default-1, default-2 until ${at}: ${cause}`,
    ])
    expect(formatStatus({ status: 'running', tasks: [], agents: [{ name: 'a', status: 'idle' }] })).not.toContain(
      'Parked',
    )
  })

  it('counts and names complete work not landed on the target, and none where nothing lands', () => {
    const tasks = [
      { id: 'A', status: 'complete', landed: null },
      { id: 'B', status: 'complete', landed: { commit: 'abc', at: '…' } },
      { id: 'C', status: 'complete', landed: null, waitsFor: 'old' },
    ]
    const text = formatStatus({ status: 'complete', target: 'main', tasks })
    expect(text.split('\n')[0]).toBe('Project complete · 3/3 complete (100%) · 1 waiting for old · 1 not landed')
    expect(text).toContain('Needs you\n  A complete, not landed ← `tanuki land` puts its work on main\n')
    // No target: outside git nothing lands, and nothing is said.
    expect(formatStatus({ status: 'complete', tasks: [tasks[0]!] })).not.toContain('not landed')
  })

  it('groups complete work not landed by what holds it: `tanuki land`, or the dependencies that need a person', () => {
    const tasks = [
      { id: 'S', status: 'review', reason: 'no tries left' },
      { id: 'G', status: 'failed', reason: 'verify failed' },
      { id: 'C', status: 'complete', landed: null, dependsOn: ['S'] },
      // Through C, complete and not landed itself, it waits for S too.
      { id: 'D', status: 'complete', landed: null, dependsOn: ['C'] },
      { id: 'F', status: 'complete', landed: null, dependsOn: ['G', 'L'] },
      { id: 'E', status: 'complete', landed: null, dependsOn: ['L'] },
      { id: 'E2', status: 'complete', landed: null },
      { id: 'L', status: 'complete', landed: { commit: 'abc', at: '…' } },
      { id: 'H', status: 'complete', landed: null, heldBack: { target: 'main', commit: 'h', at: '…', note: 'stuck' } },
      { id: 'W', status: 'complete', landed: null, waitsFor: 'old', dependsOn: ['S'] },
    ]
    const text = formatStatus({ status: 'failed', target: 'main', tasks })
    const lines = text.split('\n')
    expect(lines[0]).toMatchInlineSnapshot(
      `"Project failed · 8/10 complete (80%) · 1 review · 1 failed · 1 waiting for main · 1 waiting for old · 5 not landed"`,
    )
    expect(lines.slice(lines.indexOf('Needs you'), lines.indexOf('Needs you') + 7)).toMatchInlineSnapshot(`
      [
        "Needs you",
        "  E, E2 complete, not landed ← \`tanuki land\` puts their work on main",
        "  C, D complete, not landed ← waits for S (in review), which needs you first",
        "  F complete, not landed ← waits for G (failed), which needs you first",
        "  S review ← no tries left",
        "  G failed ← verify failed",
        "  \`tanuki task show ID\` has its tries, logs and work; then \`tanuki task rerun ID\` to try again, or \`tanuki task mark ID complete\` (\`project resume\` does not run them again).",
      ]
    `)
  })

  it('says a project whose only unfinished work waits for review needs review, not that it failed', () => {
    const review = formatStatus({
      status: 'failed',
      tasks: [
        { id: 'R-1', status: 'review', reason: 'the task has no completion criteria, so a person reviews it' },
        { id: 'D-1', status: 'pending', blockers: [{ id: 'R-1', reason: 'incomplete', status: 'review' }] },
        { id: 'C-1', status: 'complete' },
      ],
    })
    expect(review.split('\n')[0]).toBe('Project needs review · 1/3 complete (33%) · 1 review · 1 pending')
    expect(review).toContain('\n  R-1 review ← the task has no completion criteria, so a person reviews it\n')
    // A task that failed, or one blocked by it, is a failure still.
    for (const status of ['failed', 'blocked'])
      expect(
        formatStatus({
          status: 'failed',
          tasks: [
            { id: 'R-1', status: 'review' },
            { id: 'F-1', status },
          ],
        }).split('\n')[0],
      ).toMatch(/^Project failed · /)
  })
})
