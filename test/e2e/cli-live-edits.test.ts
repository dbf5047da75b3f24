// A person corrects a running task's file, and reruns a task whose tries ran out: the built CLI,
// `shell` agents as real processes, real task files and journal.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, configFor, createProject, readEvents, startTanuki, statusJson, tanuki, waitFor } from './helpers.ts'

afterEach(cleanup)

/** The `## Verify` lines of a task's iteration logs, in order. */
function verifies(dir: string, id: string): string[] {
  const logs = join(dir, '.tanuki', 'logs', 'tasks', id)
  return readdirSync(logs)
    .filter((name) => name.startsWith('iteration-'))
    .sort()
    .flatMap((name) => readFileSync(join(logs, name), 'utf8').match(/## Verify: `[^`]*` exited \S+/g) ?? [])
}

describe('a verify corrected in the task file while the task runs', () => {
  it('judges the task from then on: the log shows the new verify, and the console says it was taken', async () => {
    const project = createProject({ tasks: [{ id: 'S-1', title: 'Title case' }] })
    const file = project.taskPath('S-1')
    const events = join(project.dir, '.tanuki', 'events.ndjson')
    // The agent does the work, then (as the person in the trial did) removes `&& test -f NOPE` from
    // the task file once the run has mirrored its status there, and waits until the run has taken
    // the edit, so what follows does not hang on the file watcher's timing.
    const sh = [
      'touch done.txt',
      `for i in $(seq 100); do grep -q 'status: in_progress' '${file}' && break; sleep 0.1; done`,
      `sed -i 's/ [&][&] test -f NOPE//' '${file}'`,
      `for i in $(seq 100); do grep -q 'task:redefined' '${events}' 2>/dev/null && break; sleep 0.1; done`,
    ].join('\n')
    const text = readFileSync(file, 'utf8')
      .replace('verify: "true"', 'verify: "test -f done.txt && test -f NOPE"\n  max_iterations: 3')
      .replace(/\n$/, `\n\`\`\`sh\n${sh}\n\`\`\`\n`)
    writeFileSync(file, text)

    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(0)
    // The try under way is judged by the new verify when the edit is taken before it is judged
    // (the agent waits for that); the old one never judges a try after that.
    expect(verifies(project.dir, 'S-1').at(-1)).toBe('## Verify: `test -f done.txt` exited 0')
    expect(run.stdout).toContain('↻ S-1: verify changed while it runs')
    expect(run.stdout.split('↻ S-1').length - 1).toBe(1)
    const status = await statusJson(project.dir)
    expect(status.tasks).toEqual([expect.objectContaining({ id: 'S-1', status: 'complete' })])
  })
})

describe('task rerun after the tries ran out', () => {
  it('gives work that came back from a failed landing a fresh set of tries, keeping its count', async () => {
    const project = createProject({
      tasks: [{ id: 'R-1', verify: 'test -f NOPE', maxIterations: 4 }],
      // Four tries of the same failure: all of them run.
      config: configFor({ default: 1 }, '\n  sameFailureLimit: 10,'),
    })
    // What the journal holds of a task that completed, was sent back by a conflict at landing,
    // then failed verify on all 4 of its tries.
    mkdirSync(join(project.dir, '.tanuki'), { recursive: true })
    const feedback = { kind: 'conflict', files: ['r.txt'], detail: 'both changed r.txt', what: 'the landed work' }
    appendFileSync(
      join(project.dir, '.tanuki', 'journal.ndjson'),
      `${JSON.stringify({ t: 'task', id: 'R-1', status: 'review', iterations: 4, reason: 'verify failed; no tries left (4)', feedback })}\n`,
    )
    const rerun = await tanuki(project.dir, 'task', 'rerun', 'R-1')
    expect(rerun.code, rerun.stderr + rerun.stdout).toBe(0)

    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    const started = readEvents(project.dir).filter((e) => e.event === 'iteration:started')
    expect(started.map((e) => `${e.iteration}/${e.maxIterations}`)).toEqual(['1/4', '2/4', '3/4', '4/4'])
    expect(run.stdout).not.toContain('5/4')
    const status = await statusJson(project.dir)
    expect(status.tasks).toEqual([expect.objectContaining({ id: 'R-1', status: 'review', iterations: 8 })])
  })
})

describe('an edit of a complete task', () => {
  it('is told, not run: during a run as it is saved, and at the next start, in status, list and show, with the fields that changed', async () => {
    const project = createProject({ tasks: [{ id: 'A', sh: 'echo a >> a.txt', verify: 'test -f a.txt' }] })
    const edit = (from: string, to: string): void =>
      writeFileSync(project.taskPath('A'), readFileSync(project.taskPath('A'), 'utf8').replace(from, to))
    const run = startTanuki(project.dir, 'project', 'start', '--watch')
    await waitFor('A to complete', () => run.output().stdout.includes('✓ A complete'))
    edit('title: Task A', 'title: Task A, better')
    const live =
      '! A is complete, and its title changed since it ran: the edit does not run it again. To run it as it is now: `tanuki task rerun A`'
    await waitFor('the edit to be told', () => run.output().stdout.includes(live))
    expect((await tanuki(project.dir, 'project', 'stop')).code).toBe(0)
    const ended = await run.done
    expect(ended.stdout.split(live)).toHaveLength(2)

    edit('verify: "test -f a.txt"', 'verify: "test -s a.txt"')
    const note =
      'A (title, verify): complete, and its file changed since it ran: the edit does not run it again. To run it as it is now: `tanuki task rerun A`.'
    const status = await tanuki(project.dir, 'project', 'status')
    expect(status.stdout).toContain(`! ${note}`)
    const listed = await tanuki(project.dir, 'task', 'list')
    expect(listed.stdout).toContain(`note: ${note}`)
    const shown = await tanuki(project.dir, 'task', 'show', 'A')
    expect(shown.stdout).toContain(
      'changed:     title, verify since it completed: what is shown is not what ran; the edit does not run it again (`tanuki task rerun A` does)',
    )
    const again = await tanuki(project.dir, 'project', 'start')
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain(`! ${note}`)
    expect(again.stdout).not.toContain('A assigned')
    expect(readEvents(project.dir).filter((e) => e.event === 'task:assigned')).toHaveLength(1)
  })
})
