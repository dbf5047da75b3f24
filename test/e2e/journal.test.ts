// Run state lives in the journal, so git operations on the task files never rerun or lose work,
// and a run killed at any moment resumes without running a completed task twice.
import { execFileSync } from 'node:child_process'
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  cleanup,
  createProject,
  isAlive,
  journalStatuses,
  startTanuki,
  statusJson,
  tanuki,
  waitFor,
  type TempProject,
} from './helpers.ts'

const outside: string[] = []
afterEach(async () => {
  await cleanup()
  for (const dir of outside.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A folder outside the project (and its worktrees) that every agent appends its runs to. */
function runsLog(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tanuki-e2e-journal-'))
  outside.push(dir)
  return join(dir, 'runs.log')
}
const runsOf = (log: string): string[] => {
  try {
    return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean)
  } catch {
    return []
  }
}
const git = (dir: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@tanuki.invalid', ...args], {
    cwd: dir,
    encoding: 'utf8',
  })
const fileStatus = (project: TempProject, id: string): string | undefined =>
  /^status: (\w+)$/m.exec(readFileSync(project.taskPath(id), 'utf8'))?.[1]

describe('git on the task folder', () => {
  it('git stash during a run reverts no status: nothing reruns and the mirror is restored', async () => {
    const runs = runsLog()
    const go = join(runs, '..', 'go')
    const project = createProject({
      agents: { default: 2 },
      tasks: [
        { id: 'S-1', sh: `echo S-1 >> ${runs}`, verify: 'true' },
        { id: 'S-2', sh: `echo S-2 >> ${runs}; while [ ! -f ${go} ]; do sleep 0.1; done`, verify: 'true' },
        { id: 'S-3', dependsOn: ['S-1'], sh: `echo S-3 >> ${runs}`, verify: 'true' },
      ],
    })
    const run = startTanuki(project.dir, 'project', 'start')
    await waitFor('S-1 and S-3 complete in their files', () =>
      ['S-1', 'S-3'].every((id) => fileStatus(project, id) === 'complete'),
    )
    // The person stashes their working tree: the task files go back to their committed status.
    git(project.dir, 'stash')
    expect(fileStatus(project, 'S-1')).toBeUndefined()
    await waitFor('the mirror to be restored', () =>
      ['S-1', 'S-3'].every((id) => fileStatus(project, id) === 'complete'),
    )
    writeFileSync(go, '')
    const ended = await run.done
    expect(ended.code, ended.stderr).toBe(0)
    expect(runsOf(runs).sort()).toEqual(['S-1', 'S-2', 'S-3'])
  })

  it('a checkout of the task folder between runs reruns nothing; a pull brings only new work to run', async () => {
    const runs = runsLog()
    const remote = mkdtempSync(join(tmpdir(), 'tanuki-e2e-remote-'))
    outside.push(remote)
    const project = createProject({
      tasks: [
        { id: 'P-1', sh: `echo P-1 >> ${runs}`, verify: 'true' },
        { id: 'P-2', dependsOn: ['P-1'], sh: `echo P-2 >> ${runs}`, verify: 'true' },
      ],
    })
    git(remote, 'init', '-q', '--bare', '-b', 'main')
    git(project.dir, 'remote', 'add', 'origin', remote)
    git(project.dir, 'push', '-q', 'origin', 'main')
    const first = await tanuki(project.dir, 'project', 'start')
    expect(first.code, first.stderr).toBe(0)
    expect(fileStatus(project, 'P-1')).toBe('complete')

    // The files go back to their committed text, with no status: the journal still knows better.
    git(project.dir, 'checkout', '--', '.tanuki/tasks')
    expect(fileStatus(project, 'P-1')).toBeUndefined()
    expect((await statusJson(project.dir)).progress.complete).toBe(2)

    // Someone else adds a task upstream; the pull brings it (and the old statuses) in.
    const other = mkdtempSync(join(tmpdir(), 'tanuki-e2e-clone-'))
    outside.push(other)
    git(other, 'clone', '-q', remote, '.')
    writeFileSync(
      join(other, '.tanuki', 'tasks', 'P-3.md'),
      `---\nid: P-3\ntitle: Task P-3\ndepends_on: [P-2]\ncompletion:\n  verify: "true"\n---\n\`\`\`sh\necho P-3 >> ${runs}\n\`\`\`\n`,
    )
    git(other, 'add', '-A')
    git(other, 'commit', '-qm', 'P-3')
    git(other, 'push', '-q', 'origin', 'main')
    git(project.dir, 'pull', '-q', '--no-rebase', 'origin', 'main')

    const second = await tanuki(project.dir, 'project', 'start')
    expect(second.code, second.stderr).toBe(0)
    expect(runsOf(runs)).toEqual(['P-1', 'P-2', 'P-3'])
    expect(['P-1', 'P-2', 'P-3'].map((id) => fileStatus(project, id))).toEqual(['complete', 'complete', 'complete'])
  })

  it('a project whose files carry statuses loads them into the journal on its first start', async () => {
    const runs = runsLog()
    const project = createProject({
      tasks: [
        { id: 'M-1', status: 'complete', sh: `echo M-1 >> ${runs}`, verify: 'true' },
        { id: 'M-2', dependsOn: ['M-1'], sh: `echo M-2 >> ${runs}`, verify: 'true' },
      ],
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    expect(runsOf(runs)).toEqual(['M-2'])
    expect(journalStatuses(project.dir)).toEqual({ 'M-1': 'complete', 'M-2': 'complete' })
  })

  it('a copy of a finished task’s file is named by `task validate`, and `task rerun` before a start runs it', async () => {
    const runs = runsLog()
    const project = createProject({ tasks: [{ id: 'C-1', sh: `echo C-1 >> ${runs}`, verify: 'true' }] })
    const first = await tanuki(project.dir, 'project', 'start')
    expect(first.code, first.stderr).toBe(0)
    // The natural way to start a new task: copy a finished one's file, change its id and script.
    const copy = join(project.tasksDir, 'C-2.md')
    writeFileSync(copy, readFileSync(project.taskPath('C-1'), 'utf8').replaceAll('C-1', 'C-2'))
    expect(readFileSync(copy, 'utf8')).toMatch(/^status: complete$/m)

    const validate = await tanuki(project.dir, 'task', 'validate')
    expect(validate.code, validate.stderr).toBe(0)
    expect(validate.stdout).toContain(
      'note: .tanuki/tasks/C-2.md is new and says `status: complete`: a run takes it as it is and does not run it. ' +
        "A copy of another task's file? Set `status: pending` in it, or run `tanuki task rerun C-2`.",
    )
    const rerun = await tanuki(project.dir, 'task', 'rerun', 'C-2')
    expect(rerun.code, rerun.stderr).toBe(0)
    const second = await tanuki(project.dir, 'project', 'start')
    expect(second.code, second.stderr).toBe(0)
    expect(runsOf(runs)).toEqual(['C-1', 'C-2'])
    // Once the journal knows it, it is no longer new.
    expect((await tanuki(project.dir, 'task', 'validate')).stdout).not.toContain('is new')
  })

  it('a status a person types into a finished task’s file is told once, by `task validate` and the start, with the command that does it', async () => {
    const runs = runsLog()
    const project = createProject({
      tasks: [
        { id: 'T-1', sh: `echo T-1 >> ${runs}`, verify: 'true' },
        { id: 'T-2', sh: `echo T-2 >> ${runs}`, verify: 'true' },
      ],
    })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(0)
    // To run it again, the person sets it back to pending in its file.
    const path = project.taskPath('T-1')
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^status: complete$/m, 'status: pending'))
    expect(fileStatus(project, 'T-1')).toBe('pending')
    const told =
      '.tanuki/tasks/T-1.md %s T-1 is pending, but the journal has it complete, and a run goes by the journal: ' +
      "a task file's status only mirrors it, %s. To run T-1 again: `tanuki task rerun T-1` (`tanuki task reset T-1` also clears its tries)."

    const validate = await tanuki(project.dir, 'task', 'validate')
    expect(validate.code, validate.stderr).toBe(0)
    expect(validate.stdout).toContain(
      `note: ${told.replace('%s', 'says').replace('%s', 'and a run writes the file back')}\n`,
    )
    const start = await tanuki(project.dir, 'project', 'start', '--quiet')
    expect(start.code, start.stderr).toBe(0)
    const line = `! ${told.replace('%s', 'said').replace('%s', 'so the file was written back')}`
    expect(start.stdout.split('\n').filter((each) => each.includes('T-1 is pending'))).toEqual([
      expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)),
    ])
    expect(runsOf(runs)).toEqual(['T-1', 'T-2'])
    expect(fileStatus(project, 'T-1')).toBe('complete')
    expect((await tanuki(project.dir, 'task', 'validate')).stdout).not.toContain('note:')

    // The command it names does what the person meant.
    expect((await tanuki(project.dir, 'task', 'rerun', 'T-1')).code).toBe(0)
    const again = await tanuki(project.dir, 'project', 'start')
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).not.toContain('journal has')
    expect(runsOf(runs)).toEqual(['T-1', 'T-2', 'T-1'])
  })

  it('during a run, a typed status is told once, and a stash of many task files in one line', async () => {
    const project = createProject({
      tasks: ['W-1', 'W-2', 'W-3'].map((id) => ({ id, sh: `echo ${id}`, verify: 'true' })),
    })
    const run = startTanuki(project.dir, 'project', 'start', '--watch')
    const ids = ['W-1', 'W-2', 'W-3']
    await waitFor('every task complete in its file', () => ids.every((id) => fileStatus(project, id) === 'complete'))
    const told = () =>
      run
        .output()
        .stdout.split('\n')
        .filter((line) => line.includes('journal has'))

    const path = project.taskPath('W-1')
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^status: complete$/m, 'status: pending'))
    await waitFor('the typed status told', () => told().length === 1)
    expect(told()[0]).toContain('.tanuki/tasks/W-1.md said W-1 is pending, but the journal has it complete')
    expect(told()[0]).toContain('`tanuki task rerun W-1`')
    await waitFor('W-1 written back', () => fileStatus(project, 'W-1') === 'complete')

    // The files go back to their committed text (no status, so pending): one line for them all,
    // W-1 not again.
    git(project.dir, 'stash')
    await waitFor('the stash told', () => told().length === 2)
    await waitFor('the files written back', () => ids.every((id) => fileStatus(project, id) === 'complete'))
    expect(told()[1]).toMatch(
      /! 2 task files said another status than the journal has \(\.tanuki\/tasks\/W-[23]\.md: pending, the journal complete; 1 more\), and were written back: a task file's status only mirrors the journal, so a checkout, stash or pull changes no run state\. To change a status: `tanuki task rerun\|reset\|mark ID`\.$/,
    )
    expect((await tanuki(project.dir, 'project', 'stop')).code).toBe(0)
    const ended = await run.done
    expect(ended.code, ended.stderr).toBe(0)
    expect(told()).toHaveLength(2)
  })

  it('a torn last line of the journal (a write cut by a crash) is ignored', async () => {
    const runs = runsLog()
    const project = createProject({ tasks: [{ id: 'J-1', sh: `echo J-1 >> ${runs}`, verify: 'true' }] })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(0)
    appendFileSync(join(project.dir, '.tanuki', 'journal.ndjson'), '{"t":"task","id":"J-1","status":"pen')
    expect((await statusJson(project.dir)).status).toBe('complete')
    const again = await tanuki(project.dir, 'project', 'resume')
    expect(again.code, again.stderr).toBe(0)
    expect(runsOf(runs)).toEqual(['J-1'])
  })
})

