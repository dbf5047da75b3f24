import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isTanukiError, taskFromFields, usageOfError, type RunResult, type Task } from '@tanuki/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  DEFAULT_USAGE,
  claudeBin,
  claudeEnv,
  startFakeAnthropic,
  taskScript,
  userText,
  type FakeAnthropic,
  type FakeScript,
} from '../../../../../test/support/fake-anthropic.ts'
import { createProcessBackend } from '../../backend.ts'
import { claudeArgv, createClaudeKind, createClaudeParser, limitReset } from './claude.ts'
import type { IterationPlan, KindOptions, OutputParser } from './types.ts'

const fixtures = new URL('../../../test/fixtures/', import.meta.url)
const fixture = (name: string): Promise<string> => readFile(new URL(name, fixtures), 'utf8')

/** Feeds `text` to a parser in pieces of `size` characters, as a pipe might deliver it. */
function parseInPieces(parser: OutputParser, text: string, size: number, exitCode: number | null): RunResult {
  for (let at = 0; at < text.length; at += size) parser.push({ stream: 'stdout', text: text.slice(at, at + size) })
  parser.end(exitCode)
  return parser.result()
}

function events(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

const task: Task = taskFromFields(
  { id: 'TASK-001', title: 'Create FILE.txt', role: 'backend', completion: { signal: 'FILE_DONE' } },
  'Create FILE.txt',
  'TASK-001.md',
)

describe('claude stream-json parser (recorded from the real CLI)', () => {
  it('reads the final text, session, turns, usage and cost whatever the chunk boundaries', async () => {
    const text = await fixture('claude-success.jsonl')
    const recorded = events(text)
    const init = recorded.find((event) => event.type === 'system')!
    const result = recorded.find((event) => event.type === 'result')!
    const whole = parseInPieces(createClaudeParser(), text, text.length, 0)

    expect(whole.output).toBe('Created FILE.txt. FILE_DONE')
    expect(whole.sessionId).toBe(init.session_id)
    expect(whole.exitCode).toBe(0)
    expect(whole.error).toBeUndefined()
    expect(whole.toolErrors).toBeUndefined()
    // Two model calls, each reporting the fake's fixed usage.
    expect(whole.usage).toEqual({
      inputTokens: 2 * (DEFAULT_USAGE.input_tokens + DEFAULT_USAGE.cache_creation_input_tokens),
      outputTokens: 2 * DEFAULT_USAGE.output_tokens,
      cacheReadTokens: 2 * DEFAULT_USAGE.cache_read_input_tokens,
      costUsd: result.total_cost_usd,
      turns: 2,
    })
    expect(whole.usage?.costUsd).toBeGreaterThan(0)

    for (const size of [1, 2, 7, 64, 333, 4096]) {
      expect(parseInPieces(createClaudeParser(), text, size, 0)).toEqual(whole)
    }
  })

  it('lists tool results marked is_error, named by the tool that failed', async () => {
    const result = parseInPieces(createClaudeParser(), await fixture('claude-tool-error.jsonl'), 97, 0)
    expect(result.toolErrors).toHaveLength(1)
    expect(result.toolErrors?.[0]).toMatch(/^Bash: Exit code 1\ncat: missing.txt: No such file or directory/)
    expect(result.output).toBe('The file is missing.')
    expect(result.error).toBeUndefined()
  })

  it('turns an API error result into an error naming the status', async () => {
    const result = parseInPieces(createClaudeParser(), await fixture('claude-api-error.jsonl'), 50, 1)
    expect(result.error).toMatch(/^Claude Code reported an error \(API status 529\): API Error: 529/)
    expect(result.exitCode).toBe(1)
    expect(result.usage?.turns).toBe(1)
  })

  it('explains a run stopped by --max-turns', async () => {
    const result = parseInPieces(createClaudeParser(), await fixture('claude-max-turns.jsonl'), 10, 1)
    expect(result.error).toContain('maximum number of turns')
    expect(result.error).toContain('Reached maximum number of turns (1)')
  })

  it('keeps what it saw when the process dies before the result event', async () => {
    const text = await fixture('claude-success.jsonl')
    // Cut in the middle of the result line, as a kill -9 would.
    const cut = text.slice(0, text.lastIndexOf('"type":"result"'))
    const parser = createClaudeParser()
    parser.push({ stream: 'stdout', text: cut })
    parser.push({ stream: 'stderr', text: 'Killed\n' })
    parser.end(null)
    const result = parser.result()
    expect(result.output).toBe(['I will run a command.', 'Created FILE.txt. FILE_DONE'].join('\n'))
    expect(result.error).toBe('Claude Code was killed before it finished: Killed')
    expect(result.sessionId).toBe(events(text)[0]!.session_id)
    // The two answers were paid for: their input as the API reported it (the first printed once
    // per block, counted once), their output from their length, priced as the model's list price.
    const billed = events(text).find((event) => event.type === 'result')!.total_cost_usd as number
    expect(result.usage).toMatchObject({
      estimated: true,
      turns: 2,
      inputTokens: 2 * (DEFAULT_USAGE.input_tokens + DEFAULT_USAGE.cache_creation_input_tokens),
      cacheReadTokens: 2 * DEFAULT_USAGE.cache_read_input_tokens,
    })
    expect(result.usage?.outputTokens).toBeGreaterThan(2)
    // Close to what Claude Code billed once it finished ($3/$15 per million for claude-sonnet-4-5).
    expect(result.usage?.costUsd).toBeGreaterThan(billed / 2)
    expect(result.usage?.costUsd).toBeLessThan(billed * 2)
  })

  it('classifies by the error that ended the run, not one a subagent met on the way', async () => {
    // Recorded: a background subagent's request refused with a 429 (its parent was told and went
    // on), then the run stopped at --max-turns. The subagent's error is not what ended the run.
    const text = await fixture('claude-subagent-limit.jsonl')
    expect(text).toContain('"error":"rate_limit"')
    const result = parseInPieces(createClaudeParser(), text, 101, 1)
    expect(result.error).toContain('maximum number of turns')
    expect(result.failure).toEqual({ class: 'agent-error', cause: result.error })
  })

  it('a run that finished is no failure, whatever its answer says of limits', () => {
    const parser = createClaudeParser()
    const line = (event: Record<string, unknown>): string => `${JSON.stringify(event)}\n`
    parser.push({
      stream: 'stdout',
      text:
        line({ type: 'system', subtype: 'api_retry', attempt: 1, error_status: 429, error: 'rate_limit' }) +
        line({
          type: 'result',
          subtype: 'success',
          is_error: false,
          result: 'Handled the "usage limit reached" message in the client.',
          total_cost_usd: 0.01,
        }),
    })
    parser.end(0)
    expect(parser.result().failure).toBeUndefined()
  })

  it('keeps the last 200 texts, in order, for the output of a long run that dies before its result', () => {
    const said = (n: number): string =>
      `${JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: `text ${n}` }] } })}\n`
    for (const count of [3, 200, 201, 450]) {
      const parser = createClaudeParser()
      for (let n = 1; n <= count; n++) parser.push({ stream: 'stdout', text: said(n) })
      parser.end(null)
      const first = Math.max(1, count - 199)
      const expected = Array.from({ length: count - first + 1 }, (_, i) => `text ${first + i}`)
      expect(parser.result().output).toBe(expected.join('\n'))
    }
  })

  it('reports a CLI that exits before printing any event, with its stderr', () => {
    const parser = createClaudeParser()
    parser.push({
      stream: 'stderr',
      text: '--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\n',
    })
    parser.end(1)
    expect(parser.result()).toEqual({
      output: '',
      exitCode: 1,
      error:
        'Claude Code exited with code 1: --dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons',
      // A refused flag is the role's configuration: the role pauses instead of burning tries.
      failure: {
        class: 'could-not-start',
        config: true,
        cause: expect.stringContaining('refused --dangerously-skip-permissions as root'),
      },
    })
  })
})

describe('limitReset', () => {
  it('reads when a limit lifts from what Claude Code says', () => {
    const now = Date.parse('2026-11-29T10:00:00Z')
    expect(limitReset('Claude AI usage limit reached|1795000000', now)).toEqual({ resetAt: 1_795_000_000_000 })
    expect(limitReset('Rate limited: please try again in 20s', now)).toEqual({ retryAfterMs: 20_000 })
    expect(limitReset('retry in 3 minutes', now)).toEqual({ retryAfterMs: 180_000 })
    expect(limitReset('Your limit resets at 2026-11-29T11:00:00Z.', now)).toEqual({
      resetAt: Date.parse('2026-11-29T11:00:00Z'),
    })
    expect(limitReset('rate limited', now)).toEqual({})
  })
})

describe('claude argv', () => {
  it('puts every option on the command line and the prompt on stdin', () => {
    const kind = createClaudeKind({
      bin: '/opt/claude',
      model: 'claude-sonnet-4-5',
      systemPrompt: 'You are the backend engineer.',
      maxTurns: 12,
      allowedTools: ['Bash(git *)', 'Edit'],
      disallowedTools: ['WebFetch'],
      extraArgs: ['--effort', 'low'],
    })
    const { steps } = kind.plan({ prompt: '--looks like a flag', task })
    expect(steps).toHaveLength(1)
    expect(steps[0]!.stdin).toBe('--looks like a flag')
    expect(steps[0]!.argv).toEqual([
      '/opt/claude',
      '-p',
      '--allowedTools',
      'Bash(git *),Edit',
      '--disallowedTools',
      'WebFetch',
      '--output-format',
      'stream-json',
      '--verbose',
      '--dangerously-skip-permissions',
      '--append-system-prompt',
      'You are the backend engineer.',
      '--model',
      'claude-sonnet-4-5',
      '--max-turns',
      '12',
      '--effort',
      'low',
    ])
  })

  it('leaves the permission mode to extraArgs when they choose one', () => {
    expect(claudeArgv({ extraArgs: ['--permission-mode', 'acceptEdits'] })).not.toContain(
      '--dangerously-skip-permissions',
    )
    expect(claudeArgv({ extraArgs: ['--permission-mode=plan'] })).not.toContain('--dangerously-skip-permissions')
  })

  it('sets IS_SANDBOX only as root, and passes the role env through', () => {
    const { steps } = createClaudeKind({ env: { FOO: 'bar' } }).plan({ prompt: 'x', task })
    const asRoot = process.getuid?.() === 0 && process.env.IS_SANDBOX === undefined
    expect(steps[0]!.env).toEqual(asRoot ? { IS_SANDBOX: '1', FOO: 'bar' } : { FOO: 'bar' })
  })
})

/** Runs a plan's steps as the backend would: the real processes, output into the parser. */
async function runPlanHere(plan: IterationPlan, cwd: string, env: Record<string, string>): Promise<RunResult> {
  for (const step of plan.steps) {
    const child = spawn(step.argv[0]!, step.argv.slice(1), {
      cwd,
      env: { ...env, ...step.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    child.stdout.setEncoding('utf8').on('data', (text: string) => plan.parser.push({ stream: 'stdout', text }))
    child.stderr.setEncoding('utf8').on('data', (text: string) => plan.parser.push({ stream: 'stderr', text }))
    child.stdin.end(step.stdin ?? '')
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', resolve)
    })
    plan.parser.end(code)
    if (code !== 0) break
  }
  return plan.parser.result()
}

describe('claude kind with the real Claude Code CLI', { timeout: 60_000 }, () => {
  let api: FakeAnthropic | undefined
  let cwd: string
  let home: string

  beforeEach(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'tanuki-claude-'))
    home = await mkdtemp(join(tmpdir(), 'tanuki-claude-home-'))
  })
  afterEach(async () => {
    await api?.close()
    api = undefined
    await rm(cwd, { recursive: true, force: true })
    await rm(home, { recursive: true, force: true })
  })

  async function run(script: FakeScript, options: KindOptions = {}, prompt = 'Create FILE.txt'): Promise<RunResult> {
    api = await startFakeAnthropic(script)
    const plan = createClaudeKind({ bin: claudeBin, ...options }).plan({ prompt, task })
    return runPlanHere(plan, cwd, {
      ...claudeEnv({ baseUrl: api.url, home }),
      PATH: process.env.PATH ?? '/usr/bin:/bin',
    })
  }

  it('creates the file with its Bash tool and reports the signal, session, turns, usage and cost', async () => {
    const result = await run(
      taskScript({ command: 'printf "made by claude" > FILE.txt', finalText: 'FILE.txt is there. FILE_DONE' }),
      {
        model: 'claude-sonnet-4-5',
        systemPrompt: 'ROLE-PROMPT: you are the backend engineer.',
        maxTurns: 5,
        disallowedTools: ['WebFetch'],
      },
    )

    expect(await readFile(join(cwd, 'FILE.txt'), 'utf8')).toBe('made by claude')
    expect(result.output).toContain('FILE_DONE')
    expect(result.error).toBeUndefined()
    expect(result.exitCode).toBe(0)
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/)
    expect(result.usage).toMatchObject({
      turns: 2,
      inputTokens: 2 * (DEFAULT_USAGE.input_tokens + DEFAULT_USAGE.cache_creation_input_tokens),
      outputTokens: 2 * DEFAULT_USAGE.output_tokens,
      cacheReadTokens: 2 * DEFAULT_USAGE.cache_read_input_tokens,
    })
    expect(result.usage?.costUsd).toBeGreaterThan(0)

    // The options reached the model API: model, prompt, role prompt, tool restrictions.
    const [first, second] = api!.mainLoopRequests()
    expect(first!.model).toBe('claude-sonnet-4-5')
    expect(userText(first!)).toContain('Create FILE.txt')
    expect(JSON.stringify(first!.system) + JSON.stringify(first!.messages)).toContain(
      'ROLE-PROMPT: you are the backend engineer.',
    )
    const tools = first!.tools!.map((tool) => tool.name)
    expect(tools).toContain('Bash')
    expect(tools).not.toContain('WebFetch')
    expect(second!.messages.length).toBeGreaterThan(first!.messages.length)
  })

  it('reports a failing tool call in toolErrors', async () => {
    const result = await run(
      taskScript({ command: 'cat missing.txt', finalText: (output, isError) => `isError=${isError}: ${output}` }),
    )
    expect(result.toolErrors).toHaveLength(1)
    expect(result.toolErrors?.[0]).toMatch(/^Bash: .*missing\.txt: No such file or directory/s)
    expect(result.output).toMatch(/^isError=true: /)
    expect(result.error).toBeUndefined()
    expect(existsSync(join(cwd, 'missing.txt'))).toBe(false)
  })

  it('gives an error when the API answers overloaded', async () => {
    const result = await run(() => ({ status: 529, error: { type: 'overloaded_error', message: 'Overloaded' } }))
    expect(result.error).toContain('API status 529')
    expect(result.exitCode).not.toBe(0)
    expect(api!.requests.filter((request) => request.status === 529).length).toBeGreaterThan(0)
  })

  it('classifies a 429 that Claude Code gives up on as rate-limited, not as a try that failed', async () => {
    const result = await run(() => ({
      status: 429,
      error: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit' },
      headers: { 'retry-after': '120' },
    }))
    expect(result.failure).toMatchObject({ class: 'rate-limited' })
    expect(result.failure?.cause).toContain('429')
  })

  it('classifies refused credentials as a start that failed, naming the variable to fix', async () => {
    const result = await run(() => ({
      status: 401,
      error: { type: 'authentication_error', message: 'invalid x-api-key' },
    }))
    expect(result.failure).toMatchObject({ class: 'could-not-start', config: true })
    expect(result.failure?.cause).toContain('ANTHROPIC_API_KEY')
    expect(result.failure?.cause).toContain('401')
  })

  it('classifies a model the API does not know as the role configuration, naming the option to fix', async () => {
    // A typo in `model` fails every task alike: pause the role, rather than spend tries on each task.
    const result = await run(
      (request, { mainLoop }) =>
        mainLoop ? { status: 404, error: { type: 'not_found_error', message: `model: ${request.model}` } } : undefined,
      { model: 'claude-sonet-9' },
    )
    expect(result.failure).toMatchObject({ class: 'could-not-start', config: true })
    expect(result.failure?.cause).toContain('claude-sonet-9')
    expect(result.failure?.cause).toMatch(/`model`/)
  })

  it('parks on an overloaded or failing API (529, 5xx, a dropped connection) instead of failing the try', async () => {
    // The service's trouble, not the task's: trying the task again at once cannot help, waiting can.
    for (const [status, type, message] of [
      [529, 'overloaded_error', 'Overloaded'],
      [500, 'api_error', 'Internal server error'],
      [503, 'api_error', 'Service unavailable'],
    ] as const) {
      const result = await run((_request, { mainLoop }) =>
        mainLoop ? { status, error: { type, message } } : undefined,
      )
      expect(result.failure, String(status)).toMatchObject({ class: 'rate-limited', outage: true })
      expect(result.failure?.cause).toContain(String(status))
      await api?.close()
    }
    const cut = await run((_request, { mainLoop }) =>
      mainLoop ? { content: [{ type: 'text', text: 'A long answer that never ends' }], cut: true } : undefined,
    )
    expect(cut.failure).toMatchObject({ class: 'rate-limited', outage: true })
    expect(cut.failure?.cause).toMatch(/connection/i)
  })

  it('keeps the tokens of a run stopped by --max-budget-usd, which its result usage leaves at zero', async () => {
    const usage = { input_tokens: 2_000_000, output_tokens: 20_000 }
    const plan = createClaudeKind({ bin: claudeBin }).plan({ prompt: 'Create FILE.txt', task, budget: { usd: 1 } })
    api = await startFakeAnthropic(taskScript({ command: 'true', finalText: 'done', usage }))
    const result = await runPlanHere(plan, cwd, {
      ...claudeEnv({ baseUrl: api.url, home }),
      PATH: process.env.PATH ?? '/usr/bin:/bin',
    })
    expect(result.error).toContain('--max-budget-usd')
    expect(result.usage?.costUsd).toBeGreaterThan(1)
    expect(result.usage?.inputTokens).toBeGreaterThanOrEqual(usage.input_tokens)
    expect(result.usage?.outputTokens).toBeGreaterThanOrEqual(usage.output_tokens)
  })

  it('stops at maxTurns with an error that says so', async () => {
    const result = await run(taskScript({ command: 'true', finalText: 'never reached' }), { maxTurns: 1 })
    expect(result.error).toContain('maximum number of turns')
    expect(result.output).not.toContain('never reached')
  })
})

