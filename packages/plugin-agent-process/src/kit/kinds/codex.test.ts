import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { taskFromFields, type RunResult, type Task } from '@tanuki/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  DEFAULT_USAGE,
  FAKE_MODEL,
  codexBin,
  codexEnv,
  contentText,
  invalidKeyReply,
  rateLimitReply,
  startFakeOpenAI,
  taskScript,
  usageLimitReply,
  userText,
  writeCodexHome,
  type FakeOpenAI,
  type FakeScript,
} from '../../../../../test/support/fake-openai.ts'
import { createProcessBackend } from '../../backend.ts'
import { CODEX_CREDENTIAL, codexArgv, codexLimitReset, createCodexKind, createCodexParser } from './codex.ts'
import { createKind, kindAccount, kindSpend } from './index.ts'
import type { IterationPlan, KindOptions, OutputParser } from './types.ts'

// Recorded from the real Codex CLI (test/fixtures/record-codex.mts), except codex-schema-items.jsonl,
// written from the `codex exec --json` schema for items the stand-in cannot make Codex produce.
const fixture = (name: string): Promise<string> =>
  readFile(new URL(`../../../test/fixtures/${name}`, import.meta.url), 'utf8')

function parseInPieces(parser: OutputParser, text: string, size: number, exitCode: number | null): RunResult {
  for (let at = 0; at < text.length; at += size) parser.push({ stream: 'stdout', text: text.slice(at, at + size) })
  parser.end(exitCode)
  return parser.result()
}

function threadOf(text: string): string {
  return (JSON.parse(text.split('\n')[0]!) as { thread_id: string }).thread_id
}

const task: Task = taskFromFields(
  { id: 'TASK-001', title: 'Create FILE.txt', role: 'backend', completion: { signal: 'FILE_DONE' } },
  'Create FILE.txt',
  'TASK-001.md',
)