describe('kill -9 at random moments', () => {
  it('20 kills and resumes of one run: no task recorded complete runs again, none is lost', async () => {
    const runs = runsLog()
    const ids = Array.from({ length: 12 }, (_, i) => `K-${String(i + 1).padStart(2, '0')}`)
    const project = createProject({
      agents: { default: 3 },
      tasks: ids.map((id, i) => ({
        id,
        // A small DAG: each task after the third depends on one or two earlier ones.
        dependsOn: i < 3 ? [] : [ids[i - 3]!, ...(i % 2 ? [ids[i - 2]!] : [])],
        sh: `echo ${id} >> ${runs}; sleep 0.${2 + (i % 4)}; echo ${id} > ${id}.txt`,
        verify: `test -f ${id}.txt`,
      })),
    })
    // A fixed seed: the same 20 moments every time.
    let seed = 7
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    /** Runs of each task at the moment it was first seen recorded complete: frozen from then on. */
    const frozen = new Map<string, number>()
    const check = (): void => {
      const recorded = journalStatuses(project.dir)
      for (const [id, times] of frozen) {
        expect(recorded[id], `${id} stays complete`).toBe('complete')
        expect(
          runsOf(runs).filter((line) => line === id),
          `${id} never runs again`,
        ).toHaveLength(times)
      }
      for (const id of ids) {
        if (recorded[id] === 'complete' && !frozen.has(id)) frozen.set(id, runsOf(runs).filter((l) => l === id).length)
      }
    }
    for (let kill = 0; kill < 20; kill++) {
      const run = startTanuki(project.dir, 'project', kill === 0 ? 'start' : 'resume')
      await new Promise((resolve) => setTimeout(resolve, 150 + random() * 900))
      let ended = false
      try {
        process.kill(run.pid, 'SIGKILL')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
        ended = true
      }
      const result = await run.done
      // A run that ended before its kill had finished the work (a quick start gets further each
      // round), and says so: not a start that failed.
      if (ended) expect(result.code, result.stderr + result.stdout).toBe(0)
      await waitFor('the orchestrator to be gone', () => !isAlive(run.pid))
      check()
    }
    const last = await tanuki(project.dir, 'project', 'resume')
    expect(last.code, last.stderr + last.stdout).toBe(0)
    const status = await statusJson(project.dir)
    expect(status.progress).toMatchObject({ total: 12, complete: 12 })
    for (const id of ids) expect(runsOf(runs), id).toContain(id)
    check()
    // The kills landed at different moments: some work was recorded complete between them.
    expect(frozen.size).toBe(12)
    // A kill between a status write's temp file and its rename leaves nothing among the tasks.
    const left = readdirSync(project.tasksDir, { recursive: true }).map(String)
    expect(left.filter((name) => !name.endsWith('.md'))).toEqual([])
  }, 300_000)
})

