// One orchestrator per project, controlled from other processes: a second start is refused,
// `project stop` (and `--remove`) from another terminal, `--detach` with status while it runs.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  cleanup,
  configFor,
  createProject,
  isAlive,
  lockPid,
  setCliEnv,
  startTanuki,
  statusJson,
  TANUKI_BIN,
  tanuki,
  trackPid,
  waitFor,
  type CliProcess,
  type CliResult,
  type StatusJson,
  type TempProject,
  agentWorktree,
  agentPid,
} from './helpers.ts'

/** Folders of a test outside its project. */
const outside: string[] = []
afterEach(async () => {
  await cleanup()
  for (const dir of outside.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A project whose only task hangs until it is stopped. */
function hangingProject(): TempProject {
  return createProject({
    tasks: [{ id: 'H-1', title: 'Hang', sh: 'echo hanging; sleep 60', verify: 'false', maxIterations: 1 }],
  })
}

const fileStatus = (project: TempProject, id: string): string | undefined =>
  /^status: (\w+)$/m.exec(readFileSync(project.taskPath(id), 'utf8'))?.[1]

async function waitInProgress(project: TempProject, id: string): Promise<void> {
  await waitFor(
    `${id} in progress`,
    () => existsSync(project.taskPath(id)) && fileStatus(project, id) === 'in_progress',
  )
}

/**
 * Once the run says it stops after F-1's try (still running), lets that try end (`go`); resolves
 * with how the run ended and the tasks' statuses then.
 */
async function finishF1(
  project: TempProject,
  run: CliProcess,
  go: string,
): Promise<{ ended: CliResult; status: StatusJson }> {
  await waitFor('the run to say so', () => run.output().stdout.includes('stopping once the tries under way end (F-1)'))
  expect(isAlive(run.pid)).toBe(true)
  writeFileSync(go, '')
  const ended = await run.done
  expect(ended.code, ended.stderr).toBe(1)
  return { ended, status: await statusJson(project.dir) }
}

describe('one orchestrator per project', () => {
  it('refuses a second start with exit 1 naming the running pid; `project stop` from another process stops the first within seconds', async () => {
    const project = hangingProject()
    const first = startTanuki(project.dir, 'project', 'start')
    await waitInProgress(project, 'H-1')

    const second = await tanuki(project.dir, 'project', 'start')
    expect(second.code).toBe(1)
    expect(second.stderr).toContain(`pid ${first.pid}`)
    const detached = await tanuki(project.dir, 'project', 'start', '--detach')
    expect(detached.code).toBe(1)
    expect(detached.stderr).toContain(`pid ${first.pid}`)

    const running = await statusJson(project.dir)
    expect(running).toMatchObject({ status: 'running', pid: first.pid })
    expect(running.tasks[0]).toMatchObject({ id: 'H-1', status: 'in_progress', assignedTo: 'default-1' })

    const asked = Date.now()
    const stop = await tanuki(project.dir, 'project', 'stop')
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toContain(`pid ${first.pid}`)
    const ended = await first.done
    // "Within seconds": the hanging agent is killed rather than waited for.
    expect(Date.now() - asked).toBeLessThan(15_000)
    expect(ended.code).toBe(1) // not every task is complete
    expect(ended.stderr).toContain('resume')
    expect(fileStatus(project, 'H-1')).toBe('pending')
    expect(readFileSync(project.taskPath('H-1'), 'utf8')).not.toMatch(/^assigned_to:/m)
    expect(lockPid(project.dir)).toBeUndefined()
    expect((await statusJson(project.dir)).status).toBe('stopped')

    const idle = await tanuki(project.dir, 'project', 'stop')
    expect(idle.code).toBe(0)
    expect(idle.stdout).toContain('No orchestrator is running')
  })

  it('`project stop --finish` lets the try under way end and land, starts nothing more; `resume` runs the rest', async () => {
    const go = join(mkdtempSync(join(tmpdir(), 'tanuki-go-')), 'go')
    outside.push(dirname(go))
    const project = createProject({
      tasks: [
        // Works until the test lets it go: a try under way when the stop is asked for.
        { id: 'F-1', sh: `while [ ! -f ${go} ]; do sleep 0.1; done; echo one > one.txt`, verify: 'test -f one.txt' },
        { id: 'F-2', sh: 'echo two > two.txt', verify: 'test -f two.txt' },
        { id: 'F-3', sh: 'echo three > three.txt', verify: 'test -f three.txt', dependsOn: ['F-1'] },
      ],
    })
    const run = startTanuki(project.dir, 'project', 'start')
    await waitInProgress(project, 'F-1')
    const stop = await tanuki(project.dir, 'project', 'stop', '--finish')
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toBe(
      `Asking the orchestrator (pid ${run.pid}) to stop once the tries under way end…\n` +
        'It stops then: no task starts, no new try begins. `tanuki project stop` stops it now.\n',
    )
    const { ended, status } = await finishF1(project, run, go)
    // F-1's try ended, was judged and landed; F-2 (free to start) and F-3 (ready once F-1 was) did not start.
    expect(status.tasks.map((t) => [t.id, t.status])).toEqual([
      ['F-1', 'complete'],
      ['F-2', 'pending'],
      ['F-3', 'pending'],
    ])
    expect(status.progress).toMatchObject({ landed: 1 })
    expect(execFileSync('git', ['show', 'main:one.txt'], { cwd: project.dir, encoding: 'utf8' })).toBe('one\n')
    expect(ended.stdout).not.toMatch(/F-[23] assigned/)
    // With --remove it is refused, saying what to do instead.
    const both = await tanuki(project.dir, 'project', 'stop', '--finish', '--remove')
    expect(both.code).not.toBe(0)
    expect(both.stderr).toContain('--finish and --remove do not go together')
    const resume = await tanuki(project.dir, 'project', 'resume', '--quiet')
    expect(resume.code, resume.stderr).toBe(0)
    expect((await statusJson(project.dir)).progress).toMatchObject({ complete: 3, landed: 3 })
  })

  it('two `project stop --finish` at the same instant still let the try under way end and be judged', async () => {
    const outer = mkdtempSync(join(tmpdir(), 'tanuki-go-'))
    outside.push(outer)
    const go = join(outer, 'go')
    const hold = join(outer, 'hold')
    const held = join(outer, 'held')
    // A plugin that holds the run's event loop while the file `hold` exists: both requests reach
    // it before it can handle either, as two that come in the same instant do.
    const project = createProject({
      config: configFor(
        { default: 1 },
        `
  plugins: [
    {
      name: 'hold',
      setup() {
        const timer = setInterval(() => {
          if (!existsSync(${JSON.stringify(hold)})) return
          writeFileSync(${JSON.stringify(held)}, '')
          const cell = new Int32Array(new SharedArrayBuffer(4))
          while (existsSync(${JSON.stringify(hold)})) Atomics.wait(cell, 0, 0, 20)
        }, 20)
        timer.unref()
      },
    },
  ],`,
      ).replace(
        "import { defineConfig } from 'tanuki'",
        "import { existsSync, writeFileSync } from 'node:fs'\nimport { defineConfig } from 'tanuki'",
      ),
      tasks: [
        { id: 'F-1', sh: `while [ ! -f ${go} ]; do sleep 0.1; done; echo one > one.txt`, verify: 'test -f one.txt' },
        { id: 'F-2', sh: 'echo two > two.txt', verify: 'test -f two.txt', dependsOn: ['F-1'] },
      ],
    })
    const run = startTanuki(project.dir, 'project', 'start')
    await waitInProgress(project, 'F-1')
    writeFileSync(hold, '')
    await waitFor('the run to be held', () => existsSync(held))
    const stops = [0, 1].map(() => startTanuki(project.dir, 'project', 'stop', '--finish'))
    // Each has asked once it says anything (or ended); then the run takes both requests in turn.
    await waitFor('both requests', () => stops.every((stop) => stop.output().stdout !== '' || !isAlive(stop.pid)))
    rmSync(hold)
    for (const stop of stops) {
      const ended = await stop.done
      expect(ended.code, ended.stderr).toBe(0)
    }
    const { ended, status } = await finishF1(project, run, go)
    // F-1's try ended and was judged (not cut short); F-2, ready then, did not start.
    expect(status.tasks.map((t) => [t.id, t.status])).toEqual([
      ['F-1', 'complete'],
      ['F-2', 'pending'],
    ])
    expect(ended.stderr).not.toContain('stopping gracefully')
  })

  it('`project stop --remove` also removes the worktrees and the tanuki/* branches', async () => {
    const project = hangingProject()
    const first = startTanuki(project.dir, 'project', 'start')
    await waitInProgress(project, 'H-1')
    const branches = (): string[] =>
      execFileSync('git', ['branch', '--list', 'tanuki/*', '--format=%(refname:short)'], {
        cwd: project.dir,
        encoding: 'utf8',
      })
        .split('\n')
        .filter(Boolean)
    const worktree = agentWorktree(project.dir, 'default-1')
    expect(existsSync(worktree)).toBe(true)
    // The agent's branch, and the branch work lands through on its way to main.
    expect(branches()).toEqual(['tanuki/default-1', 'tanuki/land/main'])

    const stop = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toContain('Removed')
    expect(stop.stdout).toContain('tanuki/default-1')
    await first.done
    expect(existsSync(worktree)).toBe(false)
    expect(branches()).toEqual([])
    expect(
      execFileSync('git', ['worktree', 'list'], { cwd: project.dir, encoding: 'utf8' }).trim().split('\n'),
    ).toHaveLength(1)
    expect(fileStatus(project, 'H-1')).toBe('pending')
  })

  it('`--remove` with no orchestrator running cleans what a finished run left', async () => {
    const project = createProject({ tasks: [{ id: 'R-1', sh: 'touch r.txt', verify: 'test -f r.txt' }] })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(0)
    expect(existsSync(agentWorktree(project.dir, 'default-1'))).toBe(true)
    // Everything landed: the run's last line says how to delete what it left.
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(
      "The agent's worktree stays for a next run; `tanuki project stop --remove` deletes what Tanuki created.",
    )
    const stop = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(stop.code, stop.stderr).toBe(0)
    expect(existsSync(agentWorktree(project.dir, 'default-1'))).toBe(false)
    expect(execFileSync('git', ['branch', '--list', 'tanuki/*'], { cwd: project.dir, encoding: 'utf8' }).trim()).toBe(
      '',
    )
  })
})

describe('a reader that goes away', () => {
  it('stops the run as Ctrl-C does: its agents stopped, its tasks pending, exit 1', async () => {
    // A pager quit, or `| head`: what the run writes next fails with EPIPE.
    const project = createProject({
      tasks: [
        {
          id: 'T-1',
          title: 'Ticks',
          sh: 'while true; do echo tick; sleep 0.2; done',
          verify: 'false',
          maxIterations: 1,
        },
      ],
    })
    const run = startTanuki(project.dir, 'project', 'start', '--verbose')
    await waitInProgress(project, 'T-1')
    const agent = await waitFor('the agent', () => agentPid(project.dir, 'default-1'))
    run.child.stdout!.destroy()
    const ended = await run.done
    expect(ended.code, ended.stderr).toBe(1)
    expect(ended.stderr).toContain('its stdout was closed: stopping gracefully; `tanuki project resume` continues.')
    expect(ended.stderr).toContain('1 of 1 task is not complete (stopped')
    expect(isAlive(agent)).toBe(false)
    expect(lockPid(project.dir)).toBeUndefined()
    const status = await statusJson(project.dir)
    expect(status.status).toBe('stopped')
    expect(status.tasks[0]).toMatchObject({ id: 'T-1', status: 'pending' })
  })
})

describe('a reader gone before the run begins', () => {
  it('`project resume | true`: the run stops before its first task, exit 1, and stderr says so', async () => {
    const project = createProject({ tasks: [{ id: 'T-1', sh: 'touch t1.txt', verify: 'test -f t1.txt' }] })
    const run = startTanuki(project.dir, 'project', 'resume')
    // Closed before the first line ("Resuming: …") is written.
    run.child.stdout!.destroy()
    const ended = await run.done
    expect(ended.stderr).toContain('tanuki: its stdout was closed: stopping gracefully')
    expect(ended.code, ended.stderr).toBe(1)
    expect(existsSync(join(project.dir, 't1.txt'))).toBe(false)
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ id: 'T-1', status: 'pending' })
  })
})

describe('Ctrl-C once the work is over', () => {
  it('says the run is closing, not that it stops gracefully, and the run ends complete', async () => {
    const closing = 'reporter-closing.txt'
    // A reporter slow to close keeps the run in its last step after every task settled.
    const project = createProject({
      config: configFor(
        { default: 1 },
        `
  plugins: [
    {
      name: 'slow-close',
      setup(ctx) {
        ctx.registerReporter({
          name: 'slow-close',
          async onClose() {
            writeFileSync(${JSON.stringify(closing)}, 'closing')
            await new Promise((resolve) => setTimeout(resolve, 1500))
          },
        })
      },
    },
  ],`,
      ).replace(
        "import { defineConfig } from 'tanuki'",
        "import { writeFileSync } from 'node:fs'\nimport { defineConfig } from 'tanuki'",
      ),
      tasks: [{ id: 'T-1', sh: 'touch t1.txt', verify: 'test -f t1.txt' }],
    })
    const run = startTanuki(project.dir, 'project', 'start')
    await waitFor('the run to close', () => existsSync(join(project.dir, closing)))
    run.child.kill('SIGINT')
    const ended = await run.done
    expect(ended.stderr).toContain('SIGINT: the run is over, closing (again to quit at once)…')
    expect(ended.stderr).not.toContain('stopping gracefully')
    expect(ended.code, ended.stderr).toBe(0)
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ id: 'T-1', status: 'complete' })
  })
})