describe('claude kind through the process backend', { timeout: 60_000 }, () => {
  let api: FakeAnthropic | undefined
  let root: string
  let home: string

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tanuki-claude-project-'))
    home = await mkdtemp(join(tmpdir(), 'tanuki-claude-home-'))
  })
  afterEach(async () => {
    await api?.close()
    api = undefined
    await rm(root, { recursive: true, force: true })
    await rm(home, { recursive: true, force: true })
  })

  it('runs Claude Code in the agent worktree, where verify then finds the file', async () => {
    const git = (...args: string[]): Promise<void> =>
      new Promise((resolve, reject) => {
        const child = spawn('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
          cwd: root,
          stdio: 'ignore',
        })
        child.once('error', reject)
        child.once('close', (code) =>
          code === 0 ? resolve() : reject(new Error(`git ${args.join(' ')} exited ${code}`)),
        )
      })
    await git('init', '-q')
    await git('commit', '-q', '--allow-empty', '-m', 'init')

    api = await startFakeAnthropic(taskScript({ command: 'echo from-claude > FILE.txt', finalText: 'Done. FILE_DONE' }))
    const backend = createProcessBackend({
      bin: claudeBin,
      inheritEnv: false,
      env: { ...claudeEnv({ baseUrl: api.url, home }), PATH: process.env.PATH ?? '/usr/bin:/bin' },
    })
    const agent = await backend.spawn({
      name: 'backend-1',
      role: 'backend',
      options: { model: 'claude-sonnet-4-5' },
      project: { root, name: 'demo', stateDir: join(root, '.tanuki') },
    })
    try {
      const chunks: string[] = []
      const result = await agent.run({
        prompt: 'Create FILE.txt',
        task,
        iteration: 1,
        signal: new AbortController().signal,
        onOutput: (chunk) => chunks.push(chunk.text),
      })
      expect(agent.workspace).not.toBe(root)
      expect(await readFile(join(agent.workspace!, 'FILE.txt'), 'utf8')).toBe('from-claude\n')
      expect(result.output).toContain('FILE_DONE')
      expect(result.error).toBeUndefined()
      expect(result.usage?.turns).toBe(2)
      expect(chunks.join('')).toContain('"type":"result"')
      expect((await agent.exec('test -f FILE.txt')).exitCode).toBe(0)
    } finally {
      await agent.remove()
    }
  })

  it('a run stopped before its result carries what its answers so far cost, as an estimate', async () => {
    // One paid answer (a million input tokens: $3 at claude-sonnet-4-5's list price), then a
    // command that outlasts the iteration: it is stopped, and Claude Code never reports its bill.
    api = await startFakeAnthropic((_request, { mainLoop }) =>
      mainLoop
        ? {
            content: [{ type: 'tool_use', name: 'Bash', input: { command: 'sleep 60', description: 'wait' } }],
            usage: { input_tokens: 1_000_000, output_tokens: 100 },
          }
        : undefined,
    )
    const backend = createProcessBackend({
      bin: claudeBin,
      inheritEnv: false,
      env: { ...claudeEnv({ baseUrl: api.url, home }), PATH: process.env.PATH ?? '/usr/bin:/bin' },
    })
    const agent = await backend.spawn({
      name: 'backend-1',
      role: 'backend',
      options: { workspace: 'shared', model: 'claude-sonnet-4-5' },
      project: { root, name: 'demo', stateDir: join(root, '.tanuki') },
    })
    const controller = new AbortController()
    try {
      const error = await agent
        .run({
          prompt: 'Create FILE.txt',
          task,
          iteration: 1,
          signal: controller.signal,
          onOutput: (chunk) => {
            if (chunk.text.includes('"tool_use"')) controller.abort('iteration timeout')
          },
        })
        .catch((rejected: unknown) => rejected)
      expect(isTanukiError(error, 'TANUKI_ABORTED')).toBe(true)
      const usage = usageOfError(error)
      expect(usage).toMatchObject({ estimated: true, turns: 1 })
      expect(usage?.inputTokens).toBeGreaterThanOrEqual(1_000_000)
      expect(usage?.costUsd).toBeGreaterThan(3)
      expect(usage?.costUsd).toBeLessThan(3.1)
    } finally {
      await agent.remove()
    }
  })

  it('is stopped at its second retry of a refused key, not after minutes of retries', async () => {
    api = await startFakeAnthropic((_request, { mainLoop }) =>
      mainLoop ? { status: 401, error: { type: 'authentication_error', message: 'invalid x-api-key' } } : undefined,
    )
    // As people run it: Claude Code's own retries left at their default (ten, backing off to 32 s),
    // which it spends on a 401 too, printing a `system/api_retry` event before each.
    const { CLAUDE_CODE_MAX_RETRIES: _retries, ...env } = claudeEnv({ baseUrl: api.url, home })
    const backend = createProcessBackend({
      bin: claudeBin,
      inheritEnv: false,
      env: { ...env, PATH: process.env.PATH ?? '/usr/bin:/bin' },
    })
    const agent = await backend.spawn({
      name: 'backend-1',
      role: 'backend',
      options: { workspace: 'shared' },
      project: { root, name: 'demo', stateDir: join(root, '.tanuki') },
    })
    try {
      const result = await agent.run({
        prompt: 'Create FILE.txt',
        task,
        iteration: 1,
        signal: new AbortController().signal,
      })
      expect(result.failure).toMatchObject({ class: 'could-not-start', config: true })
      expect(result.failure?.cause).toContain('ANTHROPIC_API_KEY')
      expect(result.failure?.cause).toContain('401')
      // The first refusal, the retry in which a login would refresh its token, and at most the
      // one already on its way: not ten.
      expect(api.requests.filter((request) => request.status === 401).length).toBeLessThanOrEqual(3)
    } finally {
      await agent.remove()
    }
  })
})