describe('codex JSONL parser (recorded from the real CLI)', () => {
  it('takes the last agent message as the output, with thread id and usage, whatever the chunks', async () => {
    const text = await fixture('codex-success.jsonl')
    const whole = parseInPieces(createCodexParser(), text, text.length, 0)
    // Two model calls in one turn, each reporting the stand-in's fixed usage; cached input is
    // part of OpenAI's input_tokens.
    const input = 2 * DEFAULT_USAGE.input_tokens
    const cached = 2 * DEFAULT_USAGE.cached_tokens
    expect(whole).toEqual({
      output: 'Created FILE.txt. FILE_DONE',
      exitCode: 0,
      sessionId: threadOf(text),
      usage: { turns: 1, inputTokens: input - cached, cacheReadTokens: cached, outputTokens: 2 * 60 },
    })
    for (const size of [1, 3, 50, 511]) expect(parseInPieces(createCodexParser(), text, size, 0)).toEqual(whole)
  })

  it('works out the cost from the tokens with a price, cached input at its own price or at the input price', async () => {
    const text = await fixture('codex-success.jsonl')
    const input = 2 * (DEFAULT_USAGE.input_tokens - DEFAULT_USAGE.cached_tokens)
    const cached = 2 * DEFAULT_USAGE.cached_tokens
    const output = 2 * DEFAULT_USAGE.output_tokens
    const priced = parseInPieces(
      createCodexParser({ price: { input: 1.25, cachedInput: 0.125, output: 10 } }),
      text,
      97,
      0,
    )
    expect(priced.usage?.costUsd).toBeCloseTo((input * 1.25 + cached * 0.125 + output * 10) / 1e6, 12)
    const flat = parseInPieces(createCodexParser({ price: { input: 2, output: 8 } }), text, text.length, 0)
    expect(flat.usage?.costUsd).toBeCloseTo(((input + cached) * 2 + output * 8) / 1e6, 12)
    // Without a price, no dollars: Codex reports none.
    expect(parseInPieces(createCodexParser(), text, text.length, 0).usage).not.toHaveProperty('costUsd')
  })

  it('lists a failed command as a tool error, and the run did not fail for it', async () => {
    const result = parseInPieces(createCodexParser(), await fixture('codex-tool-error.jsonl'), 64, 0)
    expect(result.toolErrors).toEqual([
      "/bin/bash -lc 'cat missing.txt' (exit code 1): cat: missing.txt: No such file or directory",
    ])
    expect(result.error).toBeUndefined()
    expect(result.failure).toBeUndefined()
    expect(result.output).toBe('The file is missing.')
  })

  it('lists failed MCP calls and file changes, and takes error items for the warnings they are', async () => {
    const result = parseInPieces(createCodexParser(), await fixture('codex-schema-items.jsonl'), 64, 0)
    expect(result.toolErrors).toEqual([
      "bash -lc 'cat missing.txt' (exit code 1): cat: missing.txt: No such file or directory",
      'docs.search: tool call timed out',
      'file change failed: /work/project/FILE.txt',
    ])
    expect(result.error).toBeUndefined()
    expect(result.failure).toBeUndefined()
  })

  it('classifies a refused key as the role configuration, naming the variable to fix', async () => {
    const text = await fixture('codex-unauthorized.jsonl')
    const result = parseInPieces(createCodexParser(), text, 17, 1)
    expect(result.error).toMatch(/^Codex turn failed: unexpected status 401 Unauthorized: Incorrect API key provided/)
    expect(result.output).toBe('')
    expect(result.sessionId).toBe(threadOf(text))
    expect(result.failure).toEqual({
      class: 'could-not-start',
      config: true,
      cause:
        'authentication refused (401): unexpected status 401 Unauthorized: Incorrect API key provided: sk-fake***. ' +
        'You can find your API key at https://platform.openai.com/account/api-keys. Check CODEX_API_KEY (or `codex login`) for this role',
    })
    // A provider of one's own reads its key from its env_key: the cause names that variable.
    const own = parseInPieces(createCodexParser({ credential: 'OPENAI_API_KEY' }), text, 17, 1)
    expect(own.failure?.cause).toMatch(/Check OPENAI_API_KEY for this role$/)
  })

  it('classifies a missing key as the role configuration, naming the variable Codex looked for', async () => {
    const result = parseInPieces(createCodexParser(), await fixture('codex-missing-key.jsonl'), 40, 1)
    expect(result.failure).toEqual({
      class: 'could-not-start',
      config: true,
      cause: 'Codex found no OPENAI_API_KEY in its environment: set it for this role (the key of its model provider)',
    })
  })

  it('classifies a 429 Codex gave up retrying as rate-limited (Codex keeps no reset time from it)', async () => {
    const result = parseInPieces(createCodexParser(), await fixture('codex-rate-limit.jsonl'), 30, 1)
    expect(result.failure).toEqual({
      class: 'rate-limited',
      cause: 'exceeded retry limit, last status: 429 Too Many Requests',
    })
  })

  it('classifies a limit reported in the stream as rate-limited, with the wait it names', async () => {
    const result = parseInPieces(createCodexParser(), await fixture('codex-stream-rate-limit.jsonl'), 30, 1)
    expect(result.failure).toMatchObject({ class: 'rate-limited', retryAfterMs: 1400 })
    expect(result.failure?.cause).toMatch(/^rate limit exceeded: Rate limit reached for gpt-5.5/)
  })

  it('classifies a usage limit as rate-limited, resetting when Codex says (a local time of day)', async () => {
    const text = await fixture('codex-usage-limit.jsonl')
    const [, hours, minutes, half] = /try again at (\d{1,2}):(\d{2}) ([AP]M)/.exec(text)!
    const now = Date.now()
    const result = parseInPieces(createCodexParser({ now: () => now }), text, 30, 1)
    expect(result.failure).toMatchObject({ class: 'rate-limited' })
    expect(result.failure?.cause).toMatch(/^You’ve hit your usage limit\./)
    const reset = new Date(result.failure!.resetAt!)
    // The end of the minute Codex names, the next time the clock shows it.
    expect([reset.getHours(), reset.getMinutes() - 1]).toEqual([
      (Number(hours) % 12) + (half === 'PM' ? 12 : 0),
      Number(minutes),
    ])
    expect(reset.getTime()).toBeGreaterThan(now)
    expect(reset.getTime()).toBeLessThanOrEqual(now + 24 * 3600_000 + 60_000)
  })

  it('classifies a CLI that dies before any event as one that could not start, with its stderr', () => {
    const parser = createCodexParser()
    parser.push({ stream: 'stderr', text: 'Error loading config.toml: unknown configuration field `bogus`\n' })
    parser.end(1)
    expect(parser.result()).toEqual({
      output: '',
      exitCode: 1,
      error: 'Codex exited with code 1: Error loading config.toml: unknown configuration field `bogus`',
      failure: {
        class: 'could-not-start',
        config: true,
        cause: 'Codex did not start (exit 1): Error loading config.toml: unknown configuration field `bogus`',
      },
    })
  })

  it('classifies by what ended the run, not a 429 it retried and got past', async () => {
    // Recorded: a 429 Codex retried ("Reconnecting... 1/2 (… 429 …)"), then work went on. The run
    // dies mid-turn for another reason: that is no rate limit, to be parked for and not counted.
    const text = await fixture('codex-retried-limit.jsonl')
    expect(text).toMatch(/"type":"error","message":"Reconnecting\.\.\. 1\/2 \(.*429/)
    const cut = text.slice(0, text.indexOf('{"type":"item.completed","item":{"id":"item_2"'))
    const parser = createCodexParser()
    parser.push({ stream: 'stdout', text: cut })
    parser.push({ stream: 'stderr', text: 'Error: stdout closed\n' })
    parser.end(1)
    expect(parser.result().failure).toEqual({
      class: 'agent-error',
      cause: 'Codex exited with code 1: Error: stdout closed',
    })
  })

  it('calls its own failure an agent error: exit 0 without finishing a turn', () => {
    const parser = createCodexParser()
    parser.push({
      stream: 'stdout',
      text: '{"type":"thread.started","thread_id":"t1"}\n{"type":"error","message":"stream closed"}',
    })
    parser.end(0)
    expect(parser.result().failure).toEqual({
      class: 'agent-error',
      cause: 'Codex ended without finishing a turn: stream closed',
    })
  })
})

describe('codexLimitReset', () => {
  const now = new Date(2026, 10, 29, 10, 0, 30).getTime()

  it('reads waits as OpenAI words them', () => {
    expect(codexLimitReset('Please try again in 20s.', now)).toEqual({ retryAfterMs: 20_000 })
    expect(codexLimitReset('Please try again in 1m30.5s. Visit …', now)).toEqual({ retryAfterMs: 90_500 })
    expect(codexLimitReset('Please try again in 6ms.', now)).toEqual({ retryAfterMs: 6 })
    expect(codexLimitReset('try again in 2 minutes', now)).toEqual({ retryAfterMs: 120_000 })
    expect(codexLimitReset('rate limited', now)).toEqual({})
  })

  it('reads Codex usage-limit resets, a time of day or a date, as local time', () => {
    expect(codexLimitReset('or try again at 3:45 PM.', now)).toEqual({
      resetAt: new Date(2026, 10, 29, 15, 46).getTime(),
    })
    // Earlier than now on the clock: tomorrow.
    expect(codexLimitReset('or try again at 9:15 AM.', now)).toEqual({
      resetAt: new Date(2026, 10, 30, 9, 16).getTime(),
    })
    expect(codexLimitReset('or try again at 12:05 AM.', now)).toEqual({
      resetAt: new Date(2026, 10, 30, 0, 6).getTime(),
    })
    expect(codexLimitReset('or try again at Dec 1st, 2026 5:42 PM.', now)).toEqual({
      resetAt: new Date(2026, 11, 1, 17, 43).getTime(),
    })
  })
})

describe('codex argv', () => {
  it('runs codex exec --json unattended with the prompt on stdin', () => {
    const kind = createCodexKind({
      model: 'gpt-5-codex',
      systemPrompt: 'You are "qa".\nBe brief.',
      extraArgs: ['-c', 'model_reasoning_effort="high"'],
      env: { OPENAI_API_KEY: 'k' },
    })
    const { steps } = kind.plan({ prompt: 'Create FILE.txt', task })
    expect(steps).toEqual([
      {
        argv: [
          'codex',
          'exec',
          '--json',
          '--skip-git-repo-check',
          '--dangerously-bypass-approvals-and-sandbox',
          '--model',
          'gpt-5-codex',
          '-c',
          'developer_instructions="You are \\"qa\\".\\nBe brief."',
          '-c',
          'model_reasoning_effort="high"',
          '-',
        ],
        stdin: 'Create FILE.txt',
        env: { OPENAI_API_KEY: 'k' },
        label: 'codex exec',
      },
    ])
  })

  it('leaves the sandbox to extraArgs when they choose one', () => {
    const argv = codexArgv({ bin: '/usr/local/bin/codex', extraArgs: ['--sandbox', 'workspace-write'] })
    expect(argv[0]).toBe('/usr/local/bin/codex')
    expect(argv).not.toContain('--dangerously-bypass-approvals-and-sandbox')
  })

  it('spends CODEX_API_KEY unless the role names its provider’s variable: that is its account', () => {
    expect(createCodexKind().credential).toBe(CODEX_CREDENTIAL)
    expect(kindAccount({}, createCodexKind())).toBe('codex:CODEX_API_KEY')
    const own = createCodexKind({ credentialEnv: 'AZURE_OPENAI_API_KEY' })
    expect(own.credential).toBe('AZURE_OPENAI_API_KEY')
    expect(kindAccount({}, own)).toBe('codex:AZURE_OPENAI_API_KEY')
    // The other kinds: Claude Code's key, and none for kinds that spend no key (the agent's name then).
    expect(kindAccount({}, createKind({ kind: 'claude' }))).toBe('claude:ANTHROPIC_API_KEY')
    expect(kindAccount({}, createKind({ kind: 'shell' }))).toBeUndefined()
  })

  it('takes a price for codex, each figure dollars per million tokens, naming what is wrong; other kinds ignore it', () => {
    expect(() => createKind({ kind: 'codex', price: { input: 1.25, cachedInput: 0.125, output: 10 } })).not.toThrow()
    expect(() => createKind({ kind: 'codex', price: { input: 0, output: 0 } })).not.toThrow()
    const refusal = (options: Record<string, unknown>): string => {
      try {
        createKind(options as KindOptions)
      } catch (error) {
        return (error as Error).message
      }
      return 'accepted'
    }
    // From `defaults`, a price reaches every role: the kinds that do not use it ignore it, as they
    // ignore `credentialEnv`. A misspelt kind is still named as such.
    expect(refusal({ price: { input: 3, output: 15 } })).toBe('accepted')
    expect(refusal({ kind: 'shell', price: 'free' })).toBe('accepted')
    expect(refusal({ kind: 'codx', price: { input: 3, output: 15 } })).toMatch(
      /^"kind" is "codx", not an agent kind \(did you mean "codex"\?\)/,
    )
    expect(refusal({ kind: 'codex', price: 3 })).toBe(
      '"price" must be USD per million tokens: { input, output, cachedInput? }, got 3',
    )
    expect(refusal({ kind: 'codex', price: { inptu: 3, output: 15 } })).toBe(
      '"price.inptu" is not a price (did you mean "input"?); use input, output or cachedInput, got 3',
    )
    expect(refusal({ kind: 'codex', price: { input: -1, output: 15 } })).toBe(
      '"price.input" must be a number of dollars per million tokens, 0 or more, got -1',
    )
    expect(refusal({ kind: 'codex', price: { input: '3', output: 15 } })).toMatch(/^"price.input" must be a number/)
    expect(refusal({ kind: 'codex', price: { input: 3 } })).toMatch(/^"price.output" is missing/)
  })

  it('says what each kind reports of its spend: dollars, tokens only, or nothing', () => {
    expect(kindSpend({})).toBe('usd')
    expect(kindSpend({ kind: 'codex' })).toBe('tokens')
    expect(kindSpend({ kind: 'codex', price: { input: 1, output: 2 } })).toBe('usd')
    expect(kindSpend({ kind: 'shell' })).toBeUndefined()
    expect(kindSpend({ kind: 'command', command: ['aider'] })).toBeUndefined()
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

describe('codex kind with the real Codex CLI', { timeout: 120_000 }, () => {
  let api: FakeOpenAI | undefined
  let base: string
  let cwd: string
  let home: string
  let codexHome: string

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'tanuki-codex-'))
    cwd = join(base, 'work')
    home = join(base, 'home')
    codexHome = join(base, 'codex-home')
    for (const dir of [cwd, home, codexHome]) await mkdir(dir)
  })
  afterEach(async () => {
    await api?.close()
    api = undefined
    await rm(base, { recursive: true, force: true })
  })

  /** The role's provider reads OPENAI_API_KEY (its env_key), so the role says so. */
  async function run(
    script: FakeScript,
    options: KindOptions = {},
    env: Parameters<typeof codexEnv>[0]['key'] = undefined,
  ): Promise<RunResult> {
    api = await startFakeOpenAI(script)
    await writeCodexHome(codexHome, { baseUrl: api.url })
    const plan = createCodexKind({ bin: codexBin, credentialEnv: 'OPENAI_API_KEY', ...options }).plan({
      prompt: 'Create FILE.txt',
      task,
    })
    return runPlanHere(plan, cwd, {
      ...codexEnv({ home, codexHome, ...(env === undefined ? {} : { key: env }) }),
      PATH: process.env.PATH ?? '/usr/bin:/bin',
    })
  }

  it('creates the file with its shell tool and reports the signal, thread, turns and usage', async () => {
    const result = await run(
      taskScript({ command: 'printf "made by codex" > FILE.txt', finalText: 'FILE.txt is there. FILE_DONE' }),
      { model: FAKE_MODEL, systemPrompt: 'ROLE-PROMPT: you are the backend engineer.' },
    )

    expect(await readFile(join(cwd, 'FILE.txt'), 'utf8')).toBe('made by codex')
    expect(result.output).toBe('FILE.txt is there. FILE_DONE')
    expect(result.error).toBeUndefined()
    expect(result.failure).toBeUndefined()
    expect(result.exitCode).toBe(0)
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/)
    expect(result.usage).toEqual({
      turns: 1,
      inputTokens: 2 * (DEFAULT_USAGE.input_tokens - DEFAULT_USAGE.cached_tokens),
      cacheReadTokens: 2 * DEFAULT_USAGE.cached_tokens,
      outputTokens: 2 * DEFAULT_USAGE.output_tokens,
    })

    // The options reached the model API: model, prompt, role prompt; the key went as a bearer token.
    const [first, second] = api!.responsesRequests()
    expect(first!.model).toBe(FAKE_MODEL)
    expect(first!.stream).toBe(true)
    expect(userText(first!)).toContain('Create FILE.txt')
    expect(JSON.stringify(first!.input)).toContain('ROLE-PROMPT: you are the backend engineer.')
    expect(first!.tools!.map((tool) => tool.name)).toContain('exec_command')
    expect(api!.requests[0]!.headers.authorization).toBe('Bearer sk-fake-key')
    // The second request carries the command's output back.
    const output = second!.input.find((item) => item.type === 'function_call_output')
    expect(contentText(output?.output)).toContain('Process exited with code 0')
  })

  it('reports a failing command in toolErrors', async () => {
    const result = await run(taskScript({ command: 'cat missing.txt', finalText: (output) => `saw: ${output}` }))
    expect(result.toolErrors).toEqual([
      "/bin/bash -lc 'cat missing.txt' (exit code 1): cat: missing.txt: No such file or directory",
    ])
    expect(result.output).toContain('Process exited with code 1')
    expect(result.failure).toBeUndefined()
    expect(existsSync(join(cwd, 'missing.txt'))).toBe(false)
  })

  it('classifies a 429 with retry-after as rate-limited', async () => {
    const result = await run(() => rateLimitReply(20))
    expect(result.failure).toEqual({ class: 'rate-limited', cause: expect.stringContaining('429 Too Many Requests') })
    expect(result.exitCode).toBe(1)
    expect(api!.requests.map((request) => request.status)).toEqual([429])
  })

  it('classifies a usage limit as rate-limited with its reset time', async () => {
    const resets = new Date(Date.now() + 2 * 3600_000)
    const result = await run(() => usageLimitReply(resets))
    expect(result.failure).toMatchObject({ class: 'rate-limited' })
    // Codex says the minute; Tanuki waits for that minute to end.
    const lag = result.failure!.resetAt! - resets.getTime()
    expect(lag).toBeGreaterThan(0)
    expect(lag).toBeLessThanOrEqual(60_000)
  })

  it('classifies a limit reported in the stream as rate-limited, with the wait it names', async () => {
    const result = await run(() => ({
      failed: {
        code: 'rate_limit_exceeded',
        message: 'Rate limit reached on tokens per min. Please try again in 2.5s.',
      },
    }))
    expect(result.failure).toMatchObject({ class: 'rate-limited', retryAfterMs: 2500 })
  })

  it('classifies a 401 as the role configuration, naming the credential variable', async () => {
    const result = await run(() => invalidKeyReply())
    expect(result.failure).toMatchObject({ class: 'could-not-start', config: true })
    expect(result.failure?.cause).toContain('authentication refused (401)')
    expect(result.failure?.cause).toContain('Check OPENAI_API_KEY for this role')
    expect(result.failure?.cause).not.toContain('request id')
  })

  it('parks on an API that is overloaded or failing (5xx), instead of failing the try', async () => {
    const result = await run(() => ({ status: 503, error: { message: 'Service unavailable', type: 'server_error' } }))
    expect(result.failure).toMatchObject({ class: 'rate-limited', outage: true })
    expect(result.failure?.cause).toContain('503')
  })

  it('classifies a model the API does not know as the role configuration, naming the option', async () => {
    const result = await run(() => ({
      status: 404,
      error: {
        message: 'The model `gpt-9` does not exist or you do not have access to it.',
        type: 'invalid_request_error',
        code: 'model_not_found',
      },
    }))
    expect(result.failure).toMatchObject({ class: 'could-not-start', config: true })
    expect(result.failure?.cause).toContain('gpt-9')
    expect(result.failure?.cause).toMatch(/`model`/)
  })

  it('classifies a key that is not set, before any call, as the role configuration', async () => {
    const result = await run(() => undefined, {}, false)
    expect(result.failure).toMatchObject({ class: 'could-not-start', config: true })
    expect(result.failure?.cause).toContain('no OPENAI_API_KEY')
    expect(api!.requests).toEqual([])
  })

  it('classifies a flag Codex refuses as the role configuration', async () => {
    const result = await run(() => undefined, { extraArgs: ['--no-such-flag'] })
    expect(result.exitCode).toBe(2)
    expect(result.failure).toMatchObject({ class: 'could-not-start', config: true })
    expect(result.failure?.cause).toContain("unexpected argument '--no-such-flag'")
  })
})