describe('a person’s command after a run ended', () => {
  it('a task set back to pending makes the project stopped with work left, not failed; resume runs it', async () => {
    const runs = runsLog()
    const project = createProject({
      tasks: [
        { id: 'F-1', sh: `echo F-1 >> ${runs}`, verify: 'false', maxIterations: 1 },
        { id: 'D-1', dependsOn: ['F-1'], sh: `echo D-1 >> ${runs}`, verify: 'true' },
        { id: 'OK-1', sh: `echo OK-1 >> ${runs}`, verify: 'true' },
      ],
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).not.toBe(0)
    const ended = await statusJson(project.dir)
    // Nothing a run could do: F-1 is in review and D-1 waits on it.
    expect(ended.status).toBe('failed')
    expect(ended.tasks.map((t) => [t.id, t.status])).toEqual([
      ['D-1', 'pending'],
      ['F-1', 'review'],
      ['OK-1', 'complete'],
    ])

    const rerun = await tanuki(project.dir, 'task', 'rerun', 'F-1')
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.stdout).toContain('Back to pending: F-1 (recorded for the next run).')
    const after = await statusJson(project.dir)
    expect(after.tasks.find((t) => t.id === 'F-1')?.status).toBe('pending')
    expect(after.status).toBe('stopped')
    const text = await tanuki(project.dir, 'project', 'status')
    expect(text.stdout).toMatch(/^Project stopped · 1\/3 complete/)

    // Stopped is what it is: resume runs the task again, and the run ends failed again.
    const resumed = await tanuki(project.dir, 'project', 'resume')
    expect(resumed.code).not.toBe(0)
    expect(runsOf(runs).sort()).toEqual(['F-1', 'F-1', 'OK-1'])
    expect((await statusJson(project.dir)).status).toBe('failed')

    // Marked complete by hand, F-1 lets D-1 start: work left again.
    expect((await tanuki(project.dir, 'task', 'mark', 'F-1', 'complete')).code).toBe(0)
    expect((await statusJson(project.dir)).status).toBe('stopped')
  })
})

