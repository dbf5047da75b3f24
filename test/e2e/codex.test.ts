/**
 * The `codex` kind end to end: `tanuki project start` on a git repository whose role runs the real
 * Codex CLI (found on PATH, as on a user's machine) in its own worktree. Codex talks to a loopback
 * stand-in of the Responses API (its model provider's base URL, in a temp CODEX_HOME) whose script
 * answers with a call of Codex's shell tool, usage, rate limits and a refused key.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  codexBin,
  codexEnv,
  invalidKeyReply,
  rateLimitReply,
  startFakeOpenAI,
  taskScript,
  writeCodexHome,
  type FakeOpenAI,
  type FakeScript,
} from '../support/fake-openai.ts'
import {
  agentWorktree,
  cleanup,
  createProject,
  readEvents,
  setCliEnv,
  statusJson,
  tanuki,
  type TaskSpec,
} from './helpers.ts'

// The stand-in's provider reads its key from OPENAI_API_KEY (its env_key): the role says so.
const CONFIG = `import { defineConfig } from 'tanuki'

export default defineConfig({
  cooldownMs: 50,
  agents: { backend: { kind: 'codex', credentialEnv: 'OPENAI_API_KEY' } },
})
`

const TASK: TaskSpec = {
  id: 'TASK-001',
  title: 'Create FILE.txt',
  role: 'backend',
  verify: 'test -f FILE.txt',
  signal: 'FILE_DONE',
  maxIterations: 3,
}

const doTheTask = taskScript({ command: 'echo from-codex > FILE.txt', finalText: 'Created FILE.txt. FILE_DONE' })

let api: FakeOpenAI | undefined
let home: string | undefined

afterEach(async () => {
  cleanup()
  await api?.close()
  api = undefined
  if (home) rmSync(home, { recursive: true, force: true })
  home = undefined
})

/** A project whose backend role runs Codex against a stand-in answering with `script`. */
async function codexProject(script: FakeScript, task: TaskSpec = TASK) {
  api = await startFakeOpenAI(script)
  home = mkdtempSync(join(tmpdir(), 'tanuki-e2e-codex-home-'))
  const codexHome = join(home, '.codex')
  mkdirSync(codexHome)
  await writeCodexHome(codexHome, { baseUrl: api.url })
  setCliEnv({ ...codexEnv({ home, codexHome }), PATH: `${dirname(codexBin)}${delimiter}${process.env.PATH}` })
  return createProject({ tasks: [task], config: CONFIG })
}

type Finished = { event: 'iteration:finished'; iteration: number; outcome: string; usage?: Record<string, number> }

describe('the codex kind through the CLI', () => {
  it('runs a task to complete: Codex writes the file with its shell tool, verify passes, usage is logged', async () => {
    const project = await codexProject(doTheTask)
    const start = await tanuki(project.dir, 'project', 'start')
    expect(start.stderr).not.toMatch(/tanuki: /)
    expect(start.code).toBe(0)

    const status = await statusJson(project.dir)
    expect(status.tasks.map((task) => [task.id, task.status, task.iterations])).toEqual([['TASK-001', 'complete', 1]])
    expect(readFileSync(join(agentWorktree(project.dir, 'backend-1'), 'FILE.txt'), 'utf8')).toBe('from-codex\n')

    const finished = readEvents(project.dir).filter((event) => event.event === 'iteration:finished') as Finished[]
    expect(finished.map((event) => event.outcome)).toEqual(['complete'])
    expect(finished[0]!.usage).toMatchObject({ turns: 1, outputTokens: 120 })
    const log = readFileSync(join(project.dir, '.tanuki', 'logs', 'tasks', 'TASK-001', 'iteration-001.log'), 'utf8')
    expect(log).toContain('usage: {"turns":1')

    // `tanuki logs` renders Codex's JSON: the shell call, the answer.
    const readable = await tanuki(project.dir, 'logs', 'TASK-001')
    expect(readable.code).toBe(0)
    expect(readable.stdout).toContain("→ shell: /bin/bash -lc 'echo from-codex > FILE.txt'")
    expect(readable.stdout).toContain('Created FILE.txt. FILE_DONE')
    expect(readable.stdout).not.toContain('"type":"item.completed"')
  })

  it('gets past a rate limit: the stand-in answers 429 for a while, then the task completes', async () => {
    const project = await codexProject((request, context) =>
      context.turn <= 2 ? rateLimitReply(1) : doTheTask(request, context),
    )
    const start = await tanuki(project.dir, 'project', 'start')
    expect(start.code).toBe(0)
    expect(api!.requests.map((request) => request.status).slice(0, 2)).toEqual([429, 429])

    const status = await statusJson(project.dir)
    expect(status.tasks[0]).toMatchObject({ id: 'TASK-001', status: 'complete' })
    expect(existsSync(join(agentWorktree(project.dir, 'backend-1'), 'FILE.txt'))).toBe(true)
    const log = readFileSync(join(project.dir, '.tanuki', 'logs', 'tasks', 'TASK-001', 'iteration-001.log'), 'utf8')
    expect(log).toContain('429 Too Many Requests')
  })

  it("counts a priced role's spend against a usd budget: the task goes to review once it is spent", async () => {
    // The check refuses this budget without the price (Codex reports no dollars); with it, each
    // try costs (2 × 1,200 input + 2 × 60 output tokens) at $100 a million: $0.252.
    const project = await codexProject(doTheTask, {
      ...TASK,
      verify: 'test -f never-made.txt',
      maxIterations: 5,
    })
    const file = project.taskPath('TASK-001')
    writeFileSync(file, readFileSync(file, 'utf8').replace('---\n', '---\nbudget: { usd: 0.1 }\n'))
    const config = join(project.dir, 'tanuki.config.ts')
    const refused = await tanuki(project.dir, 'project', 'start')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('the budget.usd of task TASK-001')
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace("credentialEnv: 'OPENAI_API_KEY'", '$&, price: { input: 100, output: 100 }'),
    )
    const start = await tanuki(project.dir, 'project', 'start')
    expect(start.code, start.stderr).toBe(1)
    const finished = readEvents(project.dir).filter((event) => event.event === 'iteration:finished') as Finished[]
    expect(finished).toHaveLength(1)
    expect(finished[0]!.usage!.costUsd).toBeCloseTo(0.252, 9)
    const [task] = (await statusJson(project.dir)).tasks
    expect(task).toMatchObject({ id: 'TASK-001', status: 'review', lastError: { class: 'budget' } })
    expect(task!.lastError!.cause).toMatch(/budget is spent \(\$0\.2520 of \$0\.1000\)/)
  })

  it('does not complete with a refused key', async () => {
    const project = await codexProject(() => invalidKeyReply(), { ...TASK, maxIterations: 1 })
    const start = await tanuki(project.dir, 'project', 'start')
    expect(start.code).not.toBe(0)
    const status = await statusJson(project.dir)
    expect(status.tasks[0]!.status).not.toBe('complete')
    const log = readFileSync(join(project.dir, '.tanuki', 'logs', 'tasks', 'TASK-001', 'iteration-001.log'), 'utf8')
    expect(log).toContain('401 Unauthorized')
  })
})