describe('claude kind: when a refused key stops the run', () => {
  const retry = (attempt: number): string =>
    `${JSON.stringify({ type: 'system', subtype: 'api_retry', attempt, error_status: 401, error: 'authentication_failed' })}\n`

  it('lets the first retry by, in which Claude Code refreshes a login, and stops at the second', () => {
    const parser = createClaudeParser()
    parser.push({ stream: 'stdout', text: retry(1) })
    expect(parser.shouldStop?.()).toBe(false)
    parser.push({ stream: 'stdout', text: retry(2) })
    expect(parser.shouldStop?.()).toBe(true)
    parser.end(null)
    expect(parser.result().failure).toMatchObject({ class: 'could-not-start', config: true })
  })

  it('counts only the retries since the last answer: a refusal the login refresh got past is over', () => {
    const parser = createClaudeParser()
    const answer = (id: string): string =>
      `${JSON.stringify({
        type: 'assistant',
        parent_tool_use_id: null,
        message: {
          id,
          model: 'claude-sonnet-4-5',
          content: [{ type: 'text', text: 'Working.' }],
          usage: { input_tokens: 1000, output_tokens: 1 },
        },
      })}\n`
    parser.push({ stream: 'stdout', text: retry(1) + answer('msg_1') + retry(1) })
    expect(parser.shouldStop?.()).toBe(false)
    parser.push({ stream: 'stdout', text: answer('msg_2') })
    parser.push({ stream: 'stderr', text: 'Killed\n' })
    parser.end(null)
    const result = parser.result()
    expect(result.failure).toEqual({ class: 'agent-error', cause: 'Claude Code was killed before it finished: Killed' })
    // The two answers it got are spent: an estimate, since no result came.
    expect(result.usage).toMatchObject({ estimated: true, inputTokens: 2000, turns: 2 })
  })
})
