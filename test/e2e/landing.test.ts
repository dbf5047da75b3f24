// Landing, end to end: the agents' work reaches the person's branch as one commit per task, in
// dependency order, gated on the combined work; conflicts go back to an agent (here the real
// Claude Code CLI) to resolve; a person's dirty tree and own branches are never touched.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, delimiter, dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  claudeBin,
  claudeEnv,
  lastToolResults,
  startFakeAnthropic,
  userText,
  type FakeAnthropic,
} from '../support/fake-anthropic.ts'
import {
  agentPid,
  agentWorktree,
  cleanup,
  configFor,
  createProject,
  isAlive,
  lockPid,
  readEvents,
  setCliEnv,
  startTanuki,
  statusJson,
  tanuki,
  taskText,
  waitFor,
  type TempProject,
} from './helpers.ts'

const outside: string[] = []
let api: FakeAnthropic | undefined
afterEach(async () => {
  await cleanup()
  await api?.close()
  api = undefined
  for (const dir of outside.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const git = (dir: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=person', '-c', 'user.email=person@example.invalid', ...args], {
    cwd: dir,
    encoding: 'utf8',
  }).trim()

/** Task ids of the landed commits on a branch, newest first. */
const landedOn = (dir: string, branch = 'main'): string[] =>
  git(dir, 'log', '--format=%(trailers:key=Tanuki-Task,valueonly)', branch).split('\n').filter(Boolean)

/** What the project's journal records of one task: its records folded, as a resume reads them. */
function journalOf(dir: string, id: string): Record<string, unknown> {
  let text = ''
  try {
    text = readFileSync(join(dir, '.tanuki', 'journal.ndjson'), 'utf8')
  } catch {
    return {}
  }
  let task: Record<string, unknown> = {}
  // Only whole lines: the orchestrator may be writing the last one.
  for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
    if (!line) continue
    const record = JSON.parse(line) as { t: string; id?: string; state?: { tasks: Record<string, object> } }
    if (record.t === 'snapshot') task = { ...record.state!.tasks[id] }
    if (record.t !== 'task' || record.id !== id) continue
    for (const [key, value] of Object.entries(record)) {
      if (value === null) delete task[key]
      else task[key] = value
    }
  }
  return task
}

function folder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  outside.push(dir)
  return dir
}

/**
 * Shell tasks D and E on two agents, each rewriting the same line of shared.txt: whichever lands
 * second conflicts with the first. Their verify is weak: a file with conflict markers passes it.
 */
function sameLine(options: { maxIterations?: number; config?: string } = {}): TempProject {
  const edit = (who: string) => `sed -i 's/^shared original$/shared from ${who}/' shared.txt`
  const task = (id: string) => ({
    id,
    sh: edit(id),
    verify: `grep -q "shared from ${id}" shared.txt`,
    ...(options.maxIterations ? { maxIterations: options.maxIterations } : {}),
  })
  return createProject({
    agents: { default: 2 },
    files: { 'shared.txt': 'line1\nshared original\nline3\n' },
    tasks: [task('D'), task('E')],
    ...(options.config ? { config: options.config } : {}),
  })
}

/**
 * A task without completion that goes to review (exit 1), whose doc.txt a person then fixes by hand
 * in its agent's worktree and commits there.
 */
async function reviewFixedByHand(): Promise<{ project: TempProject; worktree: string }> {
  const project = createProject({
    config: `export default { defaults: { backend: 'process', kind: 'command', command: ['sh', '-c', 'echo "draft" > doc.txt; echo wrote doc'] } }\n`,
    files: { '.tanuki/tasks/DOC.md': '---\nid: DOC\ntitle: Write a doc\n---\nWrite it.\n' },
  })
  const run = await tanuki(project.dir, 'project', 'start')
  expect(run.code, run.stderr).toBe(1)
  const worktree = agentWorktree(project.dir, 'default-1')
  writeFileSync(join(worktree, 'doc.txt'), 'fixed\n')
  git(worktree, 'commit', '-qam', 'fix the doc')
  return { project, worktree }
}

