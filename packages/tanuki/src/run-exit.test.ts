import type { RunSummary } from '@tanuki/core'
import { describe, expect, it } from 'vitest'
import { EXIT, runExit } from './run-exit.ts'

const summary = (over: Partial<RunSummary>): RunSummary => ({
  allComplete: false,
  reason: 'settled',
  progress: {
    total: 4,
    complete: 1,
    inProgress: 0,
    pending: 3,
    failed: 0,
    review: 0,
    blocked: 0,
    landed: 1,
    heldBack: 0,
    nothingToLand: 0,
    percentage: 25,
    byStatus: { pending: 3, assigned: 0, in_progress: 0, review: 0, complete: 1, failed: 0, blocked: 0 },
    byRole: {},
  },
  spend: { usd: 0, tokens: 0 },
  problems: [],
  ...over,
})

function exit(over: Partial<RunSummary>, configFile?: string): { code: number; text: string } {
  let text = ''
  const code = runExit(
    summary(over),
    (t) => {
      text += t
    },
    configFile,
  )
  return { code, text }
}

describe('runExit', () => {
  it('is 0 and quiet when every task is complete', () => {
    expect(exit({ allComplete: true })).toEqual({ code: EXIT.complete, text: '' })
  })

  it('is 1 when every task is complete but landing stopped: the work is not on the branch', () => {
    const why = '`land.verify` `nope` could not run on the combined work (exit 127), so nothing more lands in this run.'
    expect(exit({ allComplete: true, landingStopped: why })).toEqual({
      code: EXIT.notComplete,
      text: `tanuki: landing stopped: ${why}\n`,
    })
  })

  it('is 1 when every task is complete but the target could not move to their work: where it waits, why, what to do', () => {
    const note =
      'your uncommitted changes in /p (notes.txt) would be overwritten by the landed work; nothing of yours was touched. ' +
      'The work waits on tanuki/land/main: commit or stash your changes, then run `tanuki land`.'
    expect(exit({ allComplete: true, heldBack: { target: 'main', tasks: ['H-1', 'H-2'], note } })).toEqual({
      code: EXIT.notComplete,
      text: `tanuki: not on main yet: H-1, H-2, landed on the integration branch: ${note}\n`,
    })
  })

  it('is 1 when every task is complete and landed but the target is not on the remote `land.push` names: why, what to do', () => {
    const pushFailed = { remote: 'origin', branch: 'main', error: 'pushes are frozen', at: 1 }
    expect(exit({ allComplete: true, pushFailed })).toEqual({
      code: EXIT.notComplete,
      text:
        'tanuki: main is not pushed to origin: pushes are frozen. ' +
        'Fix that, then `tanuki land` pushes it again (or `git push origin main`).\n',
    })
  })

  it('is 1 when every task is complete but the run stopped before some of their work landed: which, and what lands it', () => {
    expect(exit({ allComplete: true, reason: 'stopped', unlanded: ['B', 'C'] })).toEqual({
      code: EXIT.notComplete,
      text: 'tanuki: not landed: B, C, complete, but the run ended before their work landed; `tanuki land` (or `tanuki project resume`) lands it.\n',
    })
    // The lander failed on it: what it said is above, in the run's output.
    expect(exit({ allComplete: true, unlanded: ['B'] })).toEqual({
      code: EXIT.notComplete,
      text: 'tanuki: not landed: B, complete, but landing it failed (see above); `tanuki land` tries again.\n',
    })
  })

  it('is 0 when every task is complete and landing is left to a person, but says what is not landed and what lands it', () => {
    expect(exit({ allComplete: true, toLand: ['A', 'B'] })).toEqual({
      code: EXIT.complete,
      text: 'tanuki: not landed: A, B, complete; landing is left to you (`land: { auto: false }`): `tanuki land` puts their work on your branch.\n',
    })
  })

  it('names the tasks settled without completing, and for one alone gives the commands with its id', () => {
    const progress = { ...summary({}).progress, complete: 3, pending: 0, failed: 1, review: 0 }
    expect(exit({ progress, settled: { failed: ['A'], review: [] } })).toEqual({
      code: EXIT.notComplete,
      text:
        'tanuki: 1 of 4 tasks are not complete: A failed, which `tanuki project resume` does not run again. ' +
        '`tanuki task show A` says why; then `tanuki task rerun A` to try again, or `tanuki task mark A complete`. ' +
        'See `tanuki project status`.\n',
    })
    const more = { ...progress, complete: 1, failed: 2, review: 1 }
    expect(exit({ progress: more, settled: { failed: ['A', 'B'], review: ['C'] } }).text).toContain(
      ': 2 failed (A, B), C review, which `tanuki project resume` does not run again. `tanuki task show ID` says why; ' +
        'then `tanuki task rerun ID` to try again, or `tanuki task mark ID complete`.',
    )
  })

  it('ends a run whose budget is spent with its own code and what it spent', () => {
    // The project's own config file: advice to edit tanuki.config.ts beside a .mjs one makes a second file, which wins.
    const { code, text } = exit({ reason: 'budget', spend: { usd: 4.5, tokens: 120_000 } }, 'tanuki.config.mjs')
    expect(code).toBe(3)
    expect(text).toBe(
      "tanuki: the run's budget is spent ($4.50, 120000 tokens): 3 of 4 tasks are not complete; they wait, unharmed. " +
        'Raise `budget` in tanuki.config.mjs, then `tanuki project resume`.\n',
    )
  })

  it('says which verify cannot run, the tasks that wait for it and their files, and what to do', () => {
    const cause =
      'verify `pytset -q` cannot run on this machine for role "default" (exit 127: sh: 1: pytset: not found). ' +
      '`pytset` was not found there: install it (or put it on PATH), or correct the verify in the task files that give it; ' +
      'then `tanuki project resume`'
    const { code, text } = exit({
      verifyBlocked: [
        {
          role: 'default',
          command: 'pytset -q',
          cause,
          tasks: ['T1', 'T2', 'T3'],
          sources: ['.tanuki/tasks/t1.md', '.tanuki/tasks/t2.md', '.tanuki/tasks/t3.md'],
        },
      ],
    })
    expect(code).toBe(EXIT.notComplete)
    expect(text.trimEnd().split('\n')).toEqual([
      `tanuki: ${cause}.`,
      'tanuki: waiting for it: T1, T2, T3; their task files: .tanuki/tasks/t1.md, .tanuki/tasks/t2.md, .tanuki/tasks/t3.md.',
      'tanuki: 3 of 4 tasks are not complete (fix the verify above, then `tanuki project resume`). See `tanuki project status`.',
    ])
  })

  it('says what to fix when a role is paused by its configuration', () => {
    const { code, text } = exit({ problems: ['role "web" is paused: ANTHROPIC_API_KEY was refused (401)'] })
    expect(code).toBe(EXIT.notComplete)
    expect(text.split('\n')).toEqual([
      'tanuki: role "web" is paused: ANTHROPIC_API_KEY was refused (401)',
      'tanuki: 3 of 4 tasks are not complete (fix the paused role above, then `tanuki project resume`). See `tanuki project status`.',
      '',
    ])
  })

  it('says a run that ended for its budget ended before the work landed, not that landing failed', () => {
    expect(exit({ allComplete: true, reason: 'budget', unlanded: ['B'] }).text).toContain(
      'not landed: B, complete, but the run ended before its work landed',
    )
  })

  it('names the first 20 of a long list of tasks that did not land, and how many more', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `T-${i + 1}`)
    const { text } = exit({ allComplete: true, reason: 'stopped', unlanded: ids })
    expect(text).toContain(`tanuki: not landed: ${ids.slice(0, 20).join(', ')} and 980 more, complete, but`)
    expect(text).not.toContain('T-21,')
  })

  it('says how to continue a stopped run', () => {
    expect(exit({ reason: 'stopped' }).text).toContain('(stopped; `tanuki project resume` continues)')
  })
})

describe('runExit of tasks that failed or wait for review', () => {
  it('says that resume does not run them again, and what does', () => {
    const { code, text } = exit({
      progress: { ...summary({}).progress, complete: 1, pending: 1, failed: 1, review: 1 },
    })
    expect(code).toBe(EXIT.notComplete)
    expect(text).toBe(
      'tanuki: 3 of 4 tasks are not complete: 1 failed, 1 review, which `tanuki project resume` does not run again. ' +
        '`tanuki task show ID` says why; then `tanuki task rerun ID` to try again, or `tanuki task mark ID complete`. ' +
        'See `tanuki project status`.\n',
    )
  })
})
