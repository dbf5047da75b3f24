// Runs that go wrong on purpose, with the built CLI and real processes: a verify that fails once,
// an agent's process killed mid-task, the orchestrator killed with -9 and resumed.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  agentPid,
  cleanup,
  createProject,
  isAlive,
  journalStatuses,
  lockPid,
  readEvents,
  setCliEnv,
  startTanuki,
  statusJson,
  tanuki,
  waitFor,
} from './helpers.ts'

const outside: string[] = []
/** A folder outside the repository (and its worktrees) that every agent can append to. */
function sharedDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-e2e-shared-'))
  outside.push(dir)
  return dir
}

/** The iterations the project's journal records of a task (the orchestrator may be writing its last line). */
function journalIterations(dir: string, id: string): number | undefined {
  let text = ''
  try {
    text = readFileSync(join(dir, '.tanuki', 'journal.ndjson'), 'utf8')
  } catch {
    return undefined
  }
  let iterations: number | undefined
  for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
    if (!line) continue
    const record = JSON.parse(line) as {
      t: string
      id?: string
      iterations?: number
      state?: { tasks: Record<string, { iterations?: number }> }
    }
    if (record.t === 'snapshot') iterations = record.state!.tasks[id]?.iterations ?? iterations
    if (record.t === 'task' && record.id === id && record.iterations !== undefined) iterations = record.iterations
  }
  return iterations
}

