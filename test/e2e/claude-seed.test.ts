/**
 * The seed integration workflow, end to end with the real Claude Code CLI: a git repository with
 * two tasks, no config (so every role gets the default agent: Claude Code as a local process in
 * its own worktree), `tanuki project start`, `project status --json`, `project stop --remove`.
 * Claude Code talks to a loopback stand-in of the Messages API that answers with tool calls;
 * its tools really run in the agents' worktrees.
 */
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { agentWorktree } from './helpers.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claudeBin, claudeEnv, startFakeAnthropic, taskScript, type FakeAnthropic } from '../support/fake-anthropic.ts'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const tanuki = join(repoRoot, 'node_modules', '.bin', 'tanuki')

const TASK_001 = `---
id: TASK-001
title: Create FILE
role: backend
completion:
  verify: "test -f FILE"
  max_iterations: 3
---
Create FILE in the project root.
`

const TASK_002 = `---
id: TASK-002
title: Verify FILE exists
role: qa
depends_on: [TASK-001]
completion:
  signal: FILE_VERIFIED
  max_iterations: 3
---
Check that FILE exists in the project root. Say FILE_VERIFIED when it does.
`

describe('seed workflow with the real Claude Code CLI', () => {
  let api: FakeAnthropic
  let dir: string
  let env: NodeJS.ProcessEnv

  // Asynchronous on purpose: the fake API lives in this process and must keep answering.
  const cli = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise((done) => {
      execFile(
        tanuki,
        [...args, '--cwd', dir],
        { env, encoding: 'utf8', timeout: 100_000 },
        (error, stdout, stderr) => {
          done({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr })
        },
      )
    })

  beforeAll(async () => {
    // Each agent's Claude Code gets a Bash call for its task; the answer depends on the prompt.
    api = await startFakeAnthropic(
      taskScript({
        command: (prompt) =>
          prompt.includes('Verify FILE exists') ? 'test -f FILE && echo FILE_PRESENT' : 'touch FILE && echo created',
        finalText: (output, isError, prompt) =>
          prompt.includes('Verify FILE exists')
            ? output.includes('FILE_PRESENT') && !isError
              ? 'FILE is there. FILE_VERIFIED'
              : 'FILE is missing'
            : 'Created FILE.',
      }),
    )
    dir = mkdtempSync(join(tmpdir(), 'tanuki-seed-'))
    const home = join(dir, '..', `${dir.split('/').pop()}-home`)
    mkdirSync(home, { recursive: true })
    mkdirSync(join(dir, '.tanuki', 'tasks'), { recursive: true })
    writeFileSync(join(dir, '.tanuki', 'tasks', 'TASK-001.md'), TASK_001)
    writeFileSync(join(dir, '.tanuki', 'tasks', 'TASK-002.md'), TASK_002)
    writeFileSync(join(dir, 'README.md'), '# seed project\n')
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' })
    git('init', '-q')
    git('add', '-A')
    git('-c', 'user.name=seed', '-c', 'user.email=seed@tanuki.invalid', 'commit', '-qm', 'seed')
    // `claude` is found on PATH, as on a user's machine.
    env = {
      ...process.env,
      ...claudeEnv({ baseUrl: api.url, home }),
      PATH: `${dirname(claudeBin)}${delimiter}${process.env.PATH}`,
      NO_COLOR: '1',
    }
  })

  afterAll(async () => {
    await api?.close()
    if (dir) {
      rmSync(dir, { recursive: true, force: true })
      rmSync(`${dir}-home`, { recursive: true, force: true })
    }
  })

  it('runs both tasks to complete, reports them, and cleans up', async () => {
    const start = await cli('project', 'start')
    expect(start.stderr + start.stdout).not.toMatch(/tanuki: /)
    expect(start.status).toBe(0)

    const status = await cli('project', 'status', '--json')
    expect(status.status).toBe(0)
    const doc = JSON.parse(status.stdout) as {
      status: string
      tasks: { id: string; status: string; assignedTo?: string }[]
      progress: { total: number; complete: number; percentage: number }
    }
    expect(doc.status).toBe('complete')
    expect(doc.tasks.map((task) => [task.id, task.status])).toEqual([
      ['TASK-001', 'complete'],
      ['TASK-002', 'complete'],
    ])
    expect(doc.tasks.map((task) => task.assignedTo)).toEqual(['backend-1', 'qa-1'])
    expect(doc.progress).toMatchObject({ total: 2, complete: 2, percentage: 100 })

    // Claude Code's Bash tool really ran: FILE was made in the backend agent's worktree and
    // reached the qa agent's worktree through the merge of TASK-001's commit.
    expect(existsSync(join(agentWorktree(dir, 'backend-1'), 'FILE'))).toBe(true)
    expect(existsSync(join(agentWorktree(dir, 'qa-1'), 'FILE'))).toBe(true)
    const bashCalls = api.requests.filter((request) => JSON.stringify(request.body).includes('"tool_result"'))
    expect(bashCalls.length).toBeGreaterThanOrEqual(2)
    // The file's status was written back; the body stayed as it was.
    const written = readFileSync(join(dir, '.tanuki', 'tasks', 'TASK-002.md'), 'utf8')
    expect(written).toMatch(/^status: complete$/m)
    expect(written.endsWith('Check that FILE exists in the project root. Say FILE_VERIFIED when it does.\n')).toBe(true)
    // The iteration log has the agent's parsed result.
    const log = readFileSync(join(dir, '.tanuki', 'logs', 'tasks', 'TASK-002', 'iteration-001.log'), 'utf8')
    expect(log).toContain('FILE_VERIFIED')
    // `tanuki logs` makes Claude Code's JSON readable: the tool call and its result, the answer;
    // `--raw` prints the JSON lines as they came.
    const readable = await cli('logs', 'TASK-002')
    expect(readable.status).toBe(0)
    expect(readable.stdout).toMatch(/^→ Bash: test -f FILE && echo FILE_PRESENT$/m)
    expect(readable.stdout).toMatch(/^ {2}← FILE_PRESENT$/m)
    expect(readable.stdout).toContain('FILE is there. FILE_VERIFIED')
    expect(readable.stdout).not.toContain('"type":"assistant"')
    const raw = await cli('logs', 'TASK-002', '--raw')
    expect(raw.stdout).toContain('"type":"assistant"')

    const stop = await cli('project', 'stop', '--remove')
    expect(stop.status).toBe(0)
    expect(existsSync(agentWorktree(dir, 'backend-1'))).toBe(false)
    expect(existsSync(agentWorktree(dir, 'qa-1'))).toBe(false)
    const branches = execFileSync('git', ['branch', '--list', 'tanuki/*'], { cwd: dir, encoding: 'utf8' })
    expect(branches.trim()).toBe('')
  })
})
