// Paid agents, end to end through the CLI: the real Claude Code CLI against a loopback stand-in of
// the Messages API that answers with limits, big bills and refused keys; and the failures that can
// never pass (a missing agent, a verify that cannot run, an agent that goes silent), each tried
// once and named, never retried blindly.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DashboardModel } from '@tanuki/plugin-ui'
import {
  blocksOf,
  claudeBin,
  claudeEnv,
  lastToolResults,
  startFakeAnthropic,
  type FakeAnthropic,
  type FakeScript,
  type ReplyUsage,
} from '../support/fake-anthropic.ts'
import { cleanup, createProject, readEvents, setCliEnv, startTanuki, statusJson, tanuki, waitFor } from './helpers.ts'

let api: FakeAnthropic | undefined
const outside: string[] = []

afterEach(async () => {
  await cleanup()
  await api?.close()
  api = undefined
  for (const dir of outside.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function folder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  outside.push(dir)
  return dir
}

/** Claude Code, found on PATH as on a person's machine, talks only to the stand-in in this process. */
function useClaude(fake: FakeAnthropic, options: { ownRetries?: boolean } = {}): void {
  const { CLAUDE_CODE_MAX_RETRIES, ...env } = claudeEnv({ baseUrl: fake.url, home: folder('tanuki-e2e-home-') })
  setCliEnv({
    ...env,
    // `ownRetries`: Claude Code retries failed requests as it does by default, ten times with backoff.
    ...(options.ownRetries ? {} : { CLAUDE_CODE_MAX_RETRIES }),
    PATH: `${dirname(claudeBin)}${delimiter}${process.env.PATH}`,
  })
}

const CLAUDE_CONFIG = (extra = '', count = 1) => `import { defineConfig } from 'tanuki'
export default defineConfig({
  cooldownMs: 50,
  defaults: { backend: 'process', kind: 'claude' },
  agents: { default: { count: ${count} } },${extra}
})
`

/** A task for Claude Code: its id and title, completion, and other front matter. */
function claudeTask(id: string, completion: string, more = ''): string {
  return `---\nid: ${id}\ntitle: Make ${id}\n${more}completion:\n${completion}---\nCreate the file ${id}.txt.\n`
}

/** Runs `touch <id>.txt` with the Bash tool, then says DONE; `usage` is what each answer reports. */
function touchScript(usage?: ReplyUsage): FakeScript {
  return (request, { mainLoop }) => {
    if (!mainLoop) return undefined
    if (lastToolResults(request).length > 0) return { content: [{ type: 'text', text: 'Done.' }], usage }
    const id = /Create the file (\S+)\.txt/.exec(JSON.stringify(request.messages))?.[1] ?? 'X'
    return {
      content: [{ type: 'tool_use', name: 'Bash', input: { command: `touch ${id}.txt`, description: 'make it' } }],
      usage,
    }
  }
}

/** What the Anthropic API says with a 429 over an organization's rate limit: a paragraph. */
const RATE_LIMIT_MESSAGE =
  'This request would exceed the rate limit for your organization of 50,000 input tokens per minute. ' +
  'For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers ' +
  'for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.'

/** A command that runs for a minute. */
const LONG_COMMAND = 'node -e "setTimeout(() => {}, 60000)"'

/**
 * One answer of 200,000 input tokens ($0.60 at claude-sonnet-4-5's list price, see `SONNET_CONFIG`),
 * then `LONG_COMMAND`: Claude Code is cut off before its result line, so Tanuki prices its tokens.
 */
const pricedAnswerThenWait: FakeScript = (_request, { mainLoop }) =>
  mainLoop
    ? {
        // Not `sleep`, which Claude Code's Bash tool refuses to wait on.
        content: [{ type: 'tool_use', name: 'Bash', input: { command: LONG_COMMAND, description: 'wait' } }],
        usage: { input_tokens: 200_000, output_tokens: 100 },
      }
    : undefined

/** `CLAUDE_CONFIG` with a model whose list price Tanuki knows. */
const SONNET_CONFIG = (extra = '') =>
  CLAUDE_CONFIG(extra).replace("kind: 'claude'", "kind: 'claude', model: 'claude-sonnet-4-5'")

/** Main-loop requests that opened an iteration (no tool result yet): one per Claude Code run. */
const iterationsSeen = (fake: FakeAnthropic): number =>
  fake.mainLoopRequests().filter((request) => lastToolResults(request).length === 0).length

describe('paid agents with the real Claude Code CLI', () => {
  it('a rate limit parks the agent, and the interrupted try runs again without counting: max_iterations 1 still completes', async () => {
    // Limited for 3 s from the first request: the agent is parked past that (no reset time comes through).
    let limitedUntil: number | undefined
    let refused = 0
    const work = touchScript()
    api = await startFakeAnthropic((request, context) => {
      if (context.mainLoop) limitedUntil ??= Date.now() + 3_000
      if (context.mainLoop && Date.now() < limitedUntil!) {
        refused++
        return {
          status: 429,
          error: {
            type: 'rate_limit_error',
            message: 'Number of request tokens has exceeded your per-minute rate limit',
          },
          headers: { 'retry-after': '120', 'anthropic-ratelimit-requests-remaining': '0' },
        }
      }
      return work(request, context)
    })
    useClaude(api)
    const project = createProject({
      config: CLAUDE_CONFIG(),
      files: { '.tanuki/tasks/L-1.md': claudeTask('L-1', '  verify: "test -f L-1.txt"\n  max_iterations: 1\n') },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(refused).toBeGreaterThan(0)
    const events = readEvents(project.dir)
    const parked = events.filter((e) => e.event === 'agent:parked')
    expect(parked[0]).toMatchObject({ agent: 'default-1', account: 'claude:ANTHROPIC_API_KEY' })
    expect(events.some((e) => e.event === 'agent:resumed')).toBe(true)
    // The console said so, with the time work resumes.
    expect(run.stdout).toMatch(/agents on claude:ANTHROPIC_API_KEY parked until \d\d:\d\d:\d\d: /)
    const status = await statusJson(project.dir)
    expect(status.tasks[0]).toMatchObject({ id: 'L-1', status: 'complete', iterations: 1 })
  }, 120_000)

  it('two agents of one account meet one limit: one backoff step, no try before the park lifts, a few lines', async () => {
    // Each agent's first request is refused with a 429 Claude Code gives up on at once (retry-after
    // over 60 s): both meet the same limit, about together.
    let refused = 0
    const work = touchScript()
    api = await startFakeAnthropic((request, context) => {
      if (context.mainLoop && refused < 2) {
        refused++
        return {
          status: 429,
          error: { type: 'rate_limit_error', message: RATE_LIMIT_MESSAGE },
          headers: { 'retry-after': '120', 'anthropic-ratelimit-requests-remaining': '0' },
        }
      }
      return work(request, context)
    })
    useClaude(api)
    const project = createProject({
      config: CLAUDE_CONFIG('', 2),
      files: {
        '.tanuki/tasks/A-1.md': claudeTask('A-1', '  verify: "test -f A-1.txt"\n'),
        '.tanuki/tasks/B-1.md': claudeTask('B-1', '  verify: "test -f B-1.txt"\n'),
      },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(refused).toBe(2)
    const events = readEvents(project.dir)
    const parked = events.filter((e) => e.event === 'agent:parked') as { at: number; until: number }[]
    expect(parked.length).toBeGreaterThanOrEqual(2)
    // One limit: the backoff's first step (10 s) for both, not 10 then 20.
    for (const park of parked) expect(park.until - park.at).toBeLessThanOrEqual(10_000)
    // No try starts while its account is parked, and each park ends with its agent:resumed.
    for (const started of events.filter((e) => e.event === 'iteration:started') as { at: number }[]) {
      const before = parked.filter((park) => park.at <= started.at)
      if (before.length > 0) expect(started.at).toBeGreaterThanOrEqual(Math.max(...before.map((p) => p.until)))
    }
    expect(events.filter((e) => e.event === 'agent:resumed').length).toBeGreaterThanOrEqual(2)
    // The console: a line per park, the API's message once in it and shortened, and when work resumes.
    const untils = new Set(parked.map((park) => park.until))
    const lines = run.stdout.split('\n')
    const parkLines = lines.filter((l) =>
      / ⏸ agents on claude:ANTHROPIC_API_KEY parked until \d\d:\d\d:\d\d: API Error: Request rejected \(429\) · This request would exceed the rate limit for your organization of 50,000 input tokens per minute\.$/.test(
        l,
      ),
    )
    expect(parkLines).toHaveLength(untils.size)
    expect(lines.filter((l) => l.includes('every agent is parked; work resumes at'))).toHaveLength(untils.size)
    expect(run.stdout).not.toContain('For details')
    expect(run.stdout).not.toContain('[rate-limited]')
    expect(lines.filter((l) => l.includes('▶ agents on claude:ANTHROPIC_API_KEY resumed'))).toHaveLength(untils.size)
  }, 120_000)

  it('a task whose budget is spent goes to review, and no further try starts', async () => {
    // Each answer bills 200,000 input tokens: dollars, by Claude Code's own prices.
    api = await startFakeAnthropic(touchScript({ input_tokens: 200_000, output_tokens: 2_000 }))
    useClaude(api)
    const project = createProject({
      config: CLAUDE_CONFIG(),
      files: {
        // Its verify never passes: without the budget it would try 5 times.
        '.tanuki/tasks/B-1.md': claudeTask(
          'B-1',
          '  verify: "test -f never-made.txt"\n  max_iterations: 5\n',
          'budget: { usd: 0.05 }\n',
        ),
      },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    const [task] = (await statusJson(project.dir)).tasks
    expect(task).toMatchObject({ id: 'B-1', status: 'review', lastError: { class: 'budget' } })
    expect(task!.lastError!.cause).toMatch(/budget is spent/)
    expect(iterationsSeen(api)).toBe(1)
  }, 120_000)

  it('a try cut short by a rate limit is not counted, but what it spent is: the budget stops the task in time', async () => {
    // Each answer bills 100,000 input tokens (about $0.32 by Claude Code's prices). The first try's
    // second request is refused with a 429 that Claude Code does not retry: that try ends
    // rate-limited, after one paid answer.
    let limited = 0
    api = await startFakeAnthropic((request, { mainLoop }) => {
      if (!mainLoop) return undefined
      const usage = { input_tokens: 100_000, output_tokens: 1_000 }
      // Under --max-budget-usd the last message is Claude Code's note of the budget left, not the tool result.
      if (!request.messages.some((message) => blocksOf(message).some((block) => block.type === 'tool_result'))) {
        return { content: [{ type: 'tool_use', name: 'Bash', input: { command: 'true', description: 'work' } }], usage }
      }
      if (limited++ === 0) {
        return {
          status: 429,
          error: { type: 'rate_limit_error', message: 'rate limited: try again in 1 seconds' },
          headers: { 'retry-after': '120' },
        }
      }
      return { content: [{ type: 'text', text: 'Done.' }], usage }
    })
    useClaude(api)
    const project = createProject({
      config: CLAUDE_CONFIG(),
      files: {
        '.tanuki/tasks/P-1.md': claudeTask(
          'P-1',
          '  verify: "test -f never-made.txt"\n  max_iterations: 10\n',
          'budget: { usd: 1 }\n',
        ),
      },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    const finished = readEvents(project.dir).filter((e) => e.event === 'iteration:finished')
    const costs = finished.map((e) => (e.usage as { costUsd?: number } | undefined)?.costUsd ?? 0)
    // The limited try billed its answer, and it is on the task's account.
    expect(finished[0]).toMatchObject({ failure: { class: 'rate-limited' } })
    expect(costs[0]).toBeGreaterThan(0.3)
    const [task] = (await statusJson(project.dir)).tasks
    expect(task).toMatchObject({ id: 'P-1', status: 'review', lastError: { class: 'budget' } })
    const spent = costs.reduce((sum, cost) => sum + cost, 0)
    expect(task!.lastError!.cause).toContain(`budget is spent ($${spent.toFixed(2)} of $1.00)`)
    // Not counted as a try: the limited one ran again.
    expect(task!.iterations).toBe(finished.length - 1)
  }, 120_000)

  it('a try that times out before Claude Code reports its bill is paid for all the same: the budget stops the task', async () => {
    // Each try: the priced answer, then a command that outlasts iterationTimeoutMs. Claude Code is
    // stopped before its result line.
    api = await startFakeAnthropic(pricedAnswerThenWait)
    useClaude(api)
    const project = createProject({
      config: SONNET_CONFIG('\n  iterationTimeoutMs: 4000,'),
      files: {
        '.tanuki/tasks/T-1.md': claudeTask(
          'T-1',
          '  verify: "test -f never-made.txt"\n  max_iterations: 5\n',
          'budget: { usd: 1 }\n',
        ),
      },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(1)
    const first = readEvents(project.dir).find((e) => e.event === 'iteration:finished')
    expect(first).toMatchObject({ failure: { class: 'timeout' }, usage: { estimated: true } })
    expect((first!.usage as { costUsd: number }).costUsd).toBeGreaterThan(0.6)
    // Two tries spent the dollar: no third starts.
    const [task] = (await statusJson(project.dir)).tasks
    expect(task).toMatchObject({ id: 'T-1', status: 'review', lastError: { class: 'budget' } })
    expect(iterationsSeen(api)).toBe(2)
  }, 120_000)

  it('what a try a stop cut short spent before Claude Code reported its bill is in the summary and the dashboard, marked ~', async () => {
    // The priced answer, then a command that outlasts the test: the run is stopped while it runs.
    api = await startFakeAnthropic(pricedAnswerThenWait)
    useClaude(api)
    const project = createProject({
      config: SONNET_CONFIG(),
      files: { '.tanuki/tasks/S-1.md': claudeTask('S-1', '  verify: "test -f never-made.txt"\n') },
    })
    const run = startTanuki(project.dir, 'project', 'start')
    // Claude Code streamed the answer (and its tokens) and runs the command.
    await waitFor('the answer in the agent output', () =>
      readEvents(project.dir).some((e) => e.event === 'iteration:output' && String(e.text).includes('tool_use')),
    )
    const stop = await tanuki(project.dir, 'project', 'stop')
    expect(stop.code, stop.stderr).toBe(0)
    const ended = await run.done
    const events = readEvents(project.dir)
    expect(
      events.filter((e) => e.event === 'iteration:finished'),
      ended.stdout,
    ).toEqual([])
    // The status change that ended the try tells what it spent.
    const cut = events.find((e) => e.event === 'task:status' && e.to === 'pending' && e.usage)
    expect(cut).toMatchObject({ from: 'in_progress', usage: { estimated: true } })
    const usd = (cut!.usage as { costUsd: number }).costUsd
    expect(usd).toBeGreaterThan(0.6)
    const summary = readFileSync(join(project.dir, '.tanuki', 'summary.md'), 'utf8')
    expect(summary).toContain(`Cost: ~$${usd.toFixed(4)} (~: in part Tanuki's estimate`)
    // The dashboard, fed the run's events as its server is.
    const model = new DashboardModel()
    for (const { event, ...payload } of events) model.apply(event, payload)
    expect(model.spend()).toMatchObject({ usd, estimated: true })
  }, 120_000)

  it('a run budget shared by 4 agents is not overshot by more than one try each, and the run exits 3', async () => {
    api = await startFakeAnthropic(touchScript({ input_tokens: 100_000, output_tokens: 1_000 }))
    useClaude(api)
    const tasks = Object.fromEntries(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => [
        `.tanuki/tasks/R-${n}.md`,
        claudeTask(`R-${n}`, '  verify: "test -f never-made.txt"\n  max_iterations: 10\n'),
      ]),
    )
    const project = createProject({
      config: CLAUDE_CONFIG('\n  sameFailureLimit: 10,\n  budget: { usd: 1 },', 4),
      files: tasks,
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(3)
    expect(run.stderr).toMatch(/the run's budget is spent \(\$\d+\.\d\d/)
    const costs = readEvents(project.dir)
      .filter((e) => e.event === 'iteration:finished')
      .map((e) => (e.usage as { costUsd?: number } | undefined)?.costUsd ?? 0)
    const spent = costs.reduce((sum, cost) => sum + cost, 0)
    expect(costs.length).toBeGreaterThan(0)
    expect(spent).toBeGreaterThan(0)
    expect(spent).toBeLessThanOrEqual(1 + 4 * Math.max(...costs))
    // Nothing was marked failed for it: the tasks wait for a bigger budget.
    const status = await statusJson(project.dir)
    expect(status.tasks.filter((t) => t.status === 'failed')).toEqual([])
  }, 180_000)

  it('a refused key pauses the role once, naming the variable; its tasks wait, unharmed', async () => {
    api = await startFakeAnthropic((_request, { mainLoop }) =>
      mainLoop ? { status: 401, error: { type: 'authentication_error', message: 'invalid x-api-key' } } : undefined,
    )
    useClaude(api)
    const project = createProject({
      config: CLAUDE_CONFIG(),
      files: {
        '.tanuki/tasks/K-1.md': claudeTask('K-1', '  verify: "test -f K-1.txt"\n'),
        '.tanuki/tasks/K-2.md': claudeTask('K-2', '  verify: "test -f K-2.txt"\n'),
      },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/role "default" is paused: .*ANTHROPIC_API_KEY/)
    expect(iterationsSeen(api)).toBe(1)
    const status = await statusJson(project.dir)
    expect(status.tasks.map((t) => t.status)).toEqual(['pending', 'pending'])
    expect(status.tasks.find((t) => t.lastError)?.lastError?.class).toBe('could-not-start')
  }, 120_000)

  it('a refused key pauses the role at once, though Claude Code would retry it for minutes', async () => {
    api = await startFakeAnthropic((_request, { mainLoop }) =>
      mainLoop ? { status: 401, error: { type: 'authentication_error', message: 'invalid x-api-key' } } : undefined,
    )
    useClaude(api, { ownRetries: true })
    const project = createProject({
      config: CLAUDE_CONFIG(),
      files: { '.tanuki/tasks/K-1.md': claudeTask('K-1', '  verify: "test -f K-1.txt"\n') },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/role "default" is paused: authentication refused \(401\).*ANTHROPIC_API_KEY/)
    // Stopped at its second retry (the first may refresh a login): not the ten Claude Code makes,
    // backing off to 32 s, by default.
    expect(api.requests.filter((request) => request.status === 401).length).toBeLessThanOrEqual(3)
    const [task] = (await statusJson(project.dir)).tasks
    expect(task).toMatchObject({ status: 'pending', lastError: { class: 'could-not-start' } })
  }, 120_000)

  it('a verify that fails alike every time (npm run, a dated log in its output) stops at sameFailureLimit', async () => {
    api = await startFakeAnthropic(touchScript())
    useClaude(api)
    const project = createProject({
      config: CLAUDE_CONFIG(),
      files: {
        'package.json': '{ "name": "p", "private": true, "scripts": { "test": "true" } }\n',
        // A typo the agent cannot fix; npm names a log file after the time, so no two outputs match.
        '.tanuki/tasks/T-1.md': claudeTask('T-1', '  verify: "npm run tset"\n  max_iterations: 10\n'),
      },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    expect(iterationsSeen(api)).toBe(3)
    const [task] = (await statusJson(project.dir)).tasks
    expect(task).toMatchObject({ status: 'review', iterations: 3 })
    expect(task!.reason).toMatch(/the same failure 3 tries in a row \(verify-failed\).*npm run tset/)
  }, 120_000)

  it('a model the key cannot use pauses the role once, naming the option; its tasks wait, unharmed', async () => {
    api = await startFakeAnthropic((request, { mainLoop }) =>
      mainLoop ? { status: 404, error: { type: 'not_found_error', message: `model: ${request.model}` } } : undefined,
    )
    useClaude(api)
    const project = createProject({
      config: CLAUDE_CONFIG().replace("kind: 'claude'", "kind: 'claude', model: 'claude-sonet-9'"),
      files: {
        '.tanuki/tasks/N-1.md': claudeTask('N-1', '  verify: "test -f N-1.txt"\n'),
        '.tanuki/tasks/N-2.md': claudeTask('N-2', '  verify: "test -f N-2.txt"\n'),
      },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/role "default" is paused: .*claude-sonet-9.*`model`/)
    // Not three tries of every task, each sent to review: one run of Claude Code, then the role
    // waits for a fix. (Claude Code itself asks twice about a model it is refused.)
    expect(readEvents(project.dir).filter((e) => e.event === 'iteration:started')).toHaveLength(1)
    const status = await statusJson(project.dir)
    expect(status.tasks.map((t) => t.status)).toEqual(['pending', 'pending'])
    expect(status.tasks.find((t) => t.lastError)?.lastError?.class).toBe('could-not-start')
  }, 120_000)

  it('an overloaded API parks the account, and the try runs again once it is back: max_iterations 1 still completes', async () => {
    // Overloaded for 3 s: the old way, three quick tries of the same 529 sent the task to review.
    let overloadedUntil: number | undefined
    let refused = 0
    const work = touchScript()
    api = await startFakeAnthropic((request, context) => {
      if (context.mainLoop) overloadedUntil ??= Date.now() + 3_000
      if (context.mainLoop && Date.now() < overloadedUntil!) {
        refused++
        return { status: 529, error: { type: 'overloaded_error', message: 'Overloaded' } }
      }
      return work(request, context)
    })
    useClaude(api)
    const project = createProject({
      config: CLAUDE_CONFIG(),
      files: { '.tanuki/tasks/O-1.md': claudeTask('O-1', '  verify: "test -f O-1.txt"\n  max_iterations: 1\n') },
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr + run.stdout).toBe(0)
    expect(refused).toBeGreaterThan(0)
    expect(run.stdout).toMatch(
      /agents on claude:ANTHROPIC_API_KEY parked until \d\d:\d\d:\d\d: .*the API is unavailable \(529\)/,
    )
    const status = await statusJson(project.dir)
    expect(status.tasks[0]).toMatchObject({ id: 'O-1', status: 'complete', iterations: 1 })
  }, 120_000)
})

describe('failures that can never pass, under the process backend', () => {
  it('a missing agent program is tried once: its role is paused, saying which program', async () => {
    const project = createProject({
      config: CLAUDE_CONFIG().replace("kind: 'claude'", "kind: 'claude', bin: 'no-such-claude-here'"),
      tasks: [{ id: 'M-1', verify: 'true' }],
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/role "default" is paused: .*no-such-claude-here/)
    const [task] = (await statusJson(project.dir)).tasks
    expect(task).toMatchObject({ status: 'pending', lastError: { class: 'could-not-start' } })
  })

  it('a verify whose program is missing holds its task before any try, with the cause: it waits for the fix', async () => {
    const project = createProject({
      tasks: [{ id: 'V-1', sh: 'echo work > w.txt', verify: 'no-such-test-runner --all', maxIterations: 5 }],
    })
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code).toBe(1)
    const [task] = (await statusJson(project.dir)).tasks
    expect(task).toMatchObject({ status: 'pending', iterations: 0, lastError: { class: 'verify-could-not-run' } })
    expect(task!.lastError!.cause).toMatch(/`no-such-test-runner` not found, looked for before any agent worked/)
    expect(run.stdout).toMatch(
      /✗ verify `no-such-test-runner --all` cannot run on this machine for role "default" \(looked for before any agent worked: `command -v no-such-test-runner` found nothing\)\. .* V-1 and the other tasks of role default with this verify wait/,
    )
    // What to do: install it or correct the verify, then resume (which runs it: it is not failed).
    expect(run.stderr).toContain('`no-such-test-runner` was not found there: install it (or put it on PATH)')
    expect(run.stderr).toContain('(fix the verify above, then `tanuki project resume`)')
    const text = await tanuki(project.dir, 'project', 'status')
    expect(text.stdout).toMatch(
      /\nNeeds you\n {2}V-1 waits ← verify `no-such-test-runner --all` cannot run on this machine/,
    )
  })

  it('an agent that prints nothing for stallTimeoutMs is ended as stalled', async () => {
    const project = createProject({
      config: `import { defineConfig } from 'tanuki'
export default defineConfig({
  cooldownMs: 50,
  stallTimeoutMs: 1500,
  defaults: { backend: 'process', kind: 'shell' },
  agents: { default: { count: 1 } },
})
`,
      tasks: [{ id: 'S-1', sh: 'sleep 120', verify: 'true', maxIterations: 1 }],
    })
    // The agent would sleep two minutes; the test's own timeout is shorter than that.
    const run = await startTanuki(project.dir, 'project', 'start').done
    expect(run.code).toBe(1)
    const [task] = (await statusJson(project.dir)).tasks
    expect(task).toMatchObject({ status: 'review', lastError: { class: 'stalled' } })
  }, 90_000)
})