afterEach(async () => {
  await cleanup()
  for (const dir of outside.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('a verify that fails on the first try', () => {
  it('runs a second iteration whose prompt carries what the first verify printed', async () => {
    const project = createProject({
      tasks: [
        {
          id: 'V-1',
          title: 'Two passes',
          // The first pass only leaves notes; the second finishes. Verify explains itself on failure.
          sh: 'if [ -f notes.txt ]; then touch done.txt; else echo first > notes.txt; fi',
          // The distinctive text is computed, so the command itself (which the prompt quotes) does not contain it.
          verify: 'test -f done.txt || { echo "VERIFY-SAYS: done.txt is missing (code $((7000 + 731)))"; exit 1; }',
          maxIterations: 3,
        },
      ],
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(0)
    const status = await statusJson(project.dir)
    expect(status.tasks).toEqual([expect.objectContaining({ id: 'V-1', status: 'complete', iterations: 2 })])

    const first = readFileSync(join(project.dir, '.tanuki', 'logs', 'tasks', 'V-1', 'iteration-001.log'), 'utf8')
    const second = readFileSync(join(project.dir, '.tanuki', 'logs', 'tasks', 'V-1', 'iteration-002.log'), 'utf8')
    const prompt = (log: string): string => log.slice(log.indexOf('## Prompt'), log.indexOf('## Agent output'))
    expect(prompt(first)).not.toContain('code 7731')
    expect(prompt(second)).toContain('VERIFY-SAYS: done.txt is missing (code 7731)')
    // The same, through the CLI.
    const logs = await tanuki(project.dir, 'logs', 'V-1')
    expect(logs.stdout).toContain('iteration 2/3')
    expect(logs.stdout.split('code 7731').length - 1).toBeGreaterThanOrEqual(2)
  })
})

describe('an agent process killed mid-task', () => {
  it('is reported as a crash and the task is reassigned and completes', async () => {
    const shared = sharedDir()
    const marker = join(shared, 'first-run')
    const project = createProject({
      tasks: [
        {
          id: 'K-1',
          title: 'Sleepy',
          // The first run hangs until it is killed; the rerun finishes at once.
          sh: `if [ -f ${marker} ]; then echo rerun > k.txt; else touch ${marker}; echo hanging; sleep 60; fi`,
          verify: 'test -f k.txt',
        },
      ],
    })
    const run = startTanuki(project.dir, 'project', 'start')
    const pid = await waitFor('the agent process', async () => {
      if (!(await waitFor('the marker', () => readFileSafe(marker) !== undefined))) return undefined
      return agentPid(project.dir, 'default-1')
    })
    process.kill(pid, 'SIGKILL')
    const result = await run.done
    expect(result.code, result.stderr + result.stdout).toBe(0)

    const status = await statusJson(project.dir)
    expect(status.tasks).toEqual([expect.objectContaining({ id: 'K-1', status: 'complete' })])
    const events = readEvents(project.dir)
    const crashed = events.find((e) => e.event === 'agent:crashed')
    expect(crashed).toMatchObject({ agent: 'default-1', taskId: 'K-1' })
    expect(String(crashed!.reason)).toContain('SIGKILL')
    expect(events.some((e) => e.event === 'task:requeued' && e.taskId === 'K-1')).toBe(true)
    const assigned = events.filter((e) => e.event === 'task:assigned' && e.taskId === 'K-1')
    expect(assigned.length).toBe(2)
    expect(readFileSync(join(project.dir, '.tanuki', 'tasks', 'K-1.md'), 'utf8')).toMatch(/^status: complete$/m)
  })
})

function readFileSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

describe('kill -9 of the orchestrator, then `project resume`', () => {
  it('completes every task, reruns none that had completed, leaves none in flight, and takes over the stale lock', async () => {
    const shared = sharedDir()
    const runs = join(shared, 'runs.log')
    // A small DAG: 1 → (2, 3) → 4 → (5, 6); two agents.
    const deps: Record<string, string[]> = {
      'D-1': [],
      'D-2': ['D-1'],
      'D-3': ['D-1'],
      'D-4': ['D-2', 'D-3'],
      'D-5': ['D-4'],
      'D-6': ['D-4'],
    }
    const project = createProject({
      agents: { default: 2 },
      tasks: Object.entries(deps).map(([id, dependsOn]) => ({
        id,
        dependsOn,
        sh: `echo ${id} >> ${runs}; sleep 0.7; echo ${id} > ${id}.txt`,
        verify: `test -f ${id}.txt`,
      })),
    })
    const start = startTanuki(project.dir, 'project', 'start')
    const recorded = (id: string): string | undefined => journalStatuses(project.dir)[id]
    // Kill while at least two are complete and another one is in flight.
    await waitFor(
      'two completed tasks and one in flight',
      () =>
        Object.keys(deps).filter((id) => recorded(id) === 'complete').length >= 2 &&
        Object.keys(deps).some((id) => recorded(id) === 'in_progress'),
      60_000,
      20,
    )
    const orchestrator = lockPid(project.dir)!
    expect(orchestrator).toBe(start.pid)
    process.kill(orchestrator, 'SIGKILL')
    const killed = await start.done
    expect(killed.signal).toBe('SIGKILL')

    // What the journal says now is what the resume must respect.
    const completeBefore = Object.keys(deps).filter((id) => recorded(id) === 'complete')
    expect(completeBefore.length).toBeGreaterThanOrEqual(2)
    const inFlight = Object.keys(deps).filter((id) => recorded(id) === 'in_progress' || recorded(id) === 'assigned')
    expect(inFlight.length).toBeGreaterThanOrEqual(1)
    // The lock is left behind, naming a dead process.
    expect(lockPid(project.dir)).toBe(orchestrator)
    expect(isAlive(orchestrator)).toBe(false)
    const before = await statusJson(project.dir)
    expect(before.status).toBe('stopped')

    const resume = await tanuki(project.dir, 'project', 'resume')
    expect(resume.code, resume.stderr + resume.stdout).toBe(0)
    expect(resume.stdout).toContain(
      `Resuming: ${completeBefore.length}/6 complete; back to pending: ${inFlight.join(', ')}`,
    )

    const after = await statusJson(project.dir)
    expect(after.progress).toMatchObject({ total: 6, complete: 6 })
    expect(after.tasks.filter((t) => t.status === 'assigned' || t.status === 'in_progress')).toEqual([])
    const ran = readFileSync(runs, 'utf8').trim().split('\n')
    for (const id of completeBefore)
      expect(
        ran.filter((line) => line === id),
        `${id} ran again`,
      ).toHaveLength(1)
    for (const id of Object.keys(deps)) expect(ran).toContain(id)
    // Every dependency ran before its dependents, across the kill.
    for (const [id, dependsOn] of Object.entries(deps)) {
      for (const dep of dependsOn) expect(ran.indexOf(dep)).toBeLessThan(ran.lastIndexOf(id))
    }
    expect(lockPid(project.dir)).toBeUndefined()
  })

  it('a task cut off by kill -9 again and again gets max_iterations tries and one more, not a set per crash; a rerun gives fresh ones', async () => {
    const runs = join(sharedDir(), 'runs.log')
    // Each try is counted outside the worktree; the 2nd, 3rd and 4th hang until the orchestrator is killed.
    const project = createProject({
      tasks: [
        {
          id: 'K-1',
          sh: `echo try >> ${runs}; n=$(wc -l < ${runs}); if [ "$n" -ge 2 ] && [ "$n" -le 4 ]; then sleep 60; fi`,
          verify: 'test -f done.txt',
          maxIterations: 3,
        },
      ],
    })
    const tries = (): number => (existsSync(runs) ? readFileSync(runs, 'utf8').split('\n').filter(Boolean).length : 0)
    const killDuring = async (run: ReturnType<typeof startTanuki>, n: number): Promise<void> => {
      await waitFor(`try ${n} hanging`, () => tries() === n && agentPid(project.dir, 'default-1'), 60_000)
      const agent = agentPid(project.dir, 'default-1')!
      await waitFor(`try ${n} in the journal`, () => journalIterations(project.dir, 'K-1') === n)
      process.kill(lockPid(project.dir)!, 'SIGKILL')
      expect((await run.done).signal).toBe('SIGKILL')
      process.kill(-agent, 'SIGKILL')
    }

    await killDuring(startTanuki(project.dir, 'project', 'start'), 2)
    // The resume goes on with try 3 of 3 (the cut-off one counts), and is killed during it too.
    const second = startTanuki(project.dir, 'project', 'resume')
    await killDuring(second, 3)
    expect(second.output().stdout).toContain('Resuming: 0/1 complete; back to pending: K-1\n')
    // Its last try never got a verdict: the next resume runs it again, once; killed during that too.
    const third = startTanuki(project.dir, 'project', 'resume')
    await killDuring(third, 4)
    expect(third.output().stdout).toContain('Resuming: 0/1 complete; back to pending: K-1\n')

    // A crash cut off that one more try as well: the next resume pays for none, says why and what gives more.
    const last = await tanuki(project.dir, 'project', 'resume')
    expect(last.code).toBe(1)
    expect(tries()).toBe(4)
    const reason =
      'no tries left (3): a crash (or kill -9) cut off the extra try its last try without a verdict got; ' +
      '`tanuki task rerun K-1` gives fresh tries'
    expect(last.stdout).toContain(reason)
    expect(last.stdout).toContain('Resuming: 0/1 complete; no tries left, to review: K-1\n')
    const status = await statusJson(project.dir)
    expect(status.tasks.find((t) => t.id === 'K-1')).toMatchObject({ status: 'review', iterations: 4 })

    // A person's rerun gives it max_iterations fresh tries.
    expect((await tanuki(project.dir, 'task', 'rerun', 'K-1')).code).toBe(0)
    const rerun = await tanuki(project.dir, 'project', 'resume')
    expect(rerun.code).toBe(1)
    expect(tries()).toBe(7)
    expect((await statusJson(project.dir)).tasks.find((t) => t.id === 'K-1')).toMatchObject({
      status: 'review',
      iterations: 7,
    })
  })

  it('the try a resume runs after kill -9 cut off the last is told why the try before failed; a resume with none left stops the agent still running', async () => {
    const shared = sharedDir()
    const runs = join(shared, 'runs.log')
    const prompts = join(shared, 'prompts.log')
    // A command agent: its prompt (stdin) is recorded outside the worktree; every try after the first hangs.
    const script = join(shared, 'agent.sh')
    writeFileSync(
      script,
      `#!/bin/sh\necho try >> ${runs}\nn=$(wc -l < ${runs})\n{ echo "=== prompt $n"; cat; } >> ${prompts}\nif [ "$n" -ge 2 ]; then echo "half of try $n" > partial.txt; sleep 60; fi\n`,
    )
    chmodSync(script, 0o755)
    const project = createProject({
      config: `import { defineConfig } from 'tanuki'\nexport default defineConfig({\n  cooldownMs: 50,\n  agents: { default: { backend: 'process', kind: 'command', command: [${JSON.stringify(script)}] } },\n})\n`,
      tasks: [
        {
          id: 'P-1',
          // Computed, so the command the prompt quotes does not hold the words its output says.
          verify: 'test -f done.txt || { echo "AssertionError: expected $((40 + 2)) to be 43"; exit 1; }',
          maxIterations: 2,
        },
      ],
    })
    const tries = (): number => (existsSync(runs) ? readFileSync(runs, 'utf8').split('\n').filter(Boolean).length : 0)
    const killDuring = async (run: ReturnType<typeof startTanuki>, n: number, before?: number): Promise<number> => {
      const agent = await waitFor(
        `try ${n} hanging`,
        () => {
          const pid = agentPid(project.dir, 'default-1')
          return tries() === n && pid !== before && pid !== undefined && isAlive(pid) ? pid : undefined
        },
        60_000,
      )
      await waitFor(`try ${n} in the journal`, () => journalIterations(project.dir, 'P-1') === n)
      process.kill(lockPid(project.dir)!, 'SIGKILL')
      expect((await run.done).signal).toBe('SIGKILL')
      return agent
    }

    // Try 1 fails its verify; try 2, the last, is cut off by kill -9; its agent goes on.
    const first = await killDuring(startTanuki(project.dir, 'project', 'start'), 2)
    expect(isAlive(first)).toBe(true)
    // The resume runs the last try again: it is told why try 1 failed, as try 2 was.
    const second = startTanuki(project.dir, 'project', 'resume')
    const again = await killDuring(second, 3, first)
    const said = readFileSync(prompts, 'utf8').split(/^=== prompt \d+\n/m)
    expect(said[2]).toContain('## Previous try (1) did not pass')
    expect(said[3]).toContain('Task P-1 (try 2 of 2).')
    expect(said[3]).toContain('## Previous try (1) did not pass')
    expect(said[3]).toContain('AssertionError: expected 42 to be 43')
    expect(said[3]).toContain('## Try 2 was cut off before it was checked')
    // The same agent's worktree carried the cut-off try's work on (its partial.txt), and says so.
    expect(said[3]).toContain('What it did so far is in your working directory, uncommitted')
    // The console says why try 2/2 runs a second time.
    expect(second.output().stdout).toContain(
      '↻ P-1: its last try (2/2) was cut off (the run crashed or was killed); running it once more\n',
    )

    // Killed during that one more try too: the next resume starts no agent, and stops the one still running.
    expect(isAlive(again)).toBe(true)
    const last = await tanuki(project.dir, 'project', 'resume')
    expect(last.code).toBe(1)
    expect(tries()).toBe(3)
    expect(last.stdout).toContain('Resuming: 0/1 complete; no tries left, to review: P-1\n')
    expect(last.stdout).toContain(`· stopped the agents a killed run left running: default-1 (pid ${again})\n`)
    await waitFor('the agent stopped', () => !isAlive(again), 5_000)
    expect((await statusJson(project.dir)).agents.some((agent) => agent.leftRunning)).toBe(false)
    // Three tries beside max tries 2 read as the last one run once more, in the status and task show.
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ iterations: 3, triesAgain: 1 })
    expect((await tanuki(project.dir, 'project', 'status')).stdout).toMatch(/P-1 .* review +default-1 +2 \+1 again\n/)
    expect((await tanuki(project.dir, 'task', 'show', 'P-1')).stdout).toContain('  iterations:  2/2 +1 again (')
  })

  it('`project stop` stops the agents a killed run left running, and says so', async () => {
    const project = createProject({
      agents: { default: 2 },
      tasks: [
        { id: 'L-1', sh: 'sleep 60', verify: 'true' },
        { id: 'L-2', sh: 'sleep 60', verify: 'true' },
      ],
    })
    const start = startTanuki(project.dir, 'project', 'start')
    const agents = await waitFor('both agents running their step', () => {
      const found = ['default-1', 'default-2'].map((agent) => agentPid(project.dir, agent))
      return found.every((pid) => pid !== undefined && isAlive(pid)) ? (found as number[]) : undefined
    })
    process.kill(lockPid(project.dir)!, 'SIGKILL')
    expect((await start.done).signal).toBe('SIGKILL')
    // The orchestrator is gone; its agents' steps are not, and the status says so.
    for (const pid of agents) expect(isAlive(pid)).toBe(true)
    const status = await tanuki(project.dir, 'project', 'status')
    expect(status.stdout).toMatch(/default-1 +default +process +left running \(pid \d+\)/)
    expect(status.stdout).toContain(
      'no orchestrator runs, but a killed run left default-1, default-2 running: `tanuki project stop` stops them',
    )
    expect((await statusJson(project.dir)).agents.map((agent) => agent.leftRunning !== undefined)).toEqual([true, true])

    const stop = await tanuki(project.dir, 'project', 'stop')
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toContain(
      'No orchestrator is running for this project; stopped the agents a killed run left running: default-1, default-2.',
    )
    await waitFor('the agents gone', () => agents.every((pid) => !isAlive(pid)), 5_000)
    // Nothing left to stop the second time.
    const again = await tanuki(project.dir, 'project', 'stop')
    expect(again.stdout.trim()).toBe('No orchestrator is running for this project.')
    expect((await statusJson(project.dir)).agents.some((agent) => agent.leftRunning)).toBe(false)
  })

  it('a lock naming a dead process is taken over by resume', async () => {
    const project = createProject({ tasks: [{ id: 'L-1', sh: 'touch l.txt', verify: 'test -f l.txt' }] })
    // A real pid that is surely dead: a process that ran and exited.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    const pid = Number(dead.stdout)
    expect(isAlive(pid)).toBe(false)
    writeFileSync(
      join(project.dir, '.tanuki', 'orchestrator.lock'),
      JSON.stringify({
        pid,
        host: (await import('node:os')).hostname(),
        startedAt: new Date(0).toISOString(),
        command: 'start',
      }),
    )
    const resume = await tanuki(project.dir, 'project', 'resume')
    expect(resume.code, resume.stderr + resume.stdout).toBe(0)
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ id: 'L-1', status: 'complete' })
    expect(lockPid(project.dir)).toBeUndefined()
  })
})

describe('an agent whose command is missing', () => {
  it('is reported as an agent that could not start, never as an iteration, however many runs try', async () => {
    const project = createProject({
      tasks: [{ id: 'M-1', verify: 'true' }],
      config: `import { defineConfig } from 'tanuki'

export default defineConfig({
  cooldownMs: 50,
  defaults: { backend: 'process', kind: 'command', command: ['tanuki-e2e-no-such-agent', '{prompt}'] },
  agents: { default: { count: 1 } },
})
`,
    })
    const run = await tanuki(project.dir, 'project', 'start', '--verbose')
    expect(run.code).not.toBe(0)
    expect(run.stdout).toMatch(/… M-1: agent default-1 could not start, no iteration ran \[could-not-start\] — /)
    expect(run.stdout).not.toMatch(/M-1 iteration 1\/30: /)
    expect(run.stdout).toContain('| M-1 | Task M-1 | default | pending | — | 0 |')
    // Again: still nothing ran, and the journal counted nothing.
    expect((await tanuki(project.dir, 'project', 'resume')).code).not.toBe(0)
    const task = (await statusJson(project.dir)).tasks.find((t) => t.id === 'M-1')
    expect(task).toMatchObject({ status: 'pending', iterations: 0, lastError: { class: 'could-not-start' } })
  })
})

/** One `command` agent whose every run appends its task's id (the prompt's title) to `runs`, outside the worktrees. */
function countingRuns(runs: string, agents = 1): string {
  return `import { defineConfig } from 'tanuki'

export default defineConfig({
  cooldownMs: 50,
  defaults: {
    backend: 'process',
    kind: 'command',
    command: ['sh', '-c', 'printf "%s\\\\n" "$1" | grep -o -m1 "Task [A-Z]-[0-9]" >> ${JSON.stringify(runs)}', 'agent', '{prompt}'],
  },
  agents: { default: { count: ${agents} } },
})
`
}

describe('a verify whose program is missing, shared by several tasks', () => {
  it('costs no agent run, with an agent each: they wait, the run says what to install and where; a resume after the fix runs them', async () => {
    const shared = sharedDir()
    const runs = join(shared, 'runs.log')
    const shared4 = ['S-1', 'S-2', 'S-3', 'S-4']
    const project = createProject({
      tasks: [
        ...shared4.map((id, i) => ({
          id,
          verify: 'tanuki-e2e-pytset -q',
          ...(i === 0 ? { priority: 'critical' } : {}),
        })),
        // Its own verify, which runs: not held.
        { id: 'O-1', priority: 'low', verify: 'true' },
      ],
      // An agent per task: all start at once.
      config: countingRuns(runs, 5),
    })
    const ran = (): string[] =>
      readFileSync(runs, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.replace('Task ', ''))

    const first = await tanuki(project.dir, 'project', 'start')
    expect(first.code, first.stderr).toBe(1)
    // The program was looked for before any agent worked: none was paid to meet it.
    expect(ran()).toEqual(['O-1'])
    const err = first.stderr
    expect(err).toContain(
      'tanuki: verify `tanuki-e2e-pytset -q` cannot run on this machine for role "default" (looked for before any agent worked: `command -v tanuki-e2e-pytset` found nothing). `tanuki-e2e-pytset` was not found there: install it (or put it on PATH), or correct the verify in the task files that give it; then `tanuki project resume`.',
    )
    expect(err).toContain(
      `tanuki: waiting for it: S-1, S-2, S-3, S-4; their task files: ${shared4.map((id) => `.tanuki/tasks/${id}.md`).join(', ')}.`,
    )
    expect(err).toContain('(fix the verify above, then `tanuki project resume`)')
    const status = await statusJson(project.dir)
    expect(status.status).toBe('stopped')
    expect(status.tasks.map((t) => [t.id, t.status, t.iterations])).toEqual([
      ['O-1', 'complete', 1],
      ['S-1', 'pending', 0],
      ['S-2', 'pending', 0],
      ['S-3', 'pending', 0],
      ['S-4', 'pending', 0],
    ])
    const text = await tanuki(project.dir, 'project', 'status')
    const lines = text.stdout.split('\n')
    expect(lines.slice(lines.indexOf('Needs you'), lines.indexOf('Needs you') + 3)).toEqual([
      'Needs you',
      expect.stringMatching(
        /^ {2}S-1, S-2, S-3, S-4 wait ← verify `tanuki-e2e-pytset -q` cannot run on this machine .* then `tanuki project resume`$/,
      ),
      `    their task files: ${shared4.map((id) => `.tanuki/tasks/${id}.md`).join(', ')}`,
    ])

    // Resumed without the fix: S-1's agent runs the verify before it works, and no one is paid.
    const unfixed = await tanuki(project.dir, 'project', 'resume')
    expect(unfixed.code, unfixed.stderr).toBe(1)
    expect(ran()).toEqual(['O-1'])
    expect(unfixed.stderr).toContain('cannot run on this machine for role "default"')
    expect(unfixed.stderr).toContain('tanuki: waiting for it: S-1, S-2, S-3, S-4;')

    // The program installed (on PATH): the resume runs every task that waited, once each.
    const bin = join(shared, 'bin')
    mkdirSync(bin)
    writeFileSync(join(bin, 'tanuki-e2e-pytset'), '#!/bin/sh\nexit 0\n')
    chmodSync(join(bin, 'tanuki-e2e-pytset'), 0o755)
    setCliEnv({ PATH: `${bin}:${process.env.PATH}` })
    const resume = await tanuki(project.dir, 'project', 'resume')
    expect(resume.code, resume.stderr).toBe(0)
    expect(ran().slice(1).sort()).toEqual(shared4)
    expect((await statusJson(project.dir)).progress).toMatchObject({ total: 5, complete: 5 })
  })
})

/**
 * An agent, as a script outside the project: it appends its task's id (the prompt's title) to
 * `runs`, and, when the prompt says a program the verify's script runs was not found, installs
 * it into the worktree's `node_modules/.bin`, as `npm install` would.
 */
function installingAgent(shared: string, runs: string, program: string): string {
  const agent = join(shared, 'agent.sh')
  writeFileSync(
    agent,
    `#!/bin/sh
printf '%s\\n' "$1" | grep -o -m1 'Task [A-Z]-[0-9]' >> ${JSON.stringify(runs)}
case "$1" in
  *'It runs \`${program}\`, which was not found'*)
    mkdir -p node_modules/.bin
    printf '#!/bin/sh\\nexit 0\\n' > node_modules/.bin/${program}
    chmod +x node_modules/.bin/${program} ;;
esac
`,
  )
  return agent
}

const ranIn = (runs: string): string[] =>
  (existsSync(runs) ? readFileSync(runs, 'utf8') : '')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace('Task ', ''))

