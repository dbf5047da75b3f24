// Landing, end to end: the agents' work reaches the person's branch as one commit per task, in
// dependency order, gated on the combined work; conflicts go back to an agent (here the real
// Claude Code CLI) to resolve; a person's dirty tree and own branches are never touched.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
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
  agentWorktree,
  cleanup,
  configFor,
  createProject,
  isAlive,
  readEvents,
  setCliEnv,
  startTanuki,
  statusJson,
  tanuki,
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

function folder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  outside.push(dir)
  return dir
}

describe('landing', () => {
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
})