describe('the file of a completed task deleted', () => {
  it('its dependents run and land on its landed work; list, status and show say its file is gone; a typo still refuses the start', async () => {
    const project = createProject({
      tasks: [
        { id: 'A', sh: 'echo a > a.txt', verify: 'test -f a.txt' },
        { id: 'B', dependsOn: ['A'], sh: 'echo b > b.txt', verify: 'test -f a.txt && test -f b.txt' },
      ],
    })
    const bFile = readFileSync(project.taskPath('B'), 'utf8')
    rmSync(project.taskPath('B'))
    const first = await tanuki(project.dir, 'project', 'start')
    expect(first.code, first.stderr).toBe(0)
    // A is done and landed: a person tidies its file away, then adds B, which depends on it.
    rmSync(project.taskPath('A'))
    writeFileSync(project.taskPath('B'), bFile)
    const listed = await tanuki(project.dir, 'task', 'list')
    expect(listed.code, listed.stderr).toBe(0)
    const note =
      /A \(complete, landed [0-9a-f]{12}\): its file is gone, but the journal has the work done, so B counts it complete/
    expect(listed.stdout).toMatch(note)
    expect(listed.stdout.match(/its file is gone/g)).toHaveLength(1)
    const shown = await tanuki(project.dir, 'task', 'show', 'A')
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toContain('A: (its task file is gone; this is what the journal recorded of it)')
    expect(shown.stdout).toMatch(/status: +complete/)
    expect(shown.stdout).toContain('dependents:  B (they count it complete)')
    const validated = await tanuki(project.dir, 'task', 'validate')
    expect(validated.code, validated.stderr).toBe(0)

    const second = await tanuki(project.dir, 'project', 'start')
    expect(second.code, second.stderr).toBe(0)
    expect(journalStatuses(project.dir)).toMatchObject({ A: 'complete', B: 'complete' })
    // B landed on top of A's landed work.
    expect(git(project.dir, 'log', '--format=%s', 'main')).toMatch(/^Task B\nTask A\n/)
    expect(git(project.dir, 'show', 'main:b.txt')).toBe('b\n')
    const status = await tanuki(project.dir, 'project', 'status')
    expect(status.stdout).toMatch(note)
    expect(status.stdout).toContain('Project complete')

    // A dependency on an id no task ever had stays an error, naming the file and field.
    writeFileSync(project.taskPath('C'), bFile.replace('id: B', 'id: C').replace('depends_on: [A]', 'depends_on: [AA]'))
    const typo = await tanuki(project.dir, 'project', 'start')
    expect(typo.code).toBe(1)
    expect(typo.stderr).toContain('.tanuki/tasks/C.md: field "depends_on" names "AA", but no task has that id')
  })
})