describe('a verify whose script runs a program the worktree lacks (npm test, no node_modules)', () => {
  it('holds nothing: the agent reads what was not found, installs it, and each task completes', async () => {
    const shared = sharedDir()
    const runs = join(shared, 'runs.log')
    const agent = installingAgent(shared, runs, 'tanuki-e2e-vitest')
    const project = createProject({
      tasks: [
        { id: 'N-1', priority: 'critical', verify: 'npm test' },
        { id: 'N-2', verify: 'npm test' },
      ],
      files: {
        'package.json': `${JSON.stringify({ name: 'app', version: '1.0.0', scripts: { test: 'tanuki-e2e-vitest run' } })}\n`,
        '.gitignore': 'node_modules/\n',
      },
      config: `import { defineConfig } from 'tanuki'

export default defineConfig({
  cooldownMs: 50,
  land: false,
  defaults: { backend: 'process', kind: 'command', command: ['sh', ${JSON.stringify(agent)}, '{prompt}'] },
  agents: { default: { count: 1 } },
})
`,
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).not.toContain('cannot run')
    // N-1's first try met the missing runner (npm exits 127); its second installed it.
    expect(ranIn(runs).slice(0, 2)).toEqual(['N-1', 'N-1'])
    expect(ranIn(runs)).toContain('N-2')
    const status = await statusJson(project.dir)
    expect(status.tasks.map((t) => [t.id, t.status])).toEqual([
      ['N-1', 'complete'],
      ['N-2', 'complete'],
    ])
  })
})

describe('a verify whose program the agent is to make', () => {
  it('holds nothing: a script in the workspace, or a program put in node_modules/.bin, which is on PATH', async () => {
    const shared = sharedDir()
    const runs = join(shared, 'runs.log')
    const agent = join(shared, 'agent.sh')
    writeFileSync(
      agent,
      `#!/bin/sh
printf '%s\\n' "$1" | grep -o -m1 'Task [A-Z]-[0-9]' >> ${JSON.stringify(runs)}
printf '#!/bin/sh\\nexit 0\\n' > run_tests.sh && chmod +x run_tests.sh
mkdir -p node_modules/.bin && cp run_tests.sh node_modules/.bin/tanuki-e2e-lint
`,
    )
    const project = createProject({
      tasks: [
        { id: 'W-1', verify: './run_tests.sh' },
        { id: 'W-2', verify: 'tanuki-e2e-lint --all' },
      ],
      files: { '.gitignore': 'node_modules/\n' },
      config: `import { defineConfig } from 'tanuki'

export default defineConfig({
  cooldownMs: 50,
  land: false,
  defaults: {
    backend: 'process',
    kind: 'command',
    command: ['sh', ${JSON.stringify(agent)}, '{prompt}'],
    env: { PATH: \`node_modules/.bin:\${process.env.PATH}\` },
  },
  agents: { default: { count: 2 } },
})
`,
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr + run.stdout).not.toContain('cannot run')
    expect(ranIn(runs).sort()).toEqual(['W-1', 'W-2'])
  })
})

describe('a verify whose program is missing, in a run that stays on (`--watch`)', () => {
  it('a rerun before the fix starts no agent’s work; after it, `tanuki task rerun` of a held task runs every task the verify held', async () => {
    const shared = sharedDir()
    const runs = join(shared, 'runs.log')
    // On the run's PATH from the start, empty until the person installs the program.
    const bin = join(shared, 'bin')
    mkdirSync(bin)
    setCliEnv({ PATH: `${bin}:${process.env.PATH}` })
    const held = ['S-1', 'S-2', 'S-3']
    const project = createProject({
      tasks: held.map((id, i) => ({
        id,
        verify: 'tanuki-e2e-pytset -q',
        ...(i === 0 ? { priority: 'critical' } : {}),
      })),
      // An agent per task: a rerun that queued all three would pay each of them.
      config: countingRuns(runs, 3),
    })
    const run = startTanuki(project.dir, 'project', 'start', '--watch')
    await waitFor('the verify to hold the tasks', async () => {
      if (!run.output().stdout.includes('and the other tasks of role default with this verify wait')) return false
      return (await statusJson(project.dir)).tasks.every((t) => t.status === 'pending')
    })
    // The program was looked for before any of the three agents worked: none was paid.
    const paid = ranIn(runs).length
    expect(ranIn(runs)).toEqual([])
    /** The console's lines that say the verify holds them (the summary's words differ). */
    const verifyHeld = (): number =>
      run.output().stdout.split('and the other tasks of role default with this verify wait').length - 1
    expect(verifyHeld()).toBe(1)

    // Rerun before the fix: S-3's agent runs the verify first, it still cannot run, and no agent
    // is paid to meet it again.
    const early = await tanuki(project.dir, 'task', 'rerun', 'S-3')
    expect(early.code, early.stderr).toBe(0)
    await waitFor('the verify to hold them again', () => verifyHeld() === 2)
    expect(ranIn(runs)).toHaveLength(paid)
    // What it says to do works while the run holds the lock. (The status comes from the run's
    // snapshot, written a moment after the console's line.)
    const advice =
      '`tanuki-e2e-pytset` was not found there: install it (or put it on PATH), or correct the verify in the task ' +
      'files that give it; then `tanuki task rerun S-3` (or of another task that waits for it)'
    await waitFor('the status to name the latest try', async () =>
      (await tanuki(project.dir, 'project', 'status')).stdout.includes(advice),
    )

    writeFileSync(join(bin, 'tanuki-e2e-pytset'), '#!/bin/sh\nexit 0\n')
    chmodSync(join(bin, 'tanuki-e2e-pytset'), 0o755)
    const rerun = await tanuki(project.dir, 'task', 'rerun', 'S-2')
    expect(rerun.code, rerun.stderr).toBe(0)
    await waitFor('every held task to complete and land', async () =>
      (await statusJson(project.dir)).tasks.every((t) => t.status === 'complete' && t.landed),
    )
    expect(ranIn(runs).slice(paid).sort()).toEqual(held)
    expect(run.output().stdout).toMatch(
      /verify `tanuki-e2e-pytset -q` runs again for role default \(tried before S-2's agent worked\); queued again: S-1, S-3/,
    )
    const stop = await tanuki(project.dir, 'project', 'stop')
    expect(stop.code).toBe(0)
    const ended = await run.done
    expect(ended.code, ended.stderr).toBe(0)
  })
})
