/**
 * The `codex` kind under the real orchestrator with the process backend: the real Codex CLI in
 * each agent's git worktree, talking to a loopback stand-in of the Responses API whose script
 * decides every answer (tool calls that really run, usage, rate limits, a refused key).
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createOrchestrator, type TanukiEvents, type TaskInput } from '@tanuki/core'
import { afterEach, describe, expect, it } from 'vitest'
import {
  DEFAULT_USAGE,
  codexBin,
  codexEnv,
  startFakeOpenAI,
  taskScript,
  writeCodexHome,
  type FakeOpenAI,
  type FakeScript,
} from '../../../test/support/fake-openai.ts'
import { createProcessBackend } from '../src/backend.ts'
import { worktreePath } from '../src/kit/workspace.ts'
import { gitRepo, project, removeTempDirs, tempDir } from './support/repo.ts'

let api: FakeOpenAI | undefined
afterEach(async () => {
  await api?.close()
  api = undefined
  removeTempDirs()
})

const writeFile: TaskInput = {
  id: 'TASK-001',
  title: 'Create FILE.txt',
  role: 'backend',
  body: 'Create FILE.txt in the project root.',
  completion: { verify: 'test -f FILE.txt', signal: 'FILE_DONE', maxIterations: 3 },
}

/** The script of a task that Codex does on its first try: write FILE.txt with its shell tool. */
const doTheTask = taskScript({ command: 'echo from-codex > FILE.txt', finalText: 'Created FILE.txt. FILE_DONE' })

/** A project in a real git repository whose `backend` role runs Codex against the stand-in. */
async function codexProject(script: FakeScript, tasks: TaskInput[] = [writeFile]) {
  api = await startFakeOpenAI(script)
  const root = gitRepo()
  const home = tempDir('tanuki-codex-home-')
  const codexHome = join(home, '.codex')
  mkdirSync(codexHome)
  await writeCodexHome(codexHome, { baseUrl: api.url })
  const orchestrator = createOrchestrator({
    config: {
      tasks,
      cooldownMs: 0,
      // The stand-in's provider reads its key from OPENAI_API_KEY (its env_key).
      agents: { backend: { backend: 'process', kind: 'codex', credentialEnv: 'OPENAI_API_KEY' } },
    },
    project: project(root),
    backends: [
      createProcessBackend({
        bin: codexBin,
        inheritEnv: false,
        env: { ...codexEnv({ home, codexHome }), PATH: process.env.PATH ?? '/usr/bin:/bin' },
      }),
    ],
  })
  const finished: TanukiEvents['iteration:finished'][] = []
  orchestrator.events.on('iteration:finished', (event) => finished.push(event))
  return { root, orchestrator, finished }
}

describe('the codex kind under the real orchestrator', { timeout: 180_000 }, () => {
  it('runs a task: Codex writes the file with its shell tool, verify passes, usage is reported', async () => {
    const { root, orchestrator, finished } = await codexProject(doTheTask)
    await orchestrator.start()
    const summary = await orchestrator.done()

    expect(summary.allComplete).toBe(true)
    expect(orchestrator.status().tasks[0]).toMatchObject({ id: 'TASK-001', status: 'complete', iterations: 1 })
    expect(finished).toHaveLength(1)
    expect(finished[0]).toMatchObject({ outcome: 'complete', output: 'Created FILE.txt. FILE_DONE', exitCode: 0 })
    expect(finished[0]!.verify).toMatchObject({ command: 'test -f FILE.txt', exitCode: 0 })
    expect(finished[0]!.usage).toEqual({
      turns: 1,
      inputTokens: 2 * (DEFAULT_USAGE.input_tokens - DEFAULT_USAGE.cached_tokens),
      cacheReadTokens: 2 * DEFAULT_USAGE.cached_tokens,
      outputTokens: 2 * DEFAULT_USAGE.output_tokens,
    })
    expect(finished[0]!.sessionId).toMatch(/^[0-9a-f-]{36}$/)
    // Codex worked in the agent's worktree, with the task's prompt.
    expect(readFileSync(join(worktreePath(project(root), 'backend-1'), 'FILE.txt'), 'utf8')).toBe('from-codex\n')
    expect(JSON.stringify(api!.responsesRequests()[0]!.input)).toContain('Create FILE.txt in the project root.')
  })
})