describe('--detach', () => {
  it('starts in the background; status --json works while it runs and after', async () => {
    const project = createProject({
      agents: { default: 1 },
      tasks: [
        { id: 'B-1', sh: 'sleep 1.5; touch b1.txt', verify: 'test -f b1.txt' },
        { id: 'B-2', dependsOn: ['B-1'], sh: 'touch b2.txt', verify: 'test -f b2.txt' },
      ],
    })
    const started = await tanuki(project.dir, 'project', 'start', '--detach')
    expect(started.code, started.stderr).toBe(0)
    const pid = lockPid(project.dir)!
    trackPid(pid)
    expect(started.stdout).toContain(`pid ${pid}`)
    expect(isAlive(pid)).toBe(true)

    const during = await waitFor('a running status', async () => {
      const doc = await statusJson(project.dir)
      return doc.status === 'running' && doc.tasks.some((t) => t.status === 'in_progress') ? doc : undefined
    })
    expect(during.pid).toBe(pid)
    expect(during.progress.total).toBe(2)

    await waitFor('the background run to end', () => !isAlive(pid), 30_000)
    const after = await statusJson(project.dir)
    expect(after.status).toBe('complete')
    expect(after.progress).toMatchObject({ total: 2, complete: 2 })
    expect(readFileSync(join(project.dir, '.tanuki', 'orchestrator.log'), 'utf8')).toContain('B-2')
  })
})