describe('codex kind through the process backend', { timeout: 120_000 }, () => {
  let api: FakeOpenAI | undefined
  let base: string

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'tanuki-codex-project-'))
  })
  afterEach(async () => {
    await api?.close()
    api = undefined
    await rm(base, { recursive: true, force: true })
  })

  it('runs Codex in the agent worktree, where verify then finds the file', async () => {
    const root = join(base, 'project')
    const home = join(base, 'home')
    const codexHome = join(base, 'codex-home')
    for (const dir of [root, home, codexHome]) await mkdir(dir)
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

    api = await startFakeOpenAI(taskScript({ command: 'echo from-codex > FILE.txt', finalText: 'Done. FILE_DONE' }))
    await writeCodexHome(codexHome, { baseUrl: api.url })
    const backend = createProcessBackend({
      bin: codexBin,
      inheritEnv: false,
      env: { ...codexEnv({ home, codexHome }), PATH: process.env.PATH ?? '/usr/bin:/bin' },
    })
    const agent = await backend.spawn({
      name: 'backend-1',
      role: 'backend',
      // A price in the role's options: the run's usage carries dollars, which budgets count.
      options: { kind: 'codex', credentialEnv: 'OPENAI_API_KEY', price: { input: 3, output: 15 } },
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
      // Agents on the same key share an account: they park together on its limits.
      expect(agent.account).toBe('codex:OPENAI_API_KEY')
      expect(await readFile(join(agent.workspace!, 'FILE.txt'), 'utf8')).toBe('from-codex\n')
      expect(result.output).toBe('Done. FILE_DONE')
      expect(result.failure).toBeUndefined()
      expect(result.usage?.turns).toBe(1)
      const tokens = result.usage!
      expect(tokens.outputTokens).toBeGreaterThan(0)
      expect(tokens.costUsd).toBeCloseTo(
        ((tokens.inputTokens! + tokens.cacheReadTokens!) * 3 + tokens.outputTokens! * 15) / 1e6,
        12,
      )
      expect(chunks.join('')).toContain('"type":"turn.completed"')
      expect((await agent.exec('test -f FILE.txt')).exitCode).toBe(0)
    } finally {
      await agent.remove()
    }
  })
})