describe('landing', () => {
  it('runs none of the person’s git hooks and sees every new file, whatever status.showUntrackedFiles says', async () => {
    const project = createProject({
      tasks: [
        { id: 'A-1', sh: 'mkdir -p src && echo "export const add = 1" > src/add.js', verify: 'test -f src/add.js' },
        { id: 'A-2', dependsOn: ['A-1'], sh: 'echo more >> README.md', verify: 'grep -q more README.md' },
      ],
      files: { 'README.md': '# project\n' },
    })
    git(project.dir, 'config', 'status.showUntrackedFiles', 'no')
    // Hooks such as husky's and git-lfs's, each failing: a commitizen prompt on /dev/tty, lfs missing.
    const ran = join(folder('tanuki-hooks-'), 'ran')
    for (const hook of ['prepare-commit-msg', 'post-checkout', 'post-commit', 'post-merge', 'reference-transaction'])
      writeFileSync(join(project.dir, '.git', 'hooks', hook), `#!/bin/sh\necho ${hook} >> '${ran}'\nexit 1\n`, {
        mode: 0o755,
      })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(landedOn(project.dir)).toEqual(['A-2', 'A-1'])
    // A-1's file landed with A-1, not with the next task its agent did.
    expect(git(project.dir, 'show', '--name-only', '--format=', 'main~1')).toBe('src/add.js')
    expect(git(project.dir, 'show', '--name-only', '--format=', 'main')).toBe('README.md')
    expect(existsSync(ran) ? readFileSync(ran, 'utf8') : 'no hook ran').toBe('no hook ran')
  })

  it('land.message writes the landing commits as the config says, with a front-matter key of the task; a typo in a template is refused before any agent runs', async () => {
    const message = 'message: (task) => `feat(${task.role}): ${task.title}\\n\\nRefs: ${task.extra.ticket}`'
    const project = createProject({
      config: configFor({ default: 1 }, `\n  land: { ${message} },`),
      files: {
        '.tanuki/tasks/M-1.md':
          '---\nid: M-1\ntitle: Add the notes\nticket: APP-7\ncompletion:\n  verify: test -f notes.txt\n---\n```sh\necho hi > notes.txt\n```\n',
      },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(git(project.dir, 'log', '-1', '--format=%B', 'main').split('\n').slice(0, 4)).toEqual([
      'feat(default): Add the notes',
      '',
      'Refs: APP-7',
      'Tanuki-Task: M-1',
    ])
    expect(landedOn(project.dir)).toEqual(['M-1'])

    const typo = createProject({
      config: configFor({ default: 1 }, "\n  land: { message: 'feat: {title} ({ticket})' },"),
      tasks: [{ id: 'N-1', sh: 'echo hi > n.txt', verify: 'test -f n.txt' }],
    })
    const refused = await tanuki(typo.dir, 'project', 'start')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('config key "land.message" names {ticket}, which is no placeholder')
    expect(existsSync(join(typo.dir, 'n.txt'))).toBe(false)
    expect(landedOn(typo.dir)).toEqual([])
  })

  it('lands a diamond on two agents in dependency order, one commit per task, each gated on the combined work', async () => {
    const project = createProject({
      agents: { default: 2 },
      tasks: [
        { id: 'L-1', sh: 'echo base > base.txt', verify: 'test -f base.txt' },
        { id: 'L-2', dependsOn: ['L-1'], sh: 'cat base.txt > left.txt', verify: 'grep -q base left.txt' },
        { id: 'L-3', dependsOn: ['L-1'], sh: 'cat base.txt > right.txt', verify: 'grep -q base right.txt' },
        {
          id: 'L-4',
          dependsOn: ['L-2', 'L-3'],
          sh: 'cat left.txt right.txt > top.txt',
          verify: 'test "$(cat top.txt)" = "$(printf "base\\nbase")"',
        },
      ],
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(0)
    const landed = landedOn(project.dir)
    expect([...landed].sort()).toEqual(['L-1', 'L-2', 'L-3', 'L-4'])
    // Newest first: L-4 last, L-1 first.
    expect(landed[0]).toBe('L-4')
    expect(landed.at(-1)).toBe('L-1')
    // One commit per task, titled as the task, and the person's checkout holds the work.
    expect(git(project.dir, 'log', '--format=%s', '-4', 'main').split('\n').sort()).toEqual([
      'Task L-1',
      'Task L-2',
      'Task L-3',
      'Task L-4',
    ])
    expect(readFileSync(join(project.dir, 'top.txt'), 'utf8')).toBe('base\nbase\n')
    expect(git(project.dir, 'status', '--porcelain', '--', '.', ':!.tanuki')).toBe('')
    // Every landed tip passed its task's verify there: the gate ran once per landing.
    const events = readEvents(project.dir)
    expect(events.filter((e) => e.event === 'task:landed').map((e) => e.taskId)).toEqual([...landed].reverse())
    const status = await statusJson(project.dir)
    expect(status.progress).toMatchObject({ complete: 4, landed: 4 })
    for (const task of status.tasks) expect(task.landed?.commit).toMatch(/^[0-9a-f]{40}$/)
  })

  it('a conflict between two parallel tasks goes back to Claude Code, which resolves it, and both land', async () => {
    // Both tasks rewrite the same line; whichever lands second conflicts. Its Claude Code gets a
    // prompt naming the file, finds the merge in progress, and keeps both sides.
    api = await startFakeAnthropic((request, { mainLoop }) => {
      if (!mainLoop) return undefined
      const prompt = userText(request)
      const results = lastToolResults(request)
      if (results.length > 0) return { content: [{ type: 'text', text: 'Done. VALUE_SET' }] }
      const mine = prompt.includes('C-1') ? 'one' : 'two'
      const command = prompt.includes('Resolve a merge first')
        ? "printf 'value: one\\nvalue: two\\n' > shared.txt && git status --short"
        : `printf 'value: ${mine}\\n' > shared.txt`
      return {
        content: [
          { type: 'text', text: 'On it.' },
          { type: 'tool_use', name: 'Bash', input: { command, description: 'edit shared.txt' } },
        ],
      }
    })
    const home = folder('tanuki-e2e-home-')
    const task = (id: string) =>
      `---\nid: ${id}\ntitle: Set the value (${id})\ncompletion:\n  signal: VALUE_SET\n  verify: "grep -q '^value: ' shared.txt && ! grep -q '<<<<<<<' shared.txt"\n  max_iterations: 3\n---\nTask ${id}: set the value in shared.txt.\n`
    const project = createProject({
      files: {
        'shared.txt': 'value: zero\n',
        '.tanuki/tasks/C-1.md': task('C-1'),
        '.tanuki/tasks/C-2.md': task('C-2'),
      },
      config: `import { defineConfig } from 'tanuki'
export default defineConfig({
  cooldownMs: 50,
  defaults: { backend: 'process', kind: 'claude' },
  agents: { default: { count: 2 } },
})
`,
    })
    // Claude Code (found on PATH, as on a person's machine) talks to the fake API in this process.
    setCliEnv({
      ...claudeEnv({ baseUrl: api.url, home }),
      PATH: `${dirname(claudeBin)}${delimiter}${process.env.PATH}`,
    })
    const ended = await startTanuki(project.dir, 'project', 'start').done
    expect(ended.code, ended.stderr + ended.stdout).toBe(0)
    const conflicts = readEvents(project.dir).filter((e) => e.event === 'task:conflict')
    expect(conflicts.length).toBeGreaterThanOrEqual(1)
    expect(conflicts[0]).toMatchObject({ files: ['shared.txt'] })
    expect([...landedOn(project.dir)].sort()).toEqual(['C-1', 'C-2'])
    expect(readFileSync(join(project.dir, 'shared.txt'), 'utf8')).toBe('value: one\nvalue: two\n')
    // The resolving iteration was a real Claude Code run that was told what to resolve.
    expect(api.mainLoopRequests().some((request) => userText(request).includes('Resolve a merge first'))).toBe(true)
  }, 180_000)

  it('an agent that leaves a conflict unresolved commits and lands nothing of it: no conflict markers reach main', async () => {
    // D and E rewrite the same line at once; the second to land conflicts with the first, goes
    // back to its agent with the conflict, and a shell agent cannot resolve it. Its verify is
    // weak: a file with conflict markers passes it (the marker block holds both lines).
    const project = sameLine({ maxIterations: 5 })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    expect(git(project.dir, 'log', '-p', 'main', '--', 'shared.txt')).not.toMatch(/^\+(<{7}|={7}|>{7})/m)
    expect(readFileSync(join(project.dir, 'shared.txt'), 'utf8')).toMatch(/^shared from [DE]$/m)
    const tasks = (await statusJson(project.dir)).tasks
    const landed = tasks.filter((t) => t.status === 'complete')
    const left = tasks.filter((t) => t.status !== 'complete')
    expect(landed).toHaveLength(1)
    expect(landedOn(project.dir)).toEqual([landed[0]!.id])
    expect(left).toEqual([
      expect.objectContaining({ status: 'review', lastError: expect.objectContaining({ class: 'agent-error' }) }),
    ])
    expect(left[0]!.lastError!.cause).toMatch(/^the merge conflict in shared.txt is not resolved/)
    // One conflict, said once, for a person: met at landing, and not again when the agent's
    // workspace carries the work on and meets it where the agent is to resolve it.
    const other = left[0]!.id
    expect(run.stdout.split('\n').filter((line) => line.includes('⚡'))).toEqual([
      expect.stringMatching(
        new RegExp(
          `⚡ ${other} did not land: conflict in shared\\.txt with the work of ${landed[0]!.id}; an agent resolves it$`,
        ),
      ),
    ])
    // `task show` names the landed work it met, not its own.
    const show = await tanuki(project.dir, 'task', 'show', other)
    expect(show.stdout).toContain(
      `  last landing: its work conflicts with the work of ${landed[0]!.id} in shared.txt; what changed there:\n`,
    )
    // Its next prompt asks once, with what landed since (the other side), not its own change.
    const prompt = readFileSync(
      join(project.dir, '.tanuki', 'logs', 'tasks', other, 'iteration-002.log'),
      'utf8',
    ).split('## Agent output')[0]!
    expect(prompt.split('## Resolve a merge first')).toHaveLength(2)
    expect(prompt).toContain(`+shared from ${landed[0]!.id}`)
    expect(prompt).not.toContain(`+shared from ${other}`)

    // The person resolves it on main by hand, and says so: it is not landed again, nothing runs.
    writeFileSync(join(project.dir, 'shared.txt'), 'line1\nshared from D and E\nline3\n')
    git(project.dir, 'commit', '-qam', `${other} by hand`)
    const refused = await tanuki(project.dir, 'task', 'mark', other, 'failed', '--landed')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('Only a task marked complete can be --landed')
    const mark = await tanuki(project.dir, 'task', 'mark', other, 'complete', '--landed')
    expect(mark.code, mark.stderr).toBe(0)
    expect(mark.stdout).toContain(`Marked complete and landed by hand: ${other}`)
    const land = await tanuki(project.dir, 'land')
    expect(land.stdout).toContain('Nothing to land on main.')
    const resumed = await tanuki(project.dir, 'project', 'resume')
    expect(resumed.code, resumed.stderr).toBe(0)
    expect((await statusJson(project.dir)).tasks.find((t) => t.id === other)).toMatchObject({
      status: 'complete',
      landed: { commit: 'by hand' },
    })
    expect(readFileSync(join(project.dir, 'shared.txt'), 'utf8')).toBe('line1\nshared from D and E\nline3\n')
  })

  it('`tanuki land --dry-run` predicts the conflict between queued tasks, and moves, makes and writes nothing', async () => {
    const project = sameLine({ config: configFor({ default: 2 }, '\n  land: { auto: false },') })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    const untouched = () => ({
      main: git(project.dir, 'rev-parse', 'main'),
      branches: git(project.dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads'),
      worktrees: git(project.dir, 'worktree', 'list', '--porcelain'),
      files: readFileSync(join(project.dir, 'shared.txt'), 'utf8'),
    })
    const dryRun = async () => {
      const before = untouched()
      const dry = await tanuki(project.dir, 'land', '--dry-run', '--json')
      expect(dry.code, dry.stderr).toBe(0)
      expect(untouched()).toEqual(before)
      return (JSON.parse(dry.stdout) as { plan: { taskId: string; conflicts: string[] }[] }).plan
    }
    // Whichever completed second meets the first's change.
    const [first, second] = await dryRun()
    expect(first).toEqual({ taskId: expect.stringMatching(/^[DE]$/), conflicts: [] })
    expect(second).toEqual({ taskId: expect.stringMatching(/^[DE]$/), conflicts: ['shared.txt'] })

    // The first lands on the integration branch, but a person's edit keeps main where it was.
    writeFileSync(join(project.dir, 'shared.txt'), 'line1\nshared original\nline3, by a person\n')
    // (The second conflicts for real, and goes back to pending for an agent.)
    const landing = await tanuki(project.dir, 'land')
    expect(landing.code).toBe(1)
    expect(landing.stdout).toMatch(
      new RegExp(
        `^landed ${first!.taskId} on the integration branch as \\w+; main has not moved to it yet \\(see the note\\)$`,
        'm',
      ),
    )
    expect(landing.stdout).toMatch(
      /^note: your uncommitted changes in .* \(shared.txt\) would be overwritten by the landed work; /m,
    )
    expect(landedOn(project.dir, 'main')).toEqual([])
    expect(landedOn(project.dir, 'tanuki/land/main')).toEqual([first!.taskId])
    git(project.dir, 'checkout', '--', 'shared.txt')
    // Nothing holds main back now, and still a dry run does not move it: `tanuki land` will.
    expect(await dryRun()).toEqual([])
    expect(landedOn(project.dir, 'main')).toEqual([])
  })

  it('`tanuki land --dry-run` says what the landing will: work already on main, and no work, land nothing', async () => {
    // C makes B's change, and has no completion: a person approves it after review, when B's
    // landing already holds its work. E is marked complete by hand and never ran.
    const project = createProject({
      tasks: [
        { id: 'B', sh: 'echo same > same.txt', verify: 'test -f same.txt' },
        { id: 'E', status: 'failed' },
      ],
      files: { '.tanuki/tasks/C.md': '---\nid: C\ntitle: Task C\n---\nTask C.\n\n```sh\necho same > same.txt\n```\n' },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    expect(landedOn(project.dir)).toEqual(['B'])
    for (const id of ['C', 'E']) expect((await tanuki(project.dir, 'task', 'mark', id, 'complete')).code).toBe(0)
    const main = git(project.dir, 'rev-parse', 'main')

    const said = 'nothing to land for C (its work is already on main)\nnothing to land for E (no work was recorded)\n'
    const dry = await tanuki(project.dir, 'land', '--dry-run')
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toBe(said)
    expect(JSON.parse((await tanuki(project.dir, 'land', '--dry-run', '--json')).stdout)).toMatchObject({
      plan: [],
      nothingToLand: [
        { taskId: 'C', reason: 'no-changes' },
        { taskId: 'E', reason: 'no-work' },
      ],
    })
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr).toBe(0)
    expect(land.stdout).toBe(said)
    expect(git(project.dir, 'rev-parse', 'main')).toBe(main)
  })

  it('a land.verify that cannot run (a typo) stops landing at once: one try, the command named, the work kept', async () => {
    const project = createProject({
      tasks: [{ id: 'Q', sh: 'touch ok.txt', verify: 'test -f ok.txt' }],
      config: configFor({ default: 1 }, "\n  land: { verify: 'no-such-gate-cmd' },"),
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(
      'tanuki: landing stopped: `land.verify` `no-such-gate-cmd` could not run on the combined work (exit 127',
    )
    expect(run.stderr).toContain('Fix it in the config, then run `tanuki land`.')
    expect(readEvents(project.dir).filter((e) => e.event === 'task:assigned')).toHaveLength(1)
    expect(landedOn(project.dir)).toEqual([])
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ id: 'Q', status: 'complete', landed: null })
    // `tanuki land` with the typo still there: the same words, and the task stays complete.
    const again = await tanuki(project.dir, 'land')
    expect(again.code).toBe(1)
    expect(again.stdout).toBe(
      'landing stopped: `land.verify` `no-such-gate-cmd` could not run on the combined work (exit 127), ' +
        'so nothing more landed: the work waits, complete. Fix the command, then run `tanuki land` again.\n' +
        'waiting: Q (landing stopped)\n',
    )
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ id: 'Q', status: 'complete', landed: null })
    // Fixed, `tanuki land` lands the work that waited.
    writeFileSync(
      join(project.dir, 'tanuki.config.ts'),
      readFileSync(join(project.dir, 'tanuki.config.ts'), 'utf8').replace('no-such-gate-cmd', 'test -f ok.txt'),
    )
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr + land.stdout).toBe(0)
    expect(landedOn(project.dir)).toEqual(['Q'])
  })

  it('--verbose says each command of a landing’s gate as it starts, between the completion and the landing', async () => {
    const project = createProject({
      tasks: [{ id: 'G-1', sh: 'touch a.txt', verify: 'test -f a.txt' }],
      config: configFor({ default: 1 }, `\n  land: { verify: 'sleep 1 && test -f a.txt' },`),
    })
    const run = await tanuki(project.dir, 'project', 'start', '--verbose')
    expect(run.code, run.stderr).toBe(0)
    const lines = run.stdout.split('\n').map((line) => line.replace(/^\d\d:\d\d:\d\d /, ''))
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line))
    const complete = at(/^✓ G-1 complete/)
    const landed = at(/^⇡ G-1 landed on main/)
    expect(lines.slice(complete + 1, landed).filter((line) => line.startsWith('⇢'))).toEqual([
      '⇢ landing G-1: running the gate `test -f a.txt`…',
      '⇢ landing G-1: running the gate `sleep 1 && test -f a.txt`…',
    ])
    expect(complete).toBeGreaterThan(-1)
  })

  it('land.verify failing on the combination lands nothing wrong; the task goes back with the output, then to review', async () => {
    const project = createProject({
      tasks: [
        { id: 'V-1', sh: 'touch a.txt', verify: 'test -f a.txt' },
        { id: 'V-2', dependsOn: ['V-1'], sh: 'touch b.txt', verify: 'test -f b.txt', maxIterations: 2 },
      ],
      // Each task passes alone; the two files together break the project's own check.
      config: configFor(
        { default: 1 },
        `\n  land: { verify: 'if test -f a.txt && test -f b.txt; then echo "a and b cannot live together"; exit 3; fi' },`,
      ),
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    expect(landedOn(project.dir)).toEqual(['V-1'])
    expect(existsSync(join(project.dir, 'b.txt'))).toBe(false)
    const failed = readEvents(project.dir).filter((e) => e.event === 'task:land-failed')
    expect(failed.map((e) => [e.taskId, e.exitCode])).toEqual([
      ['V-2', 3],
      ['V-2', 3],
    ])
    // The second try's prompt carried what the gate printed.
    const second = readFileSync(join(project.dir, '.tanuki', 'logs', 'tasks', 'V-2', 'iteration-002.log'), 'utf8')
    expect(second).toContain('a and b cannot live together')
    const status = await statusJson(project.dir)
    expect(status.tasks.find((t) => t.id === 'V-2')).toMatchObject({ status: 'review', landed: null })
  })

  it('`task rerun` after the tries ran out at landing gives max_iterations fresh tries, on resume and across a kill -9', async () => {
    const outside = folder('tanuki-rerun-')
    const runs = join(outside, 'runs.txt')
    const fixed = join(outside, 'gate-fixed')
    const hangAt = 8
    const project = createProject({
      tasks: [
        {
          id: 'M-07',
          // Each try is counted outside the worktree; the 8th hangs until the orchestrator is killed.
          sh: `echo try >> ${runs}; n=$(wc -l < ${runs}); echo "try $n" > work.txt; if [ "$n" -eq ${hangAt} ]; then sleep 60; fi`,
          verify: 'test -f work.txt',
          maxIterations: 3,
        },
      ],
      // The project's own check fails on the combined work until a person fixes it (on the target
      // alone it passes: the failure is the task's work's, which goes back to its agent).
      config: configFor(
        { default: 1 },
        `\n  land: { verify: 'test ! -f work.txt || test -f ${fixed} || { echo "the gate is broken"; exit 1; }' },\n  sameFailureLimit: 10,`,
      ),
    })
    const tries = (): number => (existsSync(runs) ? readFileSync(runs, 'utf8').split('\n').filter(Boolean).length : 0)
    const reviewLine = (stdout: string): string | undefined =>
      stdout.split('\n').find((line) => line.includes('M-07 needs review after'))

    const first = await tanuki(project.dir, 'project', 'start')
    expect(first.code).toBe(1)
    expect(tries()).toBe(3)
    expect(reviewLine(first.stdout)).toContain('after 3 iterations: could not land')

    // Rerun with no run on: written to the journal; the resume gives it 3 fresh tries, not 1.
    expect((await tanuki(project.dir, 'task', 'rerun', 'M-07')).code).toBe(0)
    const resumed = await tanuki(project.dir, 'project', 'resume')
    expect(resumed.code).toBe(1)
    expect(tries()).toBe(6)
    expect(reviewLine(resumed.stdout)).toContain(
      'after 3 iterations (6 in all, with its earlier runs): could not land: `test ! -f work.txt',
    )
    expect(reviewLine(resumed.stdout)).toContain('no tries left (3)')
    const shown = await tanuki(project.dir, 'task', 'show', 'M-07')
    expect(shown.stdout).toContain('  iterations:  3 (6 in all, with its earlier runs)')

    // Rerun again; its first fresh try lands badly, the second hangs, and the orchestrator is
    // killed (-9) then: the resume gives it what is left of its tries, one, numbered 3 of 3.
    expect((await tanuki(project.dir, 'task', 'rerun', 'M-07')).code).toBe(0)
    const again = startTanuki(project.dir, 'project', 'resume')
    await waitFor('the hanging try', () => tries() === hangAt && agentPid(project.dir, 'default-1'), 60_000)
    const agent = agentPid(project.dir, 'default-1')!
    await waitFor('the try recorded', () => journalOf(project.dir, 'M-07').iterations === hangAt)
    process.kill(lockPid(project.dir)!, 'SIGKILL')
    expect((await again.done).signal).toBe('SIGKILL')
    process.kill(-agent, 'SIGKILL')
    const last = await tanuki(project.dir, 'project', 'resume')
    expect(last.code).toBe(1)
    expect(tries()).toBe(hangAt + 1)
    // Its last log is the resumed try's (the hanging one's, buffered, died with the orchestrator).
    const logs = join(project.dir, '.tanuki', 'logs', 'tasks', 'M-07')
    const logged = readFileSync(join(logs, readdirSync(logs).sort().at(-1)!), 'utf8')
    expect(logged).toMatch(/^# M-07 — iteration 3\/3 /)
    expect(logged).toContain('try 3 of 3')
    expect(reviewLine(last.stdout)).toContain('no tries left (3)')
    expect(journalOf(project.dir, 'M-07')).toMatchObject({ status: 'review', iterations: hangAt + 1, triesFrom: 6 })

    // Once the gate is fixed, a rerun lands its work.
    writeFileSync(fixed, '')
    expect((await tanuki(project.dir, 'task', 'rerun', 'M-07')).code).toBe(0)
    const landed = await tanuki(project.dir, 'project', 'resume')
    expect(landed.code, landed.stdout + landed.stderr).toBe(0)
    expect(landedOn(project.dir)).toEqual(['M-07'])
  })

  it('a person’s uncommitted change holds the target back: the run says the work waits, exits 1, and `tanuki land` lands it once they commit', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n')
    const project = createProject({
      files: { 'notes.txt': `${lines}\n` },
      tasks: [
        {
          id: 'H-1',
          sh: "sed -i 's/^line 20$/line 20, by an agent/' notes.txt",
          verify: 'grep -q "20, by an agent" notes.txt',
        },
        {
          id: 'H-2',
          dependsOn: ['H-1'],
          sh: "sed -i 's/^line 10$/line 10, by an agent/' notes.txt",
          verify: 'grep -q "10, by an agent" notes.txt',
        },
      ],
    })
    // The person edits line 1 and leaves it uncommitted while the run lands edits of lines 20 and 10.
    const mine = `line 1, by a person\n${lines.split('\n').slice(1).join('\n')}\n`
    writeFileSync(join(project.dir, 'notes.txt'), mine)
    const main = git(project.dir, 'rev-parse', 'main')
    const waits = (stdout: string) => {
      // The console's last line: complete, but not on main; where it waits, why, and what to do.
      const last = stdout.split('\n').find((line) => line.includes('all 2 tasks complete'))
      expect(last).toMatch(
        /^\d\d:\d\d:\d\d ! all 2 tasks complete, 2 waiting for main \(H-1, H-2\)( in \S+)?: your uncommitted changes in \S+ \(notes\.txt\) would be overwritten by the landed work; nothing of yours was touched\. The work waits on tanuki\/land\/main: commit or stash your changes, then run `tanuki land`\.$/,
      )
      expect(stdout).not.toMatch(/, \d+ landed/)
    }
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    waits(run.stdout)
    // The brief printed after it says the same, with what to do.
    expect(run.stdout).toMatch(
      /^ {2}⇡ H-1, H-2 not on main yet: your uncommitted changes in .* \(notes\.txt\) would be overwritten .*then run `tanuki land`$/m,
    )
    // The summary file ends with it.
    const heldLine =
      /^\*\*H-1\*\*, \*\*H-2\*\* landed on the integration branch, not on main: your uncommitted changes in .* \(notes\.txt\) would be overwritten/
    const file = () => readFileSync(join(project.dir, '.tanuki', 'summary.md'), 'utf8')
    expect(file().trimEnd().split('\n').at(-1)).toMatch(heldLine)
    expect(run.stderr).toMatch(
      /^tanuki: not on main yet: H-1, H-2, landed on the integration branch: your uncommitted changes in .* \(notes\.txt\) would be overwritten/m,
    )
    expect(git(project.dir, 'rev-parse', 'main')).toBe(main)
    expect(readFileSync(join(project.dir, 'notes.txt'), 'utf8')).toBe(mine)
    expect(landedOn(project.dir)).toEqual([])
    expect(landedOn(project.dir, 'tanuki/land/main')).toEqual(['H-2', 'H-1'])
    const landed = readEvents(project.dir).filter((e) => e.event === 'task:landed')
    expect(landed.map((e) => [e.taskId, e.moved, e.target])).toEqual([
      ['H-1', false, 'main'],
      ['H-2', false, 'main'],
    ])
    // The next run, with the change still there, finds the work still waiting, and says so again
    // (its summary file too).
    const again = await tanuki(project.dir, 'project', 'start', '--quiet')
    expect(again.code).toBe(1)
    waits(again.stdout)
    expect(file().trimEnd().split('\n').at(-1)).toMatch(heldLine)
    expect(file()).toContain('**All tasks complete; 2 not on main yet.**')
    // `project status`, from the journal after the run: complete, waiting for main, not landed.
    const held = await statusJson(project.dir)
    expect(held.progress).toMatchObject({ complete: 2, landed: 0, heldBack: 2 })
    for (const id of ['H-1', 'H-2']) {
      expect(held.tasks.find((t) => t.id === id)).toMatchObject({
        status: 'complete',
        landed: null,
        heldBack: {
          target: 'main',
          commit: expect.stringMatching(/^\w{40}$/),
          note: expect.stringContaining('notes.txt'),
        },
      })
    }
    const heldText = (await tanuki(project.dir, 'project', 'status')).stdout
    expect(heldText.split('\n')[0]).toMatch(/ · 2 waiting for main$/)
    expect(heldText).toContain(
      '\nWaiting for main\n  H-1, H-2: landed on the integration branch, not on main, which could not move forward\n  note: your uncommitted changes in ',
    )

    // Still there: `tanuki land` says so, and fails.
    const early = await tanuki(project.dir, 'land')
    expect(early.code).toBe(1)
    expect(early.stdout).toContain('not on main yet: H-1, H-2, on the integration branch (see the note)\n')
    expect(git(project.dir, 'rev-parse', 'main')).toBe(main)

    // The person commits their change: `tanuki land` moves main, and says the work landed.
    git(project.dir, 'commit', '-qam', 'my note')
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr + land.stdout).toBe(0)
    expect(land.stdout).toMatch(
      /^landed H-1 on main as \w{12} \(it waited on the integration branch\)\nlanded H-2 on main as \w{12} \(it waited on the integration branch\)\n$/,
    )
    expect(landedOn(project.dir)).toEqual(['H-2', 'H-1'])
    const notes = readFileSync(join(project.dir, 'notes.txt'), 'utf8')
    expect(notes).toContain('line 1, by a person\n')
    expect(notes).toContain('line 10, by an agent\n')
    expect(notes).toContain('line 20, by an agent\n')
    expect(git(project.dir, 'log', '--format=%s', 'main')).toContain('my note')
    expect((await tanuki(project.dir, 'land')).stdout).toBe('Nothing to land on main.\n')
    // `project status` agrees: on main now.
    const after = await statusJson(project.dir)
    expect(after.progress).toMatchObject({ complete: 2, landed: 2, heldBack: 0 })
    for (const id of ['H-1', 'H-2']) {
      const task = after.tasks.find((t) => t.id === id)!
      expect(task.landed).toEqual({ commit: expect.stringMatching(/^\w{40}$/), at: expect.any(String) })
      expect(task.heldBack).toBeUndefined()
    }
    expect((await tanuki(project.dir, 'project', 'status')).stdout).not.toContain('waiting for main')
  })

  it('a task with nothing to land after work held back does not wait with it: it is said so, and counted apart', async () => {
    const project = createProject({
      files: { 'notes.txt': 'line 1\nline 2\nline 3\nline 4\nline 5\n' },
      tasks: [
        { id: 'E-1', sh: "sed -i 's/^line 5$/line 5, by an agent/' notes.txt", verify: 'grep -q agent notes.txt' },
        { id: 'E-2', dependsOn: ['E-1'], sh: 'echo two > two.txt', verify: 'test -f two.txt' },
      ],
    })
    // E-2 settled by hand, never run: no work. The person's uncommitted edit holds E-1 back.
    expect((await tanuki(project.dir, 'task', 'mark', 'E-2', 'complete')).code).toBe(0)
    writeFileSync(join(project.dir, 'notes.txt'), 'line 1, by a person\nline 2\nline 3\nline 4\nline 5\n')
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    expect(run.stdout).toMatch(/^\d\d:\d\d:\d\d · nothing to land for E-2 \(no work was recorded\)$/m)
    expect(run.stdout).toMatch(/! all 2 tasks complete, 1 with nothing to land, 1 waiting for main \(E-1\)/)
    const held = await statusJson(project.dir)
    expect(held.progress).toMatchObject({ landed: 0, heldBack: 1, nothingToLand: 1 })
    expect(held.tasks.find((t) => t.id === 'E-2')).toMatchObject({ landed: { empty: 'no-work' } })
    expect(held.tasks.find((t) => t.id === 'E-2')!.heldBack).toBeUndefined()
    // Once the person commits, only E-1 is said to land.
    git(project.dir, 'commit', '-qam', 'my line')
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr + land.stdout).toBe(0)
    expect(land.stdout).toMatch(/^landed E-1 on main as \w{12} \(it waited on the integration branch\)\n$/)
    expect((await statusJson(project.dir)).progress).toMatchObject({ landed: 1, heldBack: 0, nothingToLand: 1 })
  })

  it('work held back, then a person commits a conflicting change: the dry run plans it again from main, `tanuki land` sends it to an agent', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n')
    const project = createProject({
      files: { 'notes.txt': `${lines}\n` },
      tasks: [
        {
          id: 'C-1',
          sh: "sed -i 's/^line 20$/line 20, by an agent/' notes.txt",
          verify: 'grep -q "20, by an agent" notes.txt',
        },
      ],
    })
    // Held back by the person's uncommitted edit of line 1.
    writeFileSync(join(project.dir, 'notes.txt'), `line 1, by a person\n${lines.split('\n').slice(1).join('\n')}\n`)
    const run = await tanuki(project.dir, 'project', 'start', '--quiet')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    expect(landedOn(project.dir, 'tanuki/land/main')).toEqual(['C-1'])
    const waited = git(project.dir, 'rev-parse', 'tanuki/land/main')
    // Then they commit, with their own edit of line 20: main and the waiting work conflict.
    writeFileSync(
      join(project.dir, 'notes.txt'),
      `line 1, by a person\n${lines.split('\n').slice(1, 19).join('\n')}\nline 20, by a person\n`,
    )
    git(project.dir, 'commit', '-qam', 'my lines')
    const main = git(project.dir, 'rev-parse', 'main')
    // The dry run: C-1 lands again from its work, on main as it is, and meets the person's line.
    const dry = await tanuki(project.dir, 'land', '--dry-run')
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toBe(
      'Would land on main, in this order:\n  C-1  conflicts in notes.txt\n' +
        'note: main has commits that conflict with work that waits on tanuki/land/main (notes.txt): `tanuki land` starts ' +
        'tanuki/land/main again from main and lands C-1 again from its work (in the plan above); a task whose work ' +
        'conflicts goes back to an agent.\n',
    )
    const json = JSON.parse((await tanuki(project.dir, 'land', '--dry-run', '--json')).stdout)
    expect(json).toMatchObject({ caughtUp: [], held: [], plan: [{ taskId: 'C-1', conflicts: ['notes.txt'] }] })
    expect(git(project.dir, 'rev-parse', 'tanuki/land/main')).toBe(waited)
    // `tanuki land`: no manual merge asked for; the conflict is the agent's, as any landing's is.
    const land = await tanuki(project.dir, 'land', '--json')
    expect(land.code).toBe(1)
    const report = JSON.parse(land.stdout)
    expect(report).toMatchObject({
      target: 'main',
      landed: [],
      held: [],
      failed: [{ taskId: 'C-1', reason: 'could not land: its work conflicts with landed work in notes.txt' }],
    })
    expect(report.error).toBeUndefined()
    expect(report.notes).toEqual([
      expect.stringMatching(
        /^main has commits that conflict with work that waited on tanuki\/land\/main \(notes\.txt\): tanuki\/land\/main starts again from main \(it was at \w{12}\), and C-1 lands again from its work, gated; /,
      ),
    ])
    // The person's branch and files untouched; the integration branch starts from them.
    expect(git(project.dir, 'rev-parse', 'main')).toBe(main)
    expect(git(project.dir, 'status', '--porcelain', '--', '.', ':!.tanuki')).toBe('')
    expect(git(project.dir, 'rev-parse', 'tanuki/land/main')).toBe(main)
    // Back to an agent, with the conflict in its next prompt: no longer waiting, not landed.
    const status = await statusJson(project.dir)
    expect(status.tasks[0]).toMatchObject({ status: 'pending', landed: null })
    expect(status.tasks[0]!.heldBack).toBeUndefined()
    expect(status.progress).toMatchObject({ heldBack: 0, landed: 0 })
  })

  it('work held back, then a person commits a conflicting change: `tanuki land` lands the rest on main, and a resume has the agent resolve the conflict', async () => {
    // The shell agent resolves a landing conflict as an agent would: it keeps both sides.
    const square = [
      "if grep -q '^<<<<<<<' src/math.js; then sed -i '/^<<<<<<<\\|^=======\\|^>>>>>>>/d' src/math.js;",
      "else echo 'export const square = (x) => x * x' >> src/math.js; fi",
    ].join(' ')
    const math = ['export const add = (a, b) => a + b', 'export const sub = (a, b) => a - b', '', '', ''].join('\n')
    const project = createProject({
      files: { 'src/math.js': math },
      tasks: [
        { id: 'HEADER', sh: "sed -i '1i // math helpers' src/math.js", verify: 'grep -q helpers src/math.js' },
        {
          id: 'SQUARE',
          dependsOn: ['HEADER'],
          sh: square,
          verify: "grep -q square src/math.js && ! grep -q '^<<<<<<<' src/math.js",
        },
      ],
    })
    // The person's uncommitted change at the end of src/math.js holds both landings back.
    writeFileSync(join(project.dir, 'src/math.js'), `${math}// my note\n`)
    const run = await tanuki(project.dir, 'project', 'start', '--quiet')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    expect(run.stdout).toContain('2 waiting for main (HEADER, SQUARE)')
    expect(landedOn(project.dir, 'tanuki/land/main')).toEqual(['SQUARE', 'HEADER'])
    // They commit it, as the run said to: it conflicts with SQUARE's work (the end of the file),
    // not with HEADER's (its first line).
    git(project.dir, 'commit', '-qam', 'my note')
    const mine = git(project.dir, 'rev-parse', 'main')
    const land = await tanuki(project.dir, 'land')
    expect(land.code).toBe(1)
    expect(land.stderr).not.toContain('by hand')
    const lines = land.stdout.split('\n')
    expect(lines[0]).toMatch(/^landed HEADER on main as \w{12}$/)
    expect(lines[1]).toBe(
      'not landed: SQUARE: could not land: its work conflicts with landed work in src/math.js; `tanuki project resume` sends it back to an agent' +
        `, or merge it yourself (\`git cherry-pick ${git(project.dir, 'for-each-ref', '--format=%(refname)', 'refs/tanuki/*/tasks/SQUARE/work')}\`, resolve, commit), then \`tanuki task mark SQUARE complete --landed\``,
    )
    expect(land.stdout).toMatch(
      /\nnote: main has commits that conflict with work that waited on tanuki\/land\/main \(src\/math\.js\): tanuki\/land\/main starts again from main \(it was at \w{12}\), and HEADER, SQUARE land again from their work, gated; a task whose work conflicts goes back to an agent with the conflict\. Nothing of yours was touched\.\n/,
    )
    // Main moved forward only: the person's commit is in its history, HEADER on top of it.
    expect(git(project.dir, 'rev-parse', 'main^')).toBe(mine)
    expect(landedOn(project.dir)).toEqual(['HEADER'])
    expect((await statusJson(project.dir)).tasks.find((t) => t.id === 'SQUARE')).toMatchObject({
      status: 'pending',
      landed: null,
    })
    // A resume: SQUARE's agent gets the conflict, resolves it, and its work lands.
    const resume = await tanuki(project.dir, 'project', 'resume', '--quiet')
    expect(resume.code, resume.stderr + resume.stdout).toBe(0)
    expect(landedOn(project.dir)).toEqual(['SQUARE', 'HEADER'])
    expect(git(project.dir, 'log', '--format=%s', 'main')).toContain('my note')
    expect(readFileSync(join(project.dir, 'src/math.js'), 'utf8')).toBe(
      `// math helpers\n${math}// my note\nexport const square = (x) => x * x\n`,
    )
    const prompt = readFileSync(join(project.dir, '.tanuki', 'logs', 'tasks', 'SQUARE', 'iteration-002.log'), 'utf8')
    expect(prompt).toContain('Resolve a merge first')
    expect(git(project.dir, 'status', '--porcelain', '--', '.', ':!.tanuki')).toBe('')
    expect((await statusJson(project.dir)).progress).toMatchObject({ landed: 2, heldBack: 0 })
  })

  it('work held back, then a person commits a conflicting change: a resume lands it again from its work, its agent resolving the conflict', async () => {
    const square = [
      "if grep -q '^<<<<<<<' src/math.js; then sed -i '/^<<<<<<<\\|^=======\\|^>>>>>>>/d' src/math.js;",
      "else echo 'export const square = (x) => x * x' >> src/math.js; fi",
    ].join(' ')
    const math = 'export const add = (a, b) => a + b\n'
    const project = createProject({
      files: { 'src/math.js': math },
      tasks: [{ id: 'SQUARE', sh: square, verify: "grep -q square src/math.js && ! grep -q '^<<<<<<<' src/math.js" }],
    })
    writeFileSync(join(project.dir, 'src/math.js'), `${math}// my note\n`)
    const run = await tanuki(project.dir, 'project', 'start', '--quiet')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    git(project.dir, 'commit', '-qam', 'my note')
    const mine = git(project.dir, 'rev-parse', 'main')
    // No `tanuki land` first: the resume starts the integration branch again and lands the rest.
    const resume = await tanuki(project.dir, 'project', 'resume')
    expect(resume.code, resume.stderr + resume.stdout).toBe(0)
    expect(resume.stdout).toMatch(/SQUARE.*conflict.*src\/math\.js/)
    expect(landedOn(project.dir)).toEqual(['SQUARE'])
    expect(git(project.dir, 'rev-parse', 'main^')).toBe(mine)
    expect(readFileSync(join(project.dir, 'src/math.js'), 'utf8')).toBe(
      `${math}// my note\nexport const square = (x) => x * x\n`,
    )
    expect((await statusJson(project.dir)).progress).toMatchObject({ landed: 1, heldBack: 0 })
  })

  it('with --watch, a commit that breaks land.verify on main by itself holds landing, sends no task back, and a fixing commit lands the work', async () => {
    // Each run of the gate leaves a line here, outside the repository.
    const gates = join(folder('tanuki-e2e-gates-'), 'gates.log')
    const project = createProject({
      tasks: [{ id: 'G-1', sh: 'echo one > one.txt', verify: 'test -f one.txt' }],
      config: configFor(
        { default: 1 },
        `\n  pollIntervalMs: 100,\n  land: { verify: 'echo run >> ${gates}; if test -f broken.txt; then echo "main is broken"; exit 1; fi' },`,
      ),
    })
    const run = startTanuki(project.dir, 'project', 'start', '--watch')
    await waitFor('G-1 landed', () => landedOn(project.dir).includes('G-1'), 60_000)
    // A person commits to main a change that fails the gate by itself, then adds two tasks.
    writeFileSync(join(project.dir, 'broken.txt'), 'oops\n')
    git(project.dir, 'add', 'broken.txt')
    git(project.dir, 'commit', '-qm', 'break the gate')
    const broke = git(project.dir, 'rev-parse', '--short=7', 'HEAD')
    for (const id of ['G-2', 'G-3'])
      writeFileSync(
        join(project.tasksDir, `${id}.md`),
        taskText({ id, sh: `echo ${id} > ${id}.txt`, verify: `test -f ${id}.txt` }),
      )
    const said = `main fails \`echo run >> ${gates}; if test -f broken.txt; then echo "main is broken"; exit 1; fi\` without any task's work (since commit ${broke} 'break the gate')`
    await waitFor('the run to say main fails', () => run.output().stdout.includes(said), 60_000)
    // And under it what the gate printed on main alone.
    await waitFor('the run to say what the gate printed', () =>
      run.output().stdout.includes('What land.verify printed there:'),
    )
    expect(run.output().stdout).toContain('    main is broken')
    await waitFor('both complete', async () => {
      const { tasks } = await statusJson(project.dir)
      return tasks.filter((t) => t.status === 'complete').length === 3
    })
    const status = await statusJson(project.dir)
    for (const id of ['G-2', 'G-3']) {
      // Complete, not landed, not sent back: one try each, and it says what it waits for.
      const task = status.tasks.find((t) => t.id === id)
      expect(task).toMatchObject({ status: 'complete', landed: null, iterations: 1 })
      expect(task?.reason).toContain(said)
    }
    expect(run.output().stdout).toContain(
      'fix main, then `tanuki land` (or the run lands again on the next commit to main)',
    )
    // `project status` names them under what needs a person.
    const shown = await tanuki(project.dir, 'project', 'status')
    expect(shown.stdout).toMatch(/Needs you\n {2}G-[23], G-[23] complete, not landed ← main fails `echo run/)
    // G-1's landing, the held work's, and one run on main alone; none of the other task's.
    expect(readFileSync(gates, 'utf8').trim().split('\n')).toHaveLength(3)
    expect(readEvents(project.dir).filter((e) => e.event === 'task:review')).toEqual([])
    expect(landedOn(project.dir)).toEqual(['G-1'])
    // The person fixes main: the run sees the commit and lands the held work.
    git(project.dir, 'rm', '-q', 'broken.txt')
    git(project.dir, 'commit', '-qm', 'fix the gate')
    await waitFor('G-2 and G-3 landed', () => landedOn(project.dir).length === 3, 60_000)
    expect([...landedOn(project.dir)].sort()).toEqual(['G-1', 'G-2', 'G-3'])
    expect((await tanuki(project.dir, 'project', 'stop')).code).toBe(0)
    const ended = await run.done
    expect(ended.code, ended.stderr).toBe(0)
    expect(readEvents(project.dir).filter((e) => e.event === 'task:review')).toEqual([])
  })

  it('`tanuki land` with no run on, on a main that fails land.verify by itself, sends no task back; once main is fixed it lands them', async () => {
    // Each run of the gate leaves a line here, outside the repository.
    const gates = join(folder('tanuki-e2e-gates-'), 'gates.log')
    const gate = `echo run >> ${gates}; if test -f broken.txt; then echo "main is broken"; exit 1; fi`
    const project = createProject({
      tasks: [
        { id: 'N-1', sh: 'echo one > one.txt', verify: 'test -f one.txt' },
        { id: 'N-2', dependsOn: ['N-1'], sh: 'echo two > two.txt', verify: 'test -f two.txt' },
      ],
      config: configFor({ default: 1 }, `\n  land: { auto: false, verify: '${gate}' },`),
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    // A person commits to main a change that fails the gate by itself.
    writeFileSync(join(project.dir, 'broken.txt'), 'oops\n')
    git(project.dir, 'add', 'broken.txt')
    git(project.dir, 'commit', '-qm', 'break the gate')
    const broke = git(project.dir, 'rev-parse', '--short=7', 'HEAD')
    const said =
      `main fails \`${gate}\` without any task's work (since commit ${broke} 'break the gate'), ` +
      'so no agent is sent back and nothing lands: fix main, then `tanuki land`'

    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stdout).toBe(1)
    expect(land.stderr).toContain(said)
    // And what the gate printed there, under it: why main fails, not only that it does.
    expect(land.stderr).toContain(`${said}\n  What land.verify printed there:\n    main is broken\n`)
    expect(land.stdout).toBe(
      'waiting: N-1 (main fails the gate by itself)\nwaiting: N-2 (main fails the gate by itself)\n',
    )
    // N-1's landing, then one run on main alone; N-2 was not tried on a main that fails anyway.
    expect(readFileSync(gates, 'utf8').trim().split('\n')).toHaveLength(2)
    expect(landedOn(project.dir)).toEqual([])
    const status = await statusJson(project.dir)
    for (const id of ['N-1', 'N-2']) {
      // Complete, not landed, not sent back: one try each, and it says what it waits for.
      const task = status.tasks.find((t) => t.id === id)
      expect(task).toMatchObject({ status: 'complete', landed: null, iterations: 1 })
      expect(task?.reason).toBe(`waits: ${said}`)
      expect(journalOf(project.dir, id)).not.toHaveProperty('feedback')
    }
    // `project status` names them under what needs a person.
    const shown = await tanuki(project.dir, 'project', 'status')
    expect(shown.stdout).toMatch(/Needs you\n {2}N-1, N-2 complete, not landed ← main fails `echo run/)
    // About the branch: the heading counts the work not landed, and no task file is named.
    expect(shown.stdout).toContain('2/2 complete (100%) · 2 not landed')
    expect(shown.stdout).not.toContain('their task files')
    // `--json` says it as the report's error, the work still waiting.
    const json = await tanuki(project.dir, 'land', '--json')
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({
      landed: [],
      failed: [],
      waiting: [{ taskId: 'N-1' }, { taskId: 'N-2' }],
      error: { code: 'TANUKI_LAND_TARGET_FAILS', message: said, output: ['main is broken'] },
    })

    // The person fixes main: `tanuki land` lands the work, and nothing waits any more.
    git(project.dir, 'rm', '-q', 'broken.txt')
    git(project.dir, 'commit', '-qm', 'fix the gate')
    const fixed = await tanuki(project.dir, 'land')
    expect(fixed.code, fixed.stderr + fixed.stdout).toBe(0)
    expect(landedOn(project.dir)).toEqual(['N-2', 'N-1'])
    const after = await statusJson(project.dir)
    for (const id of ['N-1', 'N-2']) {
      const task = after.tasks.find((t) => t.id === id)
      expect(task).toMatchObject({ status: 'complete', iterations: 1 })
      expect(task?.reason ?? '').not.toMatch(/^waits:/)
    }
    expect((await tanuki(project.dir, 'project', 'status')).stdout).not.toContain('Needs you')
  })

  it('`tanuki land` again on the same broken main and land.verify runs the gate on the work only, not again on main alone; a new commit or another command asks again', async () => {
    // Each run of the gate leaves a line here, outside the repository.
    const gates = join(folder('tanuki-e2e-gates-'), 'gates.log')
    const gate = `echo run >> ${gates}; if test -f broken.txt; then echo "main is broken"; exit 1; fi`
    const config = (command: string) => configFor({ default: 1 }, `\n  land: { auto: false, verify: '${command}' },`)
    const project = createProject({
      tasks: [{ id: 'K-1', sh: 'echo one > one.txt', verify: 'test -f one.txt' }],
      config: config(gate),
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    writeFileSync(join(project.dir, 'broken.txt'), 'oops\n')
    git(project.dir, 'add', 'broken.txt')
    git(project.dir, 'commit', '-qm', 'break the gate')
    const broke = git(project.dir, 'rev-parse', '--short=7', 'HEAD')
    const gateRuns = () => readFileSync(gates, 'utf8').trim().split('\n').length
    const said = (command: string, commit: string, subject: string) =>
      `main fails \`${command}\` without any task's work (since commit ${commit} '${subject}'), ` +
      'so no agent is sent back and nothing lands: fix main, then `tanuki land`'

    const first = await tanuki(project.dir, 'land')
    expect(first.code, first.stdout).toBe(1)
    expect(first.stderr).toContain(said(gate, broke, 'break the gate'))
    // K-1's landing, then one run on main alone.
    expect(gateRuns()).toBe(2)
    // Nothing came to main and the gate is the same: K-1's gate runs (it would land, were main
    // mended outside git), and main's verdict alone is the one kept, not asked again.
    const again = await tanuki(project.dir, 'land', '--json')
    expect(again.code).toBe(1)
    expect(JSON.parse(again.stdout)).toMatchObject({
      landed: [],
      failed: [],
      waiting: [{ taskId: 'K-1' }],
      // The kept verdict keeps what the gate printed too.
      error: {
        code: 'TANUKI_LAND_TARGET_FAILS',
        message: said(gate, broke, 'break the gate'),
        output: ['main is broken'],
      },
    })
    expect(gateRuns()).toBe(3)
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ status: 'complete', landed: null, iterations: 1 })

    // A new commit on main (still broken): another base, so the gate runs again, naming it.
    writeFileSync(join(project.dir, 'more.txt'), 'more\n')
    git(project.dir, 'add', 'more.txt')
    git(project.dir, 'commit', '-qm', 'more of mine')
    const more = git(project.dir, 'rev-parse', '--short=7', 'HEAD')
    const newBase = await tanuki(project.dir, 'land')
    expect(newBase.code).toBe(1)
    expect(newBase.stderr).toContain(said(gate, more, 'more of mine'))
    expect(gateRuns()).toBe(5)
    // Another land.verify: asked again too.
    const other = `${gate} # again`
    writeFileSync(join(project.dir, 'tanuki.config.ts'), config(other))
    const newGate = await tanuki(project.dir, 'land')
    expect(newGate.code).toBe(1)
    expect(newGate.stderr).toContain(said(other, more, 'more of mine'))
    expect(gateRuns()).toBe(7)
    expect(landedOn(project.dir)).toEqual([])
  })

  it('with --watch, `tanuki land` moves the target once the person commits, and the run reports the work landed', async () => {
    const project = createProject({
      files: { 'notes.txt': 'line 1\nline 2\nline 3\nline 4\nline 5\n' },
      tasks: [
        { id: 'W-1', sh: "sed -i 's/^line 5$/line 5, by an agent/' notes.txt", verify: 'grep -q agent notes.txt' },
      ],
    })
    writeFileSync(join(project.dir, 'notes.txt'), 'line 1, by a person\nline 2\nline 3\nline 4\nline 5\n')
    const run = startTanuki(project.dir, 'project', 'start', '--watch')
    await waitFor('W-1 waiting for main', () => run.output().stdout.includes('1 waiting for main (W-1)'), 60_000)
    // The running orchestrator's status says so too.
    await waitFor('the status snapshot', async () => (await statusJson(project.dir)).progress.heldBack === 1)
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ landed: null, heldBack: { target: 'main' } })
    // Through the running orchestrator, `tanuki land` says the work still waits, and why.
    const early = await tanuki(project.dir, 'land')
    expect(early.code, early.stderr).toBe(1)
    expect(early.stdout).toContain('not on main yet: W-1, on the integration branch (see the note)')
    expect(early.stdout).toMatch(/note: your uncommitted changes in .*notes\.txt/)
    expect(landedOn(project.dir)).toEqual([])
    git(project.dir, 'commit', '-qam', 'my note')
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr).toBe(0)
    expect(landedOn(project.dir)).toEqual(['W-1'])
    await waitFor('the status snapshot', async () => (await statusJson(project.dir)).progress.landed === 1)
    expect((await statusJson(project.dir)).progress.heldBack).toBe(0)
    expect(readFileSync(join(project.dir, 'notes.txt'), 'utf8')).toBe(
      'line 1, by a person\nline 2\nline 3\nline 4\nline 5, by an agent\n',
    )
    expect((await tanuki(project.dir, 'project', 'stop')).code).toBe(0)
    const ended = await run.done
    expect(ended.code, ended.stderr).toBe(0)
    // The run's word on it: still waiting after the first `tanuki land`, on main after the second;
    // then how to delete the agent's worktree, the run's last word.
    expect(ended.stdout).toMatch(
      / ⇡ W-1 landed on main as \w{10}\nThe agent's worktree stays for a next run; `tanuki project stop --remove` deletes what Tanuki created\.\n$/,
    )
    expect(
      readEvents(project.dir)
        .filter((e) => e.event === 'task:landed')
        .map((e) => e.moved),
    ).toEqual([false, false, true])
  })

  it('with --watch, a person commits a change that conflicts with held work: the next landing starts the integration branch again, and the held task goes to its agent', async () => {
    // W-1's agent resolves a landing conflict as an agent would: it keeps both sides.
    const resolve = [
      "if grep -q '^<<<<<<<' notes.txt; then sed -i '/^<<<<<<<\\|^=======\\|^>>>>>>>/d' notes.txt;",
      "else sed -i 's/^line 5$/line 5, by an agent/' notes.txt; fi",
    ].join(' ')
    const project = createProject({
      files: { 'notes.txt': 'line 1\nline 2\nline 3\nline 4\nline 5\n' },
      tasks: [{ id: 'W-1', sh: resolve, verify: "grep -q agent notes.txt && ! grep -q '^<<<<<<<' notes.txt" }],
    })
    // Held back by the person's uncommitted edit of line 1.
    writeFileSync(join(project.dir, 'notes.txt'), 'line 1, by a person\nline 2\nline 3\nline 4\nline 5\n')
    const run = startTanuki(project.dir, 'project', 'start', '--watch')
    await waitFor('W-1 waiting for main', () => run.output().stdout.includes('1 waiting for main (W-1)'), 60_000)
    // They commit, with their own edit of line 5: main and the waiting work conflict.
    writeFileSync(join(project.dir, 'notes.txt'), 'line 1, by a person\nline 2\nline 3\nline 4\nline 5, by a person\n')
    git(project.dir, 'commit', '-qam', 'my lines')
    const mine = git(project.dir, 'rev-parse', 'main')
    // A new task completes while the run goes on: its landing meets main's new commits.
    writeFileSync(
      join(project.tasksDir, 'W-2.md'),
      taskText({ id: 'W-2', sh: 'echo two > two.txt', verify: 'test -f two.txt' }),
    )
    await waitFor('both landed on main', () => landedOn(project.dir).length === 2, 90_000)
    expect(landedOn(project.dir).sort()).toEqual(['W-1', 'W-2'])
    // Main moved forward only, the person's commit in its history; both sides of line 5 kept.
    expect(git(project.dir, 'merge-base', '--is-ancestor', mine, 'main')).toBe('')
    expect(readFileSync(join(project.dir, 'notes.txt'), 'utf8')).toMatch(
      /line 5, by a person\n[^]*line 5, by an agent|line 5, by an agent\n[^]*line 5, by a person/,
    )
    expect(existsSync(join(project.dir, 'two.txt'))).toBe(true)
    expect((await tanuki(project.dir, 'project', 'stop')).code).toBe(0)
    const ended = await run.done
    expect(ended.code, ended.stderr).toBe(0)
    // No manual merge asked of the person, no landing error: W-1's conflict went to its agent.
    expect(ended.stdout + ended.stderr).not.toMatch(/by hand|✗ landing/)
    expect(ended.stdout).toMatch(/W-1.*conflict.*notes\.txt/)
    expect(git(project.dir, 'status', '--porcelain', '--', '.', ':!.tanuki')).toBe('')
  })

  it('stop --remove keeps a person’s own tanuki/ branches and an agent branch whose work has not landed', async () => {
    const project = createProject({
      tasks: [{ id: 'K-1', sh: 'echo k > k.txt', verify: 'test -f k.txt' }],
      config: configFor({ default: 1 }, '\n  land: { auto: false },'),
    })
    // Before the run: a person's feature branch with a commit of its own, and one named like an agent's.
    git(project.dir, 'checkout', '-q', '-b', 'tanuki/feature')
    writeFileSync(join(project.dir, 'feature.txt'), 'mine\n')
    git(project.dir, 'add', '-A')
    git(project.dir, 'commit', '-qm', 'my feature')
    git(project.dir, 'checkout', '-q', 'main')
    git(project.dir, 'branch', 'tanuki/default-1')
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    const branches = () =>
      git(project.dir, 'branch', '--list', 'tanuki/*', '--format=%(refname:short)').split('\n').sort()
    // The agent did not take the person's branch: it got one of its own.
    expect(branches()).toEqual(['tanuki/default-1', 'tanuki/default-1-2', 'tanuki/feature', 'tanuki/land/main'])

    const stop = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toContain('  K-1  complete  on tanuki/default-1-2\n')
    expect(stop.stdout).toContain('`tanuki land` lands the work of K-1.\n')
    expect(branches()).toEqual(['tanuki/default-1', 'tanuki/default-1-2', 'tanuki/feature'])
    expect(existsSync(agentWorktree(project.dir, 'default-1'))).toBe(false)

    const force = await tanuki(project.dir, 'project', 'stop', '--remove', '--force')
    expect(force.code, force.stderr).toBe(0)
    expect(branches()).toEqual(['tanuki/default-1', 'tanuki/feature'])
    expect(git(project.dir, 'log', '-1', '--format=%s', 'tanuki/feature')).toBe('my feature')
  })

  it('stop --remove says in a few lines what went and what stayed, by task; a second one agrees; --force names the work it deleted', async () => {
    // One agent does all four: two land, B goes to review (no completion), D is marked failed.
    const project = createProject({
      tasks: [
        { id: 'A', priority: 'critical', sh: 'echo a > a.txt', verify: 'test -f a.txt' },
        { id: 'C', priority: 'high', sh: 'echo c > c.txt', verify: 'test -f c.txt' },
        { id: 'D', priority: 'low', sh: 'echo d > d.txt', verify: 'false', maxIterations: 1 },
      ],
      files: { '.tanuki/tasks/B.md': '---\nid: B\ntitle: Task B\n---\nTask B.\n\n```sh\necho b > b.txt\n```\n' },
    })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    expect(landedOn(project.dir).sort()).toEqual(['A', 'C'])
    expect((await tanuki(project.dir, 'task', 'mark', 'D', 'failed')).code).toBe(0)
    const worktrees = dirname(agentWorktree(project.dir, 'default-1'))
    const kept = [
      'Kept the work of 2 tasks whose commits are not on the target branch:',
      '  B  review  on tanuki/default-1',
      '  D  failed  on tanuki/default-1',
      'B and D are not complete, so `tanuki land` will not land their work: to land one, approve it with `tanuki task mark ID complete`, then run `tanuki land`.',
      'To delete the kept work anyway: `tanuki project stop --remove --force`.',
    ]
    const record =
      "The run's record stays in .tanuki/ (statuses, spend, logs): `tanuki project status` shows it, `tanuki task rerun ID` runs a task again."

    const stop = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toBe(
      [`Removed 2 worktrees (in ${worktrees}) and 1 branch (tanuki/land/main).`, ...kept, record, ''].join('\n'),
    )
    // Its worktrees gone, the project's folder in the state home goes; the run's record stays.
    expect(existsSync(dirname(worktrees))).toBe(false)
    expect(existsSync(join(project.dir, '.tanuki', 'journal.ndjson'))).toBe(true)
    // The record of what Tanuki made says the same: the kept branch only, and where work landed.
    const owned = () => JSON.parse(readFileSync(join(project.dir, '.tanuki', 'owned.json'), 'utf8'))
    expect(owned()).toEqual({
      branches: { 'tanuki/default-1': expect.objectContaining({ kind: 'agent', agent: 'default-1' }) },
      worktrees: {},
      targets: ['main'],
    })

    // The landing branch is gone now, but A and C landed all the same: still not called unlanded.
    const again = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(again.stdout).toBe([...kept, record, ''].join('\n'))

    const force = await tanuki(project.dir, 'project', 'stop', '--remove', '--force')
    expect(force.stdout).toBe(
      [
        'Removed 1 branch (tanuki/default-1).',
        'With --force, deleted the work of B and D, which had not landed.',
        record,
        '',
      ].join('\n'),
    )
    expect(git(project.dir, 'branch', '--list', 'tanuki/*')).toBe('')
    expect(git(project.dir, 'for-each-ref', 'refs/tanuki')).toBe('')
    expect(owned()).toEqual({ branches: {}, worktrees: {}, targets: ['main'] })
    const status = await statusJson(project.dir)
    expect(status.tasks.map((task) => [task.id, task.status])).toEqual([
      ['A', 'complete'],
      ['B', 'review'],
      ['C', 'complete'],
      ['D', 'failed'],
    ])
  })

  it('stop --remove deletes the refs of tasks that changed nothing without --force: no work is in them', async () => {
    // N completes with no change (nothing to land); R goes to review having changed nothing.
    const project = createProject({
      tasks: [{ id: 'N', sh: 'echo nothing', verify: 'true' }],
      files: { '.tanuki/tasks/R.md': '---\nid: R\ntitle: Task R\n---\nTask R.\n\n```sh\necho nothing\n```\n' },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    // Not all landed: the run's end names what to do about R, not the cleanup.
    expect(run.stdout).not.toContain('stop --remove')
    const stop = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toMatch(/^Removed /)
    expect(stop.stdout).not.toContain('Kept')
    expect(git(project.dir, 'branch', '--list', 'tanuki/*')).toBe('')
    expect(git(project.dir, 'worktree', 'list').trim().split('\n')).toHaveLength(1)
    expect(git(project.dir, 'for-each-ref', 'refs/tanuki')).toBe('')
  })

  it('stop --remove --force that deletes only task refs says so, not "Nothing to remove."', async () => {
    const project = createProject({
      files: { '.tanuki/tasks/R.md': '---\nid: R\ntitle: Task R\n---\nTask R.\n\n```sh\necho r > r.txt\n```\n' },
    })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    expect((await tanuki(project.dir, 'project', 'stop', '--remove')).stdout).toContain(
      '  R  review  on tanuki/default-1',
    )
    // The person drops the agent's branch by hand: R's work is left in its task refs alone.
    git(project.dir, 'branch', '-D', 'tanuki/default-1')
    expect((await tanuki(project.dir, 'project', 'stop', '--remove')).stdout).toContain('  R  review  in its task refs')
    const force = await tanuki(project.dir, 'project', 'stop', '--remove', '--force')
    expect(force.code, force.stderr).toBe(0)
    expect(force.stdout.split('\n')[0]).toBe('With --force, deleted the work of R, which had not landed.')
    expect(force.stdout).not.toContain('Nothing to remove.')
    expect(git(project.dir, 'for-each-ref', 'refs/tanuki')).toBe('')
  })

  it('a task a person approves after review lands its own work with `tanuki land`; stop --remove and land agree', async () => {
    // A new user's first project: a `command` agent, one task with no completion, so a person reviews it.
    const project = createProject({
      config: `export default { defaults: { backend: 'process', kind: 'command', command: ['sh', '-c', 'echo "draft" > doc.txt; echo wrote doc'] } }\n`,
      files: { '.tanuki/tasks/DOC.md': '---\nid: DOC\ntitle: Write a doc\n---\nWrite it.\n' },
    })
    const init = git(project.dir, 'rev-parse', 'main')
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(1)
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ id: 'DOC', status: 'review', landed: null })

    const mark = await tanuki(project.dir, 'task', 'mark', 'DOC', 'complete')
    expect(mark.code, mark.stderr).toBe(0)
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr).toBe(0)
    const main = git(project.dir, 'rev-parse', 'main')
    expect(main).not.toBe(init)
    expect(land.stdout).toBe(`landed DOC on main as ${main.slice(0, 12)}\n`)
    // The approved work, as one commit with the task's trailer, in the person's working tree.
    expect(landedOn(project.dir)).toEqual(['DOC'])
    expect(git(project.dir, 'diff', '--name-only', `${main}^`, main)).toBe('doc.txt')
    expect(readFileSync(join(project.dir, 'doc.txt'), 'utf8')).toBe('draft\n')
    const status = await statusJson(project.dir)
    expect(status.tasks[0]).toMatchObject({ status: 'complete', landed: { commit: main } })
    expect(status.progress.landed).toBe(1)

    // Both agree that nothing is left: nothing kept for unlanded work, nothing more to land.
    const stop = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout + stop.stderr).not.toMatch(/not landed|kept/i)
    const again = await tanuki(project.dir, 'land', '--into', 'main')
    expect(again.stdout).toBe('Nothing to land on main.\n')
  })

  it('a fix a person commits by hand in a review task’s worktree is kept by stop --remove, and named; --force deletes it and says so', async () => {
    const { project, worktree } = await reviewFixedByHand()
    const fix = git(worktree, 'rev-parse', '--short=7', 'HEAD')

    const stop = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout).toContain(
      `Kept tanuki/default-1: it has 1 commit (${fix} fix the doc) that no task's work holds and no other branch has`,
    )
    expect(stop.stdout).toContain(`\`git branch my-fix ${fix}\``)
    expect(git(project.dir, 'rev-parse', '--short=7', 'tanuki/default-1')).toBe(fix)

    const forced = await tanuki(project.dir, 'project', 'stop', '--remove', '--force')
    expect(forced.code, forced.stderr).toBe(0)
    expect(forced.stdout).toContain(`With --force, deleted tanuki/default-1 with 1 commit (${fix} fix the doc).`)
    expect(git(project.dir, 'branch', '--list', 'tanuki/*')).toBe('')
  })

  it('accepting a review task takes the fix a person made by hand in its worktree, committed or not, and `tanuki land` lands it', async () => {
    const { project, worktree } = await reviewFixedByHand()
    // And one more edit, not committed.
    writeFileSync(join(worktree, 'notes.txt'), 'by hand\n')

    const mark = await tanuki(project.dir, 'task', 'mark', 'DOC', 'complete')
    expect(mark.code, mark.stderr).toBe(0)
    expect(mark.stdout).toMatch(
      /^DOC: took your 2 commits on tanuki\/default-1 \([0-9a-f]{7} tanuki\(default-1\): what was left uncommitted in its worktree, taken for DOC\) as part of its work\.$/m,
    )
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr).toBe(0)
    expect(landedOn(project.dir)).toEqual(['DOC'])
    expect(readFileSync(join(project.dir, 'doc.txt'), 'utf8')).toBe('fixed\n')
    expect(readFileSync(join(project.dir, 'notes.txt'), 'utf8')).toBe('by hand\n')
    // All of it landed: nothing is kept by stop --remove.
    const stop = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout + stop.stderr).not.toMatch(/kept/i)
  })

  it('stop --remove keeps only work `tanuki land` would land, and its advice leads somewhere: for a failed task, approving it', async () => {
    // B and C make the same change on two agents: whichever lands second has nothing to land. D
    // has no completion, and a person marks it failed after review.
    const project = createProject({
      agents: { default: 2 },
      tasks: [
        { id: 'B', sh: 'echo same > same.txt', verify: 'test -f same.txt' },
        { id: 'C', sh: 'echo same > same.txt', verify: 'test -f same.txt' },
      ],
      files: {
        '.tanuki/tasks/D.md':
          '---\nid: D\ntitle: Task D\npriority: low\n---\nTask D.\n\n```sh\necho draft > d.txt\n```\n',
      },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    expect(run.stdout).toMatch(/· nothing to land for [BC] \(its work is already on main\)$/m)
    expect((await tanuki(project.dir, 'task', 'mark', 'D', 'failed')).code).toBe(0)

    const stop = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(stop.code, stop.stderr).toBe(0)
    // D's agent branch (and task refs) are kept; nothing for the task whose work is on main.
    const kept = [...stop.stdout.matchAll(/^ {2}(\S+) +(\S+) +on (\S+)$/gm)]
    expect(kept.map((match) => [match[1], match[2]])).toEqual([['D', 'failed']])
    expect(stop.stdout).toContain(
      'D is not complete, so `tanuki land` will not land its work: to land it, approve it with `tanuki task mark D complete`, then run `tanuki land`.\n',
    )
    expect(stop.stdout).not.toContain('lands the work of')

    // Followed, the advice lands D; then nothing is kept.
    expect((await tanuki(project.dir, 'task', 'mark', 'D', 'complete')).code).toBe(0)
    const land = await tanuki(project.dir, 'land')
    expect(land.stdout).toMatch(/^landed D on main as \w{12}\n$/)
    const again = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(again.stdout).not.toContain('Kept')
    expect(again.stdout).toMatch(/^Removed /)
    expect(git(project.dir, 'branch', '--list', 'tanuki/*')).toBe('')
    expect(git(project.dir, 'for-each-ref', 'refs/tanuki')).toBe('')
  })

  it('with --watch, approving a review task lands its work at once, though its agent went on to another task', async () => {
    const project = createProject({
      files: {
        // No completion: a person reviews it after one run. It goes first; NEXT then runs on the same agent.
        '.tanuki/tasks/DOC.md':
          '---\nid: DOC\ntitle: Write a doc\npriority: high\n---\nWrite it.\n\n```sh\necho draft > doc.txt\n```\n',
      },
      tasks: [{ id: 'NEXT', sh: 'echo next > next.txt', verify: 'test -f next.txt' }],
    })
    const run = startTanuki(project.dir, 'project', 'start', '--watch')
    await waitFor('NEXT landed', () => landedOn(project.dir).includes('NEXT'), 60_000)
    await waitFor(
      'DOC in review',
      async () => (await statusJson(project.dir)).tasks.find((t) => t.id === 'DOC')?.status === 'review',
    )
    expect(git(project.dir, 'log', '-1', '--format=%(trailers:key=Tanuki-Task,valueonly)', 'tanuki/default-1')).toBe(
      'NEXT',
    )

    const mark = await tanuki(project.dir, 'task', 'mark', 'DOC', 'complete')
    expect(mark.code, mark.stderr).toBe(0)
    await waitFor('DOC landed', () => landedOn(project.dir).includes('DOC'), 30_000)
    const main = git(project.dir, 'rev-parse', 'main')
    expect(landedOn(project.dir)).toEqual(['DOC', 'NEXT'])
    expect(git(project.dir, 'diff', '--name-only', `${main}^`, main)).toBe('doc.txt')
    expect(readFileSync(join(project.dir, 'doc.txt'), 'utf8')).toBe('draft\n')
    await waitFor('the status snapshot', async () => (await statusJson(project.dir)).progress.landed === 2)
    expect((await statusJson(project.dir)).tasks.find((t) => t.id === 'DOC')).toMatchObject({
      status: 'complete',
      landed: { commit: main },
    })
    expect((await tanuki(project.dir, 'project', 'stop')).code).toBe(0)
    const ended = await run.done
    expect(ended.code, ended.stderr).toBe(0)
    expect(ended.stdout).toContain(`⇡ DOC landed on main as ${main.slice(0, 10)}`)
    expect(ended.stdout).not.toContain('no work was recorded')
    expect((await tanuki(project.dir, 'land')).stdout).toBe('Nothing to land on main.\n')
    const stop = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(stop.stdout + stop.stderr).not.toMatch(/not landed|kept/i)
  })

  it('with worktrees outside the project, a test glob over the project sees only its own tests', async () => {
    const project = createProject({
      files: { 'tests/own.test.js': 'console.log("own test")\n' },
      tasks: [
        { id: 'G-1', sh: 'mkdir -p src && echo "// new" > src/added.test.js', verify: 'test -f src/added.test.js' },
      ],
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    // What a test runner globbing **/*.test.js finds: the project's files (and the landed one), no agent copies.
    const found = execFileSync('find', ['.', '-name', '*.test.js', '-not', '-path', './.git/*'], {
      cwd: project.dir,
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean)
      .sort()
    expect(found).toEqual(['./src/added.test.js', './tests/own.test.js'])
    expect(existsSync(join(agentWorktree(project.dir, 'default-1'), 'tests', 'own.test.js'))).toBe(true)
  })

  it('kill -9 in the middle of a landing, then resume: each task lands exactly once, none is lost', async () => {
    const marks = folder('tanuki-e2e-marks-')
    const ids = ['X-1', 'X-2', 'X-3', 'X-4']
    const project = createProject({
      tasks: ids.map((id, i) => ({
        id,
        dependsOn: i > 0 ? [ids[i - 1]!] : [],
        sh: `echo ${id} > ${id}.txt`,
        verify: `test -f ${id}.txt`,
      })),
      // The gate marks that it runs, then takes its time: the kill lands in the middle of it.
      config: configFor({ default: 1 }, `\n  land: { verify: 'touch ${marks}/gate-$TANUKI_TASK_ID; sleep 1' },`),
    })
    const run = startTanuki(project.dir, 'project', 'start')
    await waitFor('the gate of X-2', () => existsSync(join(marks, 'gate-X-2')), 60_000, 20)
    process.kill(run.pid, 'SIGKILL')
    await run.done
    await waitFor('the orchestrator to be gone', () => !isAlive(run.pid))
    const resume = await tanuki(project.dir, 'project', 'resume')
    expect(resume.code, resume.stderr + resume.stdout).toBe(0)
    const landed = landedOn(project.dir)
    expect([...landed].sort()).toEqual(ids)
    expect(landed).toEqual([...ids].reverse())
    for (const id of ids) expect(readFileSync(join(project.dir, `${id}.txt`), 'utf8')).toBe(`${id}\n`)
    expect((await statusJson(project.dir)).progress.landed).toBe(4)
  })

  it('Ctrl-C in the middle of a landing: the run exits 1 naming the work that did not land, and `tanuki land` lands it', async () => {
    const marks = folder('tanuki-e2e-marks-')
    const project = createProject({
      tasks: [{ id: 'S-1', sh: 'echo S-1 > S-1.txt', verify: 'test -f S-1.txt' }],
      // The gate marks that it runs, then takes its time: the SIGINT comes in the middle of it.
      config: configFor({ default: 1 }, `\n  land: { verify: 'touch ${marks}/gate; sleep 5' },`),
    })
    const run = startTanuki(project.dir, 'project', 'start')
    await waitFor('the gate of S-1', () => existsSync(join(marks, 'gate')), 60_000, 20)
    process.kill(run.pid, 'SIGINT')
    const stopped = await run.done
    // Complete is not delivered: the work is not on main.
    expect(stopped.code, stopped.stderr + stopped.stdout).toBe(1)
    expect(stopped.stderr).toContain(
      'tanuki: not landed: S-1, complete, but the run ended before its work landed; `tanuki land` (or `tanuki project resume`) lands it.',
    )
    expect(landedOn(project.dir)).toEqual([])
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr + land.stdout).toBe(0)
    expect(landedOn(project.dir)).toEqual(['S-1'])
  })

  it('a conflict a person settles by hand: `tanuki land` says where the work is, and `task mark --landed` settles it', async () => {
    // One try each: the task that lands second conflicts, and with no tries left goes to review.
    const project = sameLine({ maxIterations: 1 })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    const review = (await statusJson(project.dir)).tasks.find((task) => task.status === 'review')!
    const other = review.id === 'D' ? 'E' : 'D'
    expect(await tanuki(project.dir, 'task', 'mark', review.id, 'complete')).toMatchObject({ code: 0 })
    const land = await tanuki(project.dir, 'land')
    expect(land.code).toBe(1)
    const work = `refs/tanuki/${basename(project.dir)}/tasks/${review.id}/work`
    expect(land.stdout).toContain(
      `not landed: ${review.id}: could not land: its work conflicts with landed work in shared.txt; ` +
        `no tries left (1), so it goes to review: \`tanuki task rerun ${review.id}\` gives it fresh tries, or merge it yourself ` +
        `(\`git cherry-pick ${work}\`, resolve, commit), then \`tanuki task mark ${review.id} complete --landed\``,
    )
    // As it says: the pick conflicts, the person keeps both lines, commits, and marks it.
    expect(() => git(project.dir, 'cherry-pick', work)).toThrow()
    writeFileSync(join(project.dir, 'shared.txt'), `line1\nshared from ${other}\nshared from ${review.id}\nline3\n`)
    git(project.dir, 'add', 'shared.txt')
    git(project.dir, '-c', 'core.editor=true', 'cherry-pick', '--continue')
    expect(await tanuki(project.dir, 'task', 'mark', review.id, 'complete', '--landed')).toMatchObject({ code: 0 })
    const again = await tanuki(project.dir, 'land')
    expect(again.code, again.stderr + again.stdout).toBe(0)
    expect(again.stdout).toBe('Nothing to land on main.\n')
    expect((await statusJson(project.dir)).tasks.map((task) => task.status)).toEqual(['complete', 'complete'])
  })

  it('a later start on another branch lands there, a resume where its run started, and a detached HEAD keeps the last branch, said', async () => {
    const marks = folder('tanuki-e2e-marks-')
    const project = createProject({ tasks: [{ id: 'F-1', sh: 'echo F-1 > F-1.txt', verify: 'test -f F-1.txt' }] })
    const add = (id: string, sh = `echo ${id} > ${id}.txt`) =>
      writeFileSync(join(project.tasksDir, `${id}.md`), taskText({ id, sh, verify: `test -f ${id}.txt` }))
    git(project.dir, 'checkout', '-q', '-b', 'feature-1')
    const first = await tanuki(project.dir, 'project', 'start')
    expect(first.code, first.stderr + first.stdout).toBe(0)
    expect(first.stdout).toMatch(/⇡ F-1 landed on feature-1 as \w{10}\n/)
    expect(first.stdout).not.toContain('landing on')
    // The person moves on to another branch and adds a task: a fresh start lands it there, and says
    // that it is not where the last run landed.
    git(project.dir, 'checkout', '-q', 'main')
    git(project.dir, 'checkout', '-q', '-b', 'feature-2')
    add('F-2')
    const second = await tanuki(project.dir, 'project', 'start')
    expect(second.code, second.stderr + second.stdout).toBe(0)
    expect(second.stdout).toMatch(/^\d\d:\d\d:\d\d · landing on feature-2 \(the last run landed on feature-1\)$/m)
    expect(second.stdout).toMatch(/⇡ F-2 landed on feature-2 as \w{10}\n/)
    expect(landedOn(project.dir, 'feature-2')).toEqual(['F-2'])
    expect(landedOn(project.dir, 'feature-1')).toEqual(['F-1'])

    // A run stopped in the middle, then resumed on another branch: it lands where it started.
    add('F-3', `touch ${marks}/started; while [ ! -e ${marks}/go ]; do sleep 0.1; done; echo F-3 > F-3.txt`)
    const run = startTanuki(project.dir, 'project', 'start')
    await waitFor('F-3 to start', () => existsSync(join(marks, 'started')), 60_000, 20)
    process.kill(run.pid, 'SIGINT')
    expect((await run.done).code).toBe(1)
    git(project.dir, 'checkout', '-q', 'main')
    writeFileSync(join(marks, 'go'), '')
    const resumed = await tanuki(project.dir, 'project', 'resume')
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0)
    expect(resumed.stdout).toMatch(/⇡ F-3 landed on feature-2 as \w{10}\n/)
    expect(resumed.stdout).not.toContain('landing on')
    expect(landedOn(project.dir, 'feature-2')).toEqual(['F-3', 'F-2'])
    expect(landedOn(project.dir, 'main')).toEqual([])

    // Nothing checked out (a detached HEAD): a fresh start keeps the branch the last run landed
    // on, and says so, naming what to do to land elsewhere.
    git(project.dir, 'checkout', '-q', '--detach', 'main')
    add('F-4')
    const detached = await tanuki(project.dir, 'project', 'start')
    expect(detached.code, detached.stderr + detached.stdout).toBe(0)
    expect(detached.stdout).toContain(
      `! ${project.dir} has no branch checked out (a detached HEAD), so work lands on feature-2, where the last run landed. ` +
        "To land elsewhere, check out that branch before `tanuki project start`, or set `land: { into: '<branch>' }` in tanuki.config.ts.",
    )
    expect(detached.stdout).toMatch(/⇡ F-4 landed on feature-2 as \w{10}\n/)
    expect(landedOn(project.dir, 'feature-2')).toEqual(['F-4', 'F-3', 'F-2'])

    // The last run's branch merged and deleted: a start on another branch has nothing against it,
    // and neither has the check that says what a start would refuse.
    git(project.dir, 'checkout', '-q', '-b', 'feature-3', 'main')
    git(project.dir, 'branch', '-q', '-D', 'feature-2')
    const validate = await tanuki(project.dir, 'task', 'validate')
    expect(validate.code, validate.stderr + validate.stdout).toBe(0)
  })

  it('with auto: false, a task starts from the work of every dependency not landed, its dependencies’ own too, whichever agent did it', async () => {
    const project = createProject({
      tasks: [
        { id: 'C-1', sh: 'echo one > one.txt', verify: 'test -f one.txt' },
        // An unrelated task between them: the agent's tree starts over from the landed work.
        { id: 'C-X', dependsOn: ['C-1'], sh: 'echo x > x.txt', verify: 'test -f x.txt' },
        { id: 'C-2', dependsOn: ['C-X'], sh: 'echo two > two.txt', verify: 'test -f one.txt && test -f two.txt' },
        {
          id: 'C-3',
          dependsOn: ['C-2'],
          sh: 'cat one.txt two.txt > three.txt',
          verify: 'test "$(cat three.txt)" = "$(printf "one\\ntwo")"',
          maxIterations: 1,
        },
      ],
      config: configFor({ default: 1 }, '\n  land: { auto: false },'),
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(0)
    const status = await statusJson(project.dir)
    expect(status.tasks.map((t) => [t.id, t.status, t.iterations]).sort()).toEqual([
      ['C-1', 'complete', 1],
      ['C-2', 'complete', 1],
      ['C-3', 'complete', 1],
      ['C-X', 'complete', 1],
    ])
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr + land.stdout).toBe(0)
    expect(readFileSync(join(project.dir, 'three.txt'), 'utf8')).toBe('one\ntwo\n')
  })

  it('`tanuki land ID` lands only that task and the work it depends on, first; the rest waits, and what is not complete is refused', async () => {
    const project = createProject({
      tasks: [
        { id: 'L-1', sh: 'echo one > one.txt', verify: 'test -f one.txt' },
        { id: 'L-2', dependsOn: ['L-1'], sh: 'echo two > two.txt', verify: 'test -f one.txt && test -f two.txt' },
        { id: 'L-3', sh: 'echo three > three.txt', verify: 'test -f three.txt' },
        { id: 'L-4', sh: 'true', verify: 'test -f never.txt', maxIterations: 1 },
      ],
      config: configFor({ default: 1 }, '\n  land: { auto: false },'),
    })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    const before = git(project.dir, 'rev-parse', 'main')
    // Refused before anything moves: a task in review, one that is not there.
    const review = await tanuki(project.dir, 'land', 'L-2', 'L-4')
    expect(review.code).toBe(1)
    expect(review.stderr).toContain(
      'L-4 is in review, not complete: only complete work lands. `tanuki task show L-4` says why; `tanuki task mark L-4 complete` accepts its work as it is.',
    )
    const missing = await tanuki(project.dir, 'land', 'L-9')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('No task "L-9"')
    expect(git(project.dir, 'rev-parse', 'main')).toBe(before)

    const plan = await tanuki(project.dir, 'land', 'L-2', '--dry-run')
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout).toBe(
      'Would land on main, in this order:\n  L-1\n  L-2\n' +
        'note: L-1 lands too, first: L-2 depends on it, and its work has not landed.\n' +
        'note: complete work still waits to land: L-3 (`tanuki land` lands it).\n',
    )
    expect(git(project.dir, 'rev-parse', 'main')).toBe(before)

    const land = await tanuki(project.dir, 'land', 'L-2')
    expect(land.code, land.stderr).toBe(0)
    expect(landedOn(project.dir)).toEqual(['L-2', 'L-1'])
    expect(land.stdout).toMatch(/^landed L-1 on main as \w{12}\nlanded L-2 on main as \w{12}\n/)
    expect(land.stdout).not.toContain('waiting:')
    expect(existsSync(join(project.dir, 'three.txt'))).toBe(false)
    const status = await statusJson(project.dir)
    expect(status.tasks.filter((t) => t.landed).map((t) => t.id)).toEqual(['L-1', 'L-2'])
    expect(status.progress.notLanded).toBe(1)

    // Named again: nothing to land, said so; several at once, in any order.
    const again = await tanuki(project.dir, 'land', 'L-1', '--json')
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ landed: [], waiting: [] })
    expect(JSON.parse(again.stdout).notes[0]).toMatch(/^L-1 landed already, as \w{12}\.$/)
    const rest = await tanuki(project.dir, 'land', 'L-3', 'L-2')
    expect(rest.code, rest.stderr).toBe(0)
    expect(landedOn(project.dir)).toEqual(['L-3', 'L-2', 'L-1'])

    // With a run on, only `tanuki land` of everything goes through it.
    const run = startTanuki(project.dir, 'project', 'start', '--watch')
    await waitFor('the run', async () => (await statusJson(project.dir)).status === 'running', 60_000)
    const during = await tanuki(project.dir, 'land', 'L-3')
    expect(during.code).toBe(1)
    expect(during.stderr).toContain('landing only some tasks needs it stopped (`tanuki project stop`)')
    expect((await tanuki(project.dir, 'project', 'stop')).code).toBe(0)
    await run.done
  })

  it('complete work an earlier run did not land keeps the branch it was done for: a start elsewhere leaves it, and every report names that branch', async () => {
    const project = createProject({
      tasks: [{ id: 'K-1', sh: 'echo K-1 > K-1.txt', verify: 'test -f K-1.txt' }],
      // Work lands only when a person runs `tanuki land`: K-1 is complete and waits after the run.
      config: configFor({ default: 1 }, '\n  land: { auto: false },'),
    })
    const first = await tanuki(project.dir, 'project', 'start')
    expect(first.code, first.stderr + first.stdout).toBe(0)
    expect(landedOn(project.dir)).toEqual([])
    // The person checks out another branch and adds a task there.
    git(project.dir, 'checkout', '-q', '-b', 'feature-x')
    writeFileSync(
      join(project.tasksDir, 'K-2.md'),
      taskText({ id: 'K-2', sh: 'echo K-2 > K-2.txt', verify: 'test -f K-2.txt' }),
    )
    const said =
      'K-1 waits for main, the branch its work was done for, not the one the project lands on now: ' +
      '`tanuki land --into main` lands it there (or check out main and run `tanuki project start`; ' +
      'if main was deleted, `tanuki land --into BRANCH` lands it on the branch you name).'
    const second = await tanuki(project.dir, 'project', 'start')
    // Complete is not delivered: K-1 is on no branch yet.
    expect(second.code, second.stderr + second.stdout).toBe(1)
    expect(second.stdout).toMatch(/ · landing on feature-x \(the last run landed on main\)\n/)
    expect(second.stdout).toContain(`! ${said}\n`)
    expect(second.stdout).toMatch(/! all 2 tasks complete, 1 waiting for main \(K-1\)/)
    expect(second.stderr).toContain(`tanuki: ${said}\n`)
    // `project status` names the branch it waits for.
    const status = await statusJson(project.dir)
    expect(status.tasks.find((t) => t.id === 'K-1')).toMatchObject({
      status: 'complete',
      landed: null,
      waitsFor: 'main',
    })
    expect(status.tasks.find((t) => t.id === 'K-2')?.waitsFor).toBeUndefined()
    const text = (await tanuki(project.dir, 'project', 'status')).stdout
    // K-2, done for feature-x with landing left to the person, is not landed yet either.
    expect(text.split('\n')[0]).toMatch(/ · 1 waiting for main · 1 not landed$/)
    expect(text).toContain('  K-2 complete, not landed ← `tanuki land` puts its work on feature-x\n')
    expect(text).toContain(`\nWaiting for main\n  ${said}\n`)
    // `tanuki land` lands the run's work on feature-x, not K-1's, and says where K-1 waits.
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr + land.stdout).toBe(0)
    expect(land.stdout).toMatch(
      new RegExp(`^landed K-2 on feature-x as \\w{12}\n${said.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n$`),
    )
    expect(landedOn(project.dir, 'feature-x')).toEqual(['K-2'])
    const json = JSON.parse((await tanuki(project.dir, 'land', '--dry-run', '--json')).stdout)
    expect(json).toMatchObject({ target: 'feature-x', elsewhere: [{ target: 'main', tasks: ['K-1'] }] })
    // Landed where it was done for, when the person says so.
    const there = await tanuki(project.dir, 'land', '--into', 'main')
    expect(there.code, there.stderr + there.stdout).toBe(0)
    expect(there.stdout).toMatch(/^landed K-1 on main as \w{12}\n$/)
    expect(landedOn(project.dir, 'main')).toEqual(['K-1'])
    expect(landedOn(project.dir, 'feature-x')).toEqual(['K-2'])
    expect((await statusJson(project.dir)).tasks.find((t) => t.id === 'K-1')?.waitsFor).toBeUndefined()
  })

  it('work done for a branch since deleted lands where the person names with `tanuki land --into`', async () => {
    const project = createProject({
      tasks: [{ id: 'K-1', sh: 'echo K-1 > K-1.txt', verify: 'test -f K-1.txt' }],
      config: configFor({ default: 1 }, '\n  land: { auto: false },'),
    })
    git(project.dir, 'checkout', '-q', '-b', 'feature-1')
    const first = await tanuki(project.dir, 'project', 'start')
    expect(first.code, first.stderr + first.stdout).toBe(0)
    // feature-1 is merged (it has nothing new) and deleted; K-1 was never landed on it.
    git(project.dir, 'checkout', '-q', 'main')
    git(project.dir, 'branch', '-q', '-D', 'feature-1')
    const second = await tanuki(project.dir, 'project', 'start')
    expect(second.code, second.stderr + second.stdout).toBe(1)
    expect(second.stdout).toContain('K-1 waits for feature-1')
    expect(second.stdout).toContain(
      'if feature-1 was deleted, `tanuki land --into BRANCH` lands it on the branch you name',
    )
    // Plain `tanuki land` does not move it to main unasked.
    const plain = await tanuki(project.dir, 'land')
    expect(plain.code, plain.stderr + plain.stdout).toBe(0)
    expect(landedOn(project.dir, 'main')).toEqual([])
    const there = await tanuki(project.dir, 'land', '--into', 'main')
    expect(there.code, there.stderr + there.stdout).toBe(0)
    expect(there.stdout).toMatch(/^landed K-1 on main as \w{12}\n$/)
    expect(landedOn(project.dir, 'main')).toEqual(['K-1'])
    expect((await statusJson(project.dir)).tasks.find((t) => t.id === 'K-1')?.waitsFor).toBeUndefined()
  })

  it('work held back for main keeps waiting for main after a start on another branch, which lands its own work there', async () => {
    const project = createProject({
      files: { 'notes.txt': 'line 1\nline 2\nline 3\n' },
      tasks: [
        { id: 'W-1', sh: "sed -i 's/^line 3$/line 3, by an agent/' notes.txt", verify: 'grep -q agent notes.txt' },
      ],
    })
    // The person's uncommitted change holds main back: W-1 waits on tanuki/land/main.
    writeFileSync(join(project.dir, 'notes.txt'), 'line 1, by a person\nline 2\nline 3\n')
    const main = git(project.dir, 'rev-parse', 'main')
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    expect(landedOn(project.dir, 'tanuki/land/main')).toEqual(['W-1'])
    // They take their change to a branch of its own, and start there with a new task.
    git(project.dir, 'checkout', '-q', '-b', 'feature-x')
    git(project.dir, 'commit', '-qam', 'my note')
    writeFileSync(
      join(project.tasksDir, 'W-2.md'),
      taskText({ id: 'W-2', sh: 'echo W-2 > W-2.txt', verify: 'test -f W-2.txt' }),
    )
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    const said =
      'W-1 waits for main, the branch its work was done for, not the one the project lands on now: ' +
      '`tanuki land --into main` lands it there (or check out main and run `tanuki project start`; ' +
      'if main was deleted, `tanuki land --into BRANCH` lands it on the branch you name).'
    expect(run.stdout).toContain(`! ${said}\n`)
    expect(run.stdout).toMatch(/⇡ W-2 landed on feature-x as \w{10}\n/)
    expect(run.stderr).toContain(`tanuki: ${said}\n`)
    expect(landedOn(project.dir, 'feature-x')).toEqual(['W-2'])
    expect(git(project.dir, 'rev-parse', 'main')).toBe(main)
    // Its record still names main, and `tanuki land` on feature-x leaves it be, naming main.
    const held = (await statusJson(project.dir)).tasks.find((t) => t.id === 'W-1')
    expect(held).toMatchObject({ landed: null, heldBack: { target: 'main' } })
    const land = await tanuki(project.dir, 'land')
    expect(land.stdout).toContain(`${said}\n`)
    expect(git(project.dir, 'rev-parse', 'main')).toBe(main)
    // main is not checked out, so nothing of the person's holds it back now: `--into main` moves it.
    const there = await tanuki(project.dir, 'land', '--into', 'main')
    expect(there.code, there.stderr + there.stdout).toBe(0)
    expect(there.stdout).toMatch(/^landed W-1 on main as \w{12} \(it waited on the integration branch\)\n$/)
    expect(landedOn(project.dir, 'main')).toEqual(['W-1'])
  })

  it('work held back for a branch since deleted lands from its work where `tanuki land --into` names, in order', async () => {
    const project = createProject({
      files: { 'notes.txt': 'line 1\nline 2\nline 3\n' },
      tasks: [
        { id: 'H-1', sh: "sed -i 's/^line 3$/line 3, by an agent/' notes.txt", verify: 'grep -q agent notes.txt' },
        { id: 'H-2', sh: 'echo H-2 > H-2.txt', verify: 'test -f H-2.txt', dependsOn: ['H-1'] },
      ],
    })
    git(project.dir, 'checkout', '-q', '-b', 'feature-1')
    // The person's uncommitted change holds feature-1 back: the work waits on its integration branch.
    writeFileSync(join(project.dir, 'notes.txt'), 'line 1, by a person\nline 2\nline 3\n')
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    expect(landedOn(project.dir, 'tanuki/land/feature-1')).toEqual(['H-2', 'H-1'])
    // They drop their change and feature-1 itself (its own commits merged, say): the work is on no branch of theirs.
    git(project.dir, 'checkout', '-q', '--', 'notes.txt')
    git(project.dir, 'checkout', '-q', 'main')
    git(project.dir, 'branch', '-q', '-D', 'feature-1')
    const main = git(project.dir, 'rev-parse', 'main')
    const dry = await tanuki(project.dir, 'land', '--into', 'main', '--dry-run')
    expect(dry.code, dry.stderr + dry.stdout).toBe(0)
    expect(dry.stdout).toBe('Would land on main, in this order:\n  H-1\n  H-2\n')
    expect(git(project.dir, 'rev-parse', 'main')).toBe(main)
    const there = await tanuki(project.dir, 'land', '--into', 'main')
    expect(there.code, there.stderr + there.stdout).toBe(0)
    expect(there.stdout).toMatch(/^landed H-1 on main as \w{12}\nlanded H-2 on main as \w{12}\n$/)
    expect(landedOn(project.dir, 'main')).toEqual(['H-2', 'H-1'])
    expect(readFileSync(join(project.dir, 'notes.txt'), 'utf8')).toBe('line 1\nline 2\nline 3, by an agent\n')
    // Recorded as on main: nothing waits for feature-1 any more.
    const status = await statusJson(project.dir)
    for (const id of ['H-1', 'H-2']) {
      const task = status.tasks.find((t) => t.id === id)
      expect(task?.heldBack, id).toBeUndefined()
      expect(task?.waitsFor, id).toBeUndefined()
      expect(task?.landed?.commit, id).toBe(
        git(project.dir, 'log', '-1', '--format=%H', `--grep=Tanuki-Task: ${id}`, 'main'),
      )
    }
    const again = await tanuki(project.dir, 'land', '--into', 'main')
    expect(again.stdout).toBe('Nothing to land on main.\n')
  })

  it('a task whose dependency waits for a branch since deleted says to land it here, and runs once it is', async () => {
    const project = createProject({
      files: { 'notes.txt': 'line 1\nline 2\nline 3\n' },
      tasks: [
        { id: 'H-1', sh: "sed -i 's/^line 3$/line 3, by an agent/' notes.txt", verify: 'grep -q agent notes.txt' },
      ],
    })
    git(project.dir, 'checkout', '-q', '-b', 'feature-1')
    writeFileSync(join(project.dir, 'notes.txt'), 'line 1, by a person\nline 2\nline 3\n')
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    git(project.dir, 'checkout', '-q', '--', 'notes.txt')
    git(project.dir, 'checkout', '-q', 'main')
    git(project.dir, 'branch', '-q', '-D', 'feature-1')
    // A task that builds on H-1's work, added on main.
    writeFileSync(
      join(project.tasksDir, 'H-2.md'),
      taskText({ id: 'H-2', sh: 'grep agent notes.txt > H-2.txt', verify: 'test -s H-2.txt', dependsOn: ['H-1'] }),
    )
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    const waits =
      'waits: its dependency H-1 waits to land on feature-1, the branch its work was done for, which no longer exists: ' +
      'land H-1 on main (`tanuki land --into main`); then start again'
    expect((await statusJson(project.dir)).tasks.find((t) => t.id === 'H-2')).toMatchObject({
      status: 'pending',
      reason: waits,
    })
    // The advice works: H-1 lands on main, and the next start runs H-2 on it.
    const there = await tanuki(project.dir, 'land', '--into', 'main')
    expect(there.code, there.stderr + there.stdout).toBe(0)
    const again = await tanuki(project.dir, 'project', 'start')
    expect(again.code, again.stderr + again.stdout).toBe(0)
    expect(landedOn(project.dir, 'main')).toEqual(['H-2', 'H-1'])
    expect(readFileSync(join(project.dir, 'H-2.txt'), 'utf8')).toBe('line 3, by an agent\n')
  })

  it('a task whose dependency landed on another branch waits until this one holds that work', async () => {
    const project = createProject({ tasks: [{ id: 'X-1', sh: 'echo X-1 > X-1.txt', verify: 'test -f X-1.txt' }] })
    git(project.dir, 'checkout', '-q', '-b', 'feature-x')
    const first = await tanuki(project.dir, 'project', 'start')
    expect(first.code, first.stderr + first.stdout).toBe(0)
    expect(landedOn(project.dir, 'feature-x')).toEqual(['X-1'])
    // Back on main, which lacks X-1's work, a task that builds on it.
    git(project.dir, 'checkout', '-q', 'main')
    writeFileSync(
      join(project.tasksDir, 'Y-1.md'),
      taskText({
        id: 'Y-1',
        sh: 'cat X-1.txt > Y-1.txt',
        verify: 'test -s Y-1.txt',
        dependsOn: ['X-1'],
        maxIterations: 1,
      }),
    )
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    expect((await statusJson(project.dir)).tasks.find((t) => t.id === 'Y-1')).toMatchObject({
      status: 'pending',
      iterations: 0,
      reason:
        'waits: its dependency X-1 landed on feature-x, not on main, so its work is not here: bring feature-x into main ' +
        '(`git merge feature-x`), or run the project on feature-x; if its work is on main already (squashed), ' +
        '`tanuki task mark X-1 complete --landed`; then start again',
    })
    // As advised: once main holds it, Y-1 starts from it.
    git(project.dir, 'merge', '-q', '--ff-only', 'feature-x')
    const again = await tanuki(project.dir, 'project', 'start')
    expect(again.code, again.stderr + again.stdout).toBe(0)
    expect(landedOn(project.dir, 'main')).toEqual(['Y-1', 'X-1'])
    expect(readFileSync(join(project.dir, 'Y-1.txt'), 'utf8')).toBe('X-1\n')
  })

  it('work held back for a branch since deleted that conflicts where `--into` names goes back to an agent, its old landing void', async () => {
    const project = createProject({
      files: { 'notes.txt': 'line 1\nline 2\nline 3\n' },
      tasks: [
        { id: 'H-1', sh: "sed -i 's/^line 3$/line 3, by an agent/' notes.txt", verify: 'grep -q agent notes.txt' },
      ],
    })
    git(project.dir, 'checkout', '-q', '-b', 'feature-1')
    writeFileSync(join(project.dir, 'notes.txt'), 'line 1, by a person\nline 2\nline 3\n')
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    git(project.dir, 'checkout', '-q', '--', 'notes.txt')
    git(project.dir, 'checkout', '-q', 'main')
    git(project.dir, 'branch', '-q', '-D', 'feature-1')
    // main has its own line 3 meanwhile.
    writeFileSync(join(project.dir, 'notes.txt'), 'line 1\nline 2\nline 3, by a person\n')
    git(project.dir, 'commit', '-qam', 'my line 3')
    const there = await tanuki(project.dir, 'land', '--into', 'main')
    expect(there.code, there.stderr + there.stdout).toBe(1)
    expect(there.stdout).toContain('not landed: H-1: could not land: its work conflicts with landed work in notes.txt')
    // Its landing for feature-1 is no landing of its: the agent's next work lands as any other.
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ status: 'pending', landed: null })
    expect((await statusJson(project.dir)).tasks[0]?.heldBack).toBeUndefined()
  })

  it('work held back for a branch since deleted, whose work ref is gone too, is left to a person, saying how', async () => {
    const project = createProject({
      files: { 'notes.txt': 'line 1\nline 2\nline 3\n' },
      tasks: [
        { id: 'H-1', sh: "sed -i 's/^line 3$/line 3, by an agent/' notes.txt", verify: 'grep -q agent notes.txt' },
      ],
    })
    git(project.dir, 'checkout', '-q', '-b', 'feature-1')
    writeFileSync(join(project.dir, 'notes.txt'), 'line 1, by a person\nline 2\nline 3\n')
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(1)
    const landing = git(project.dir, 'rev-parse', 'tanuki/land/feature-1')
    git(project.dir, 'checkout', '-q', '--', 'notes.txt')
    git(project.dir, 'checkout', '-q', 'main')
    git(project.dir, 'branch', '-q', '-D', 'feature-1')
    const ref = git(project.dir, 'for-each-ref', '--format=%(refname)', 'refs/tanuki/')
      .split('\n')
      .find((name) => name.endsWith('/H-1/work'))!
    git(project.dir, 'update-ref', '-d', ref)
    const there = await tanuki(project.dir, 'land', '--into', 'main')
    expect(there.code, there.stderr + there.stdout).toBe(0)
    expect(there.stdout).toBe(
      'Nothing to land on main.\n' +
        `note: H-1 waited for feature-1 on its integration branch, and feature-1 is gone, but its work (${ref}) is gone too: ` +
        `apply its landing by hand (\`git cherry-pick ${landing}\` on main, resolve, commit), ` +
        'then `tanuki task mark H-1 complete --landed`.\n',
    )
    // Never settled as landing nothing: its landing is still recorded, waiting.
    expect(landedOn(project.dir, 'main')).toEqual([])
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ heldBack: { target: 'feature-1' } })
    // The person applies it as told: its landing, found on main, is recorded there.
    git(project.dir, 'cherry-pick', landing)
    const picked = git(project.dir, 'rev-parse', 'main')
    const found = await tanuki(project.dir, 'land', '--into', 'main')
    expect(found.code, found.stderr + found.stdout).toBe(0)
    expect(found.stdout).toBe(`landed H-1 on main as ${picked.slice(0, 12)} (it waited on the integration branch)\n`)
    const status = (await statusJson(project.dir)).tasks[0]
    expect(status?.heldBack).toBeUndefined()
    expect(status?.landed?.commit).toBe(picked)
  })

  it('a task rerun after its work landed lands its new work on the next run, and stop --remove keeps nothing landed', async () => {
    const project = createProject({
      tasks: [{ id: 'R-1', sh: 'date +%s%N > stamp.txt', verify: 'test -s stamp.txt' }],
    })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(0)
    const first = readFileSync(join(project.dir, 'stamp.txt'), 'utf8')
    expect((await tanuki(project.dir, 'task', 'rerun', 'R-1')).code).toBe(0)
    const again = await tanuki(project.dir, 'project', 'start')
    expect(again.code, again.stderr + again.stdout).toBe(0)
    // Landed twice: the new work is on the branch, not only recorded as landed.
    expect(landedOn(project.dir)).toEqual(['R-1', 'R-1'])
    expect(readFileSync(join(project.dir, 'stamp.txt'), 'utf8')).not.toBe(first)
    expect((await statusJson(project.dir)).progress.landed).toBe(1)
    // Everything landed: removing the agents' things keeps no branch for unlanded work.
    const stop = await tanuki(project.dir, 'project', 'stop', '--remove')
    expect(stop.code, stop.stderr).toBe(0)
    expect(stop.stdout + stop.stderr).not.toMatch(/not landed|kept/i)
  })

  it('a task rerun whose work changes nothing new lands nothing: main and the landing branch stay where they were', async () => {
    const project = createProject({
      tasks: [{ id: 'N-1', sh: 'echo same > same.txt', verify: 'test -f same.txt' }],
    })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(0)
    const main = git(project.dir, 'rev-parse', 'main')
    const branch = git(project.dir, 'rev-parse', 'tanuki/land/main')
    expect((await tanuki(project.dir, 'task', 'rerun', 'N-1')).code).toBe(0)
    const again = await tanuki(project.dir, 'project', 'start')
    expect(again.code, again.stderr + again.stdout).toBe(0)
    // No commit with its parent's tree: the same work is already there.
    expect(git(project.dir, 'rev-parse', 'main')).toBe(main)
    expect(git(project.dir, 'rev-parse', 'tanuki/land/main')).toBe(branch)
    expect(landedOn(project.dir)).toEqual(['N-1'])
    // Said as it is: nothing landed in this run, though N-1 counts as landed for what depends on it.
    expect(again.stdout).toMatch(/^\d\d:\d\d:\d\d · nothing to land for N-1 \(its work is already on main\)$/m)
    expect(again.stdout).not.toContain('⇡ N-1')
    expect(again.stdout).toMatch(/✓ all 1 task complete, 1 with nothing to land( in \S+)?$/m)
    const status = await statusJson(project.dir)
    expect(status.progress).toMatchObject({ landed: 0, nothingToLand: 1 })
    expect(status.tasks[0]!.landed).toEqual({ commit: main, at: expect.any(String), empty: 'no-changes' })
  })

  it('a task marked complete that never ran has nothing to land: every report says so, and its dependent lands after it', async () => {
    const tasks = [
      { id: 'M-1', sh: 'echo one > one.txt', verify: 'test -f one.txt' },
      { id: 'M-2', dependsOn: ['M-1'], sh: 'echo two > two.txt', verify: 'test -f two.txt' },
    ]
    // `tanuki land`, after a person settled M-1 by hand: nothing of it lands, and it says so.
    const offline = createProject({ tasks: [tasks[0]!] })
    const init = git(offline.dir, 'rev-parse', 'main')
    expect((await tanuki(offline.dir, 'task', 'mark', 'M-1', 'complete')).code).toBe(0)
    const json = await tanuki(offline.dir, 'land', '--json')
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({
      target: 'main',
      landed: [],
      nothingToLand: [{ taskId: 'M-1', reason: 'no-work' }],
    })
    expect(git(offline.dir, 'rev-parse', 'main')).toBe(init)
    expect((await statusJson(offline.dir)).progress).toMatchObject({ landed: 0, nothingToLand: 1 })
    const text = createProject({ tasks: [tasks[0]!] })
    expect((await tanuki(text.dir, 'task', 'mark', 'M-1', 'complete')).code).toBe(0)
    const land = await tanuki(text.dir, 'land')
    expect(land.code, land.stderr).toBe(0)
    expect(land.stdout).toBe('nothing to land for M-1 (no work was recorded)\n')

    // A run: M-1 settles with nothing to land, and M-2, which depends on it, lands.
    const project = createProject({ tasks })
    expect((await tanuki(project.dir, 'task', 'mark', 'M-1', 'complete')).code).toBe(0)
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(landedOn(project.dir)).toEqual(['M-2'])
    const main = git(project.dir, 'rev-parse', 'main')
    expect(run.stdout).toMatch(/^\d\d:\d\d:\d\d · nothing to land for M-1 \(no work was recorded\)$/m)
    expect(run.stdout).toContain(`⇡ M-2 landed on main as ${main.slice(0, 10)}`)
    expect(run.stdout).not.toContain('⇡ M-1')
    expect(run.stdout).toMatch(/✓ all 2 tasks complete, 1 landed, 1 with nothing to land( in \S+)?$/m)
    const summary = readFileSync(join(project.dir, '.tanuki', 'summary.md'), 'utf8')
    expect(summary).toContain('Landed: 1 task. Nothing to land: 1 task')
    expect(summary).toMatch(/\| M-1 \| Task M-1 \| default \| complete \| nothing to land \|/)
    const landed = readEvents(project.dir).filter((e) => e.event === 'task:landed')
    expect(landed.map((e) => [e.taskId, e.empty])).toEqual([
      ['M-1', 'no-work'],
      ['M-2', undefined],
    ])
    const status = await statusJson(project.dir)
    expect(status.progress).toMatchObject({ complete: 2, landed: 1, nothingToLand: 1 })
    expect(status.tasks.find((t) => t.id === 'M-1')!.landed).toMatchObject({ empty: 'no-work' })
    expect(status.tasks.find((t) => t.id === 'M-2')!.landed).toEqual({ commit: main, at: expect.any(String) })
  })

  it('a second start shows in its summary where the work of an earlier run landed', async () => {
    const project = createProject({ tasks: [{ id: 'S-1', sh: 'echo s > s.txt', verify: 'test -f s.txt' }] })
    expect((await tanuki(project.dir, 'project', 'start')).code).toBe(0)
    const main = git(project.dir, 'rev-parse', 'main')
    const again = await tanuki(project.dir, 'project', 'start')
    expect(again.code, again.stderr + again.stdout).toBe(0)
    // The console's brief counts it; the file says where.
    expect(again.stdout).toContain('All tasks complete. 1 of 1 complete · 1 landed in an earlier run')
    const summary = readFileSync(join(project.dir, '.tanuki', 'summary.md'), 'utf8')
    expect(summary).toContain(`| S-1 | Task S-1 | default | complete | ${main.slice(0, 10)} (earlier run) |`)
    expect(summary).toContain('Landed in an earlier run: 1 task.')
  })

  it('land.push pushes the target to a remote after each landing', async () => {
    const remote = folder('tanuki-e2e-remote-')
    git(remote, 'init', '-q', '--bare', '-b', 'main')
    const project = createProject({
      tasks: [
        { id: 'P-1', sh: 'echo 1 > one.txt', verify: 'test -f one.txt' },
        { id: 'P-2', dependsOn: ['P-1'], sh: 'echo 2 > two.txt', verify: 'test -f two.txt' },
      ],
      config: configFor({ default: 1 }, "\n  land: { push: 'origin' },"),
    })
    git(project.dir, 'remote', 'add', 'origin', remote)
    git(project.dir, 'push', '-q', 'origin', 'main')
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    expect(git(remote, 'rev-parse', 'main')).toBe(git(project.dir, 'rev-parse', 'main'))
    expect(landedOn(remote)).toEqual(['P-2', 'P-1'])
  })

  it("land.push runs the person's own pre-push hook: one that refuses fails the push, said; one that passes runs", async () => {
    // Their policy for their remote (tests before a push) holds for the pushes Tanuki makes for them.
    const remote = folder('tanuki-e2e-remote-')
    git(remote, 'init', '-q', '--bare', '-b', 'main')
    const project = createProject({
      tasks: [{ id: 'H-1', sh: 'echo 1 > one.txt', verify: 'test -f one.txt' }],
      config: configFor({ default: 1 }, "\n  land: { push: 'origin' },"),
    })
    git(project.dir, 'remote', 'add', 'origin', remote)
    git(project.dir, 'push', '-q', 'origin', 'main')
    const before = git(remote, 'rev-parse', 'main')
    const hook = join(project.dir, '.git', 'hooks', 'pre-push')
    writeFileSync(hook, '#!/bin/sh\necho "the tests fail, not pushing" >&2\nexit 1\n', { mode: 0o755 })

    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    expect(landedOn(project.dir)).toEqual(['H-1'])
    expect(git(remote, 'rev-parse', 'main')).toBe(before)
    expect(run.stderr).toContain('tanuki: main is not pushed to origin: the tests fail, not pushing')

    const marker = join(folder('tanuki-e2e-marker-'), 'pre-push-ran')
    writeFileSync(hook, `#!/bin/sh\necho "$1" > '${marker}'\nexit 0\n`, { mode: 0o755 })
    const landed = await tanuki(project.dir, 'land')
    expect(landed.code, landed.stderr + landed.stdout).toBe(0)
    expect(landed.stdout).toContain('pushed main to origin')
    expect(readFileSync(marker, 'utf8')).toBe('origin\n')
    expect(git(remote, 'rev-parse', 'main')).toBe(git(project.dir, 'rev-parse', 'main'))
  })

  it("a push that fails is said at the run's end and by project status, exits 1, and clears once `tanuki land` pushes", async () => {
    // The remote refuses every push (as a server's policy would): the landings stand, the remote lacks them.
    const remote = folder('tanuki-e2e-remote-')
    git(remote, 'init', '-q', '--bare', '-b', 'main')
    const project = createProject({
      tasks: [
        { id: 'P-1', sh: 'echo 1 > one.txt', verify: 'test -f one.txt' },
        { id: 'P-2', dependsOn: ['P-1'], sh: 'echo 2 > two.txt', verify: 'test -f two.txt' },
      ],
      config: configFor({ default: 1 }, "\n  land: { push: 'origin' },"),
    })
    git(project.dir, 'remote', 'add', 'origin', remote)
    git(project.dir, 'push', '-q', 'origin', 'main')
    const before = git(remote, 'rev-parse', 'main')
    const hook = join(remote, 'hooks', 'pre-receive')
    writeFileSync(hook, '#!/bin/sh\necho "pushes are frozen" >&2\nexit 1\n', { mode: 0o755 })

    const run = await tanuki(project.dir, 'project', 'start')
    // Complete, and landed on main, but not delivered where the config says: not a success.
    expect(run.code, run.stderr + run.stdout).toBe(1)
    expect(landedOn(project.dir)).toEqual(['P-2', 'P-1'])
    expect(git(remote, 'rev-parse', 'main')).toBe(before)
    expect(run.stdout).toContain('All tasks complete; main not pushed to origin')
    expect(run.stdout).toMatch(/Needs you:\n.*main is not pushed to origin: pushes are frozen/)
    expect(run.stderr).toContain('tanuki: main is not pushed to origin: pushes are frozen')
    expect(run.stderr).toContain('`tanuki land` pushes it again (or `git push origin main`)')
    expect(readFileSync(join(project.dir, '.tanuki', 'summary.md'), 'utf8')).toContain('## Not pushed')

    // After the run, status knows it from the journal.
    const status = await statusJson(project.dir)
    expect((status as { pushFailed?: unknown }).pushFailed).toMatchObject({
      remote: 'origin',
      branch: 'main',
      error: expect.stringContaining('pushes are frozen'),
    })
    const text = await tanuki(project.dir, 'project', 'status')
    expect(text.stdout).toContain('main not pushed to origin')
    expect(text.stdout).toMatch(/Needs you\n.*not pushed ← main is not pushed to origin: pushes are frozen/)

    // `tanuki land` tries again: still refused, it says so and exits 1.
    const refused = await tanuki(project.dir, 'land')
    expect(refused.code, refused.stderr + refused.stdout).toBe(1)
    expect(refused.stdout).toContain('not pushed: main is not pushed to origin: pushes are frozen')
    const json = await tanuki(project.dir, 'land', '--json')
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout).pushFailed).toMatchObject({ remote: 'origin', branch: 'main' })

    // The remote accepts pushes again: `tanuki land` pushes, and nothing says it any more.
    rmSync(hook)
    const landed = await tanuki(project.dir, 'land')
    expect(landed.code, landed.stderr + landed.stdout).toBe(0)
    expect(landed.stdout).toContain('pushed main to origin')
    expect(git(remote, 'rev-parse', 'main')).toBe(git(project.dir, 'rev-parse', 'main'))
    expect((await statusJson(project.dir)) as { pushFailed?: unknown }).not.toHaveProperty('pushFailed')
    const after = await tanuki(project.dir, 'project', 'status')
    expect(after.stdout).not.toContain('not pushed')
  })

  /**
   * A project whose B-1 lands a.txt, with `land.push` to a bare remote where someone else pushed
   * first: the run lands B-1 on main, its push is refused (fetch first), and it says what to do.
   */
  async function refusedPush(): Promise<{ project: TempProject; remote: string }> {
    const remote = folder('tanuki-e2e-remote-')
    git(remote, 'init', '-q', '--bare', '-b', 'main')
    const project = createProject({
      tasks: [{ id: 'B-1', title: 'Write a.txt', sh: 'echo a > a.txt', verify: 'test -f a.txt' }],
      config: configFor({ default: 1 }, "\n  land: { push: 'origin' },"),
    })
    git(project.dir, 'remote', 'add', 'origin', remote)
    git(project.dir, 'push', '-q', 'origin', 'main')
    const other = join(folder('tanuki-e2e-other-'), 'other')
    git(project.dir, 'clone', '-q', remote, other)
    writeFileSync(join(other, 'theirs.txt'), 'theirs\n')
    git(other, 'add', '-A')
    git(other, 'commit', '-qm', 'theirs')
    git(other, 'push', '-q', 'origin', 'main')

    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    expect(landedOn(project.dir)).toEqual(['B-1'])
    expect(run.stderr).toContain(
      'tanuki: main is not pushed to origin: [rejected] main -> main (fetch first). origin has commits main lacks: bring them in ' +
        '(`git pull --rebase --autostash origin main`, or merge them), then `tanuki land` pushes it again',
    )
    // The status mirror changed the task file: the hint's --autostash is what lets the pull run.
    expect(git(project.dir, 'status', '--porcelain', '--untracked-files=no')).toContain('B-1.md')
    git(project.dir, 'pull', '-q', '--rebase', '--autostash', 'origin', 'main')
    return { project, remote }
  }

  it('a push refused because someone pushed first: after `git pull --rebase` and a push by hand, `tanuki land` lands nothing twice and clears the record', async () => {
    const { project, remote } = await refusedPush()
    git(project.dir, 'push', '-q', 'origin', 'main')
    const main = git(project.dir, 'rev-parse', 'main')

    const dry = await tanuki(project.dir, 'land', '--dry-run')
    expect(dry.code, dry.stderr + dry.stdout).toBe(0)
    expect(dry.stdout).toContain('`tanuki land` starts tanuki/land/main again from main, so nothing lands twice')

    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr + land.stdout).toBe(0)
    expect(land.stdout).toContain('pushed main to origin')
    expect(land.stdout).not.toContain('landed B-1')
    expect(land.stdout).not.toContain('by hand')
    // The landing is on main and the remote once, as the person's rebase left it.
    expect(git(project.dir, 'rev-parse', 'main')).toBe(main)
    expect(git(remote, 'rev-parse', 'main')).toBe(main)
    expect(landedOn(remote)).toEqual(['B-1'])
    expect(git(project.dir, 'rev-parse', 'tanuki/land/main')).toBe(main)
    expect((await statusJson(project.dir)) as { pushFailed?: unknown }).not.toHaveProperty('pushFailed')
    expect((await tanuki(project.dir, 'project', 'status')).stdout).not.toContain('not pushed')
    // Said once: a second `tanuki land` has nothing to say of it.
    const again = await tanuki(project.dir, 'land')
    expect(again.code, again.stderr + again.stdout).toBe(0)
    expect(again.stdout).not.toContain('pushed main')
  })

  it('a push refused because someone pushed first: after `git pull --rebase`, `tanuki land` pushes the rewritten landing, once', async () => {
    const { project, remote } = await refusedPush()
    const main = git(project.dir, 'rev-parse', 'main')
    const land = await tanuki(project.dir, 'land')
    expect(land.code, land.stderr + land.stdout).toBe(0)
    expect(land.stdout).toContain('pushed main to origin')
    expect(git(remote, 'rev-parse', 'main')).toBe(main)
    expect(landedOn(remote)).toEqual(['B-1'])
    expect((await statusJson(project.dir)) as { pushFailed?: unknown }).not.toHaveProperty('pushFailed')
  })
})
