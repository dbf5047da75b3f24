// Claude Code for real inside a container, the safe way people run unattended agents: the Docker
// backend runs the real CLI (`kind: 'claude'`) in an image built here (scripts/claude-image.sh),
// reaching the loopback stand-in of the Messages API through the host's network. A task, a rate
// limit and a refused key go through it as they do on the host.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { engineProblem } from '../../packages/plugin-agent-docker/test/helpers.ts'
import { lastToolResults, startFakeAnthropic, type FakeAnthropic, type FakeScript } from '../support/fake-anthropic.ts'
import { REPO_ROOT, agentWorktree, cleanup, createProject, readEvents, statusJson, tanuki } from './helpers.ts'

const run = promisify(execFile)
const IMAGE = 'tanuki-test-claude:latest'

const problem = await engineProblem()
const skip = problem !== undefined && process.env.CI !== 'true'

let api: FakeAnthropic | undefined
afterEach(async () => {
  await cleanup()
  await api?.close()
  api = undefined
})

/** Claude Code in a container of the test image, on the host's network to reach the stand-in. */
const config = (url: string) => `import { defineConfig } from 'tanuki'
import { dockerAgents } from '@tanuki/plugin-agent-docker'

export default defineConfig({
  cooldownMs: 100,
  plugins: [dockerAgents({ image: '${IMAGE}' })],
  agents: {
    default: {
      backend: 'docker',
      kind: 'claude',
      network: 'host',
      env: {
        ANTHROPIC_BASE_URL: '${url}',
        ANTHROPIC_API_KEY: 'sk-ant-fake-key',
        HOME: '/tmp',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
        CLAUDE_CODE_MAX_RETRIES: '0',
      },
    },
  },
})
`

const TASK = `---
id: D-1
title: Say where you are
completion:
  verify: "test -s where.txt"
  max_iterations: 1
---
Write into where.txt whether you run in a container.
`

/** Writes with the Bash tool whether it runs in a container (on the host's network the host name is the host's). */
const whereScript: FakeScript = (request, { mainLoop }) => {
  if (!mainLoop) return undefined
  if (lastToolResults(request).length > 0) return { content: [{ type: 'text', text: 'Written.' }] }
  return {
    content: [
      {
        type: 'tool_use',
        name: 'Bash',
        input: {
          command: 'if [ -f /.dockerenv ]; then echo in-a-container; else echo on-the-host; fi > where.txt',
          description: 'where',
        },
      },
    ],
  }
}

describe.skipIf(skip)(`Claude Code in a container${skip ? ` (skipped: ${problem})` : ''}`, () => {
  beforeAll(async () => {
    if (problem !== undefined) throw new Error(`CI=true but no Docker engine is reachable: ${problem}`)
    await run('bash', [join(REPO_ROOT, 'scripts', 'claude-image.sh')], { maxBuffer: 16 * 1024 * 1024 })
  }, 300_000)

  it('does a task with its tools in the container, and it lands', async () => {
    api = await startFakeAnthropic(whereScript)
    const project = createProject({ config: config(api.url), files: { '.tanuki/tasks/D-1.md': TASK } })
    const result = await tanuki(project.dir, 'project', 'start')
    expect(result.code, result.stderr + result.stdout).toBe(0)
    const where = readFileSync(join(agentWorktree(project.dir, 'default-1'), 'where.txt'), 'utf8').trim()
    // The Bash tool ran in the container.
    expect(where).toBe('in-a-container')
    const [task] = (await statusJson(project.dir)).tasks
    expect(task).toMatchObject({ status: 'complete', iterations: 1 })
    expect(task!.landed?.commit).toMatch(/^[0-9a-f]{40}$/)
    await tanuki(project.dir, 'project', 'stop', '--remove')
  }, 180_000)

  it('a rate limit parks the agent in its container too, and the try does not count', async () => {
    let limitedUntil: number | undefined
    api = await startFakeAnthropic((request, context) => {
      if (context.mainLoop) limitedUntil ??= Date.now() + 3_000
      if (context.mainLoop && Date.now() < limitedUntil!) {
        return {
          status: 429,
          error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your rate limit' },
          headers: { 'retry-after': '120' },
        }
      }
      return whereScript(request, context)
    })
    const project = createProject({ config: config(api.url), files: { '.tanuki/tasks/D-1.md': TASK } })
    const result = await tanuki(project.dir, 'project', 'start')
    expect(result.code, result.stderr + result.stdout).toBe(0)
    expect(readEvents(project.dir).filter((e) => e.event === 'agent:parked')).toHaveLength(1)
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({ status: 'complete', iterations: 1 })
    await tanuki(project.dir, 'project', 'stop', '--remove')
  }, 180_000)

  it('a refused key pauses the role, naming the variable', async () => {
    api = await startFakeAnthropic((_request, { mainLoop }) =>
      mainLoop ? { status: 401, error: { type: 'authentication_error', message: 'invalid x-api-key' } } : undefined,
    )
    const project = createProject({ config: config(api.url), files: { '.tanuki/tasks/D-1.md': TASK } })
    const result = await tanuki(project.dir, 'project', 'start')
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/role "default" is paused: .*ANTHROPIC_API_KEY/)
    expect((await statusJson(project.dir)).tasks[0]).toMatchObject({
      status: 'pending',
      lastError: { class: 'could-not-start' },
    })
    await tanuki(project.dir, 'project', 'stop', '--remove')
  }, 180_000)
})