describe('a command sent just as a try ends', () => {
  /**
   * Sends `tanuki task <command> A` as A's agent publishes its work (the update of A's `work` ref),
   * once: the moment its try has ended and passed, and its completion is not recorded yet. Tanuki's
   * own git runs no hooks, so a `git` first on the CLI's PATH does it, after the real git updated
   * the ref; it waits for the CLI, so the command surely arrives in that window.
   */
  function commandWhilePublished(command: string[]): { project: TempProject; runs: string; said: string } {
    // Outside the project: its script counts its runs there, and the wrapper says what the CLI printed.
    const shared = mkdtempSync(join(tmpdir(), 'tanuki-e2e-window-'))
    outside.push(shared)
    const runs = join(shared, 'runs.log')
    const said = join(shared, 'said.txt')
    const project = createProject({
      tasks: [{ id: 'A', sh: `echo A >> '${runs}'; echo work > A.txt`, verify: 'test -f A.txt' }],
    })
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim()
    const bin = join(shared, 'bin')
    mkdirSync(bin)
    writeFileSync(
      join(bin, 'git'),
      [
        '#!/bin/sh',
        `'${realGit}' "$@"`,
        'code=$?',
        'case "$*" in',
        `  *update-ref*/tasks/A/work*)`,
        `    if [ "$code" = 0 ] && [ ! -e '${said}' ]; then`,
        // Under the agent's git: the CLI must find the project, not the worktree.
        '      unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_COMMON_DIR GIT_PREFIX',
        `      '${TANUKI_BIN}' task ${command.join(' ')} --cwd '${project.dir}' > '${said}.tmp' 2>&1`,
        `      mv '${said}.tmp' '${said}'`,
        '    fi ;;',
        'esac',
        'exit $code',
        '',
      ].join('\n'),
      { mode: 0o755 },
    )
    setCliEnv({ PATH: `${bin}:${process.env.PATH ?? ''}` })
    return { project, runs, said }
  }

  const journaled = (dir: string, id: string): string[] =>
    readFileSync(join(dir, '.tanuki', 'journal.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { t: string; id?: string; status?: string; reason?: string })
      .flatMap((r) =>
        r.t === 'task' && r.id === id && r.status ? [`${r.status}${r.reason ? `: ${r.reason}` : ''}`] : [],
      )

  it.each([
    [['rerun', 'A'], 'Back to pending: A', 'rerun by a person'],
    [['reset', 'A'], 'Reset: A', 'reset by a person'],
  ])('`task %j` the orchestrator took is not lost: the task runs again', async (command, printed, reason) => {
    const { project, runs, said } = commandWhilePublished(command)
    const run = startTanuki(project.dir, 'project', 'start')
    const ended = await run.done
    expect(readFileSync(said, 'utf8')).toContain(`${printed} (the running orchestrator took it).`)
    expect(ended.code, ended.stderr).toBe(0)
    expect(readFileSync(runs, 'utf8').trim().split('\n')).toEqual(['A', 'A'])
    const statuses = journaled(project.dir, 'A')
    expect(statuses).toContain(`pending: ${reason}`)
    // The try the command came after was not recorded complete: the command took its place.
    expect(statuses.filter((status) => status.startsWith('complete'))).toHaveLength(1)
    expect(statuses.at(-1)).toMatch(/^complete/)
  })
})
