import type { AgentFailure, RunResult, Usage } from '@tanuki/core'
import { arr, createJsonLinesParser, isObject, num, obj, str, tail, type JsonObject } from './json-lines.ts'
import type { AgentKind, KindOptions, OutputParser, Step } from './types.ts'

/** Flags by which a person chose a permission mode of their own in `extraArgs`. */
const PERMISSION_FLAGS = new Set(['--dangerously-skip-permissions', '--permission-mode'])

/** Tool errors can carry whole files or logs; keep each one readable in a status line. */
const MAX_TOOL_ERROR_CHARS = 2000

/**
 * The argv of one Claude Code run: print mode, stream-json (which needs `--verbose`), and no
 * permission prompts, since nobody is there to answer them. The prompt goes on stdin.
 */
export function claudeArgv(options: KindOptions, budget?: { usd?: number }): string[] {
  const extra = options.extraArgs ?? []
  const argv = [options.bin ?? 'claude', '-p']
  // Tool lists are variadic options: they come before any other flag, which ends them.
  if (options.allowedTools?.length) argv.push('--allowedTools', options.allowedTools.join(','))
  if (options.disallowedTools?.length) argv.push('--disallowedTools', options.disallowedTools.join(','))
  argv.push('--output-format', 'stream-json', '--verbose')
  if (!extra.some((arg) => PERMISSION_FLAGS.has(arg.split('=')[0]!))) argv.push('--dangerously-skip-permissions')
  if (options.systemPrompt) argv.push('--append-system-prompt', options.systemPrompt)
  if (options.model) argv.push('--model', options.model)
  if (options.maxTurns !== undefined) argv.push('--max-turns', String(options.maxTurns))
  // What the iteration may spend, reserved from its budgets: Claude Code stops itself there.
  if (budget?.usd !== undefined) argv.push('--max-budget-usd', budget.usd.toFixed(4))
  return [...argv, ...extra]
}

/**
 * Claude Code refuses `--dangerously-skip-permissions` as root unless told it runs in a sandbox.
 * Tanuki runs agents unattended in their own workspace, so as root we say so; as anyone else the
 * variable changes Claude Code's behaviour in other ways, so it is left alone.
 */
function claudeStepEnv(options: KindOptions): Record<string, string> | undefined {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0
  const env: Record<string, string> = {}
  if (asRoot && process.env.IS_SANDBOX === undefined) env.IS_SANDBOX = '1'
  Object.assign(env, options.env)
  return Object.keys(env).length > 0 ? env : undefined
}

/**
 * Claude Code (`claude -p … --output-format stream-json --verbose`): one step per iteration, its
 * events parsed into the final answer, session, usage, cost and tool errors.
 *
 * @example
 * const kind = createClaudeKind({ model: 'sonnet', maxTurns: 30, systemPrompt: 'You are the backend engineer.' })
 * const { steps, parser } = kind.plan({ prompt, task })
 */
export function createClaudeKind(options: KindOptions = {}): AgentKind {
  return {
    name: 'claude',
    credential: CLAUDE_CREDENTIAL,
    plan({ prompt, budget }) {
      const step: Step = { argv: claudeArgv(options, budget), stdin: prompt, label: 'claude -p' }
      const env = claudeStepEnv(options)
      if (env) step.env = env
      return { steps: [step], parser: createClaudeParser() }
    },
  }
}

/** What a `result` event says, the fields Tanuki uses. */
interface ResultEvent {
  text?: string
  isError: boolean
  subtype?: string
  errors: string[]
  apiErrorStatus?: number
  usage?: Usage
  sessionId?: string
}

/** Assistant texts kept for the output of a run that ends without a result. */
const MAX_TEXTS = 200

/**
 * Parses Claude Code's stream-json: `system/init` (session), `assistant` messages (text and tool
 * calls), `user` messages (tool results, some with `is_error`) and the closing `result` event
 * (final text, turns, usage, cost, and whether the run failed).
 */
export function createClaudeParser(): OutputParser {
  let sessionId: string | undefined
  /** The last MAX_TEXTS texts, in a ring: dropping the oldest by `splice` moved all the others. */
  const texts: string[] = []
  let nextText = 0
  const toolNames = new Map<string, string>()
  const toolErrors: string[] = []
  let result: ResultEvent | undefined
  /**
   * The error the main thread's last assistant message carried (`rate_limit`,
   * `authentication_failed`…): only the error a run ended on says what ended it. An earlier one
   * Claude Code got past, or a subagent's (whose failure its parent is told of and carries on
   * after), says nothing of how the run ended.
   */
  let assistantError: string | undefined
  /** What each model call billed, by message id: the run's spend if it ends without a result. */
  const calls = new Map<string, CallUsage>()
  /**
   * The status of a refused key Claude Code is retrying (`system/api_retry`): by default it tries
   * ten times, backing off to 32 s, minutes in which no key gets better. The run is stopped at the
   * second such retry: Claude Code refreshes a logged-in (OAuth) token on the attempt after the
   * first, which may well get through.
   */
  let refusedKey: number | undefined
  let refusedRetries = 0

  const onEvent = (event: JsonObject): void => {
    sessionId = str(event, 'session_id') ?? sessionId
    const type = str(event, 'type')
    if (type === 'assistant') {
      const message = obj(event, 'message')
      if (!str(event, 'parent_tool_use_id')) assistantError = str(event, 'error')
      // An answer came: the request Claude Code retried got through.
      if (str(message, 'model') !== SYNTHETIC) refusedRetries = 0
      countCall(calls, message)
      for (const block of arr(message, 'content')) {
        if (str(block, 'type') === 'text') {
          // Only the last texts make the output when no result comes: an agent that talks for
          // hours need not be held in memory whole (the log has all of it).
          texts[nextText] = str(block, 'text') ?? ''
          nextText = (nextText + 1) % MAX_TEXTS
        }
        const id = str(block, 'id')
        if (str(block, 'type') === 'tool_use' && id) toolNames.set(id, str(block, 'name') ?? 'tool')
      }
    } else if (type === 'user') {
      for (const block of arr(obj(event, 'message'), 'content')) {
        if (str(block, 'type') !== 'tool_result' || !isObject(block) || block.is_error !== true) continue
        const name = toolNames.get(str(block, 'tool_use_id') ?? '') ?? 'tool'
        toolErrors.push(`${name}: ${toolResultText(block.content)}`.slice(0, MAX_TOOL_ERROR_CHARS))
      }
    } else if (type === 'result') {
      result = parseResult(event)
    } else if (type === 'system' && str(event, 'subtype') === 'api_retry') {
      const status = num(event, 'error_status')
      if (status === 401 || status === 403 || str(event, 'error') === 'authentication_failed') {
        refusedKey = status ?? 401
        refusedRetries++
      }
    }
  }
  const parser = createJsonLinesParser(onEvent, ({ exitCode, stderr, strayLines }) => {
    const run: RunResult = {
      output: result?.text ?? [...texts.slice(nextText), ...texts.slice(0, nextText)].join('\n'),
    }
    if (exitCode !== undefined) run.exitCode = exitCode
    const said = stderr || strayLines.join('\n')
    const stopped = result || refusedRetries < 2 ? undefined : refusedKey
    const error =
      stopped === undefined
        ? describeError(result, exitCode, said)
        : `Claude Code was stopped while it retried a refused key (API status ${stopped})`
    if (error) run.error = error
    const failure =
      stopped === undefined
        ? classifyClaude(result, assistantError, exitCode, said, error)
        : refusedCredentials(stopped, 'the API refused the key')
    if (failure) run.failure = failure
    // Without a result (killed, cut off, stopped), the answers so far are the best account of the spend.
    const usage = result?.usage ?? estimateUsage(calls.values())
    if (usage) run.usage = usage
    const session = result?.sessionId ?? sessionId
    if (session) run.sessionId = session
    if (toolErrors.length > 0) run.toolErrors = [...toolErrors]
    return run
  })
  return { ...parser, shouldStop: () => refusedRetries >= 2 && !result }
}

function parseResult(event: JsonObject): ResultEvent {
  const usage = obj(event, 'usage')
  const parsed: ResultEvent = {
    isError: event.is_error === true,
    errors: arr(event, 'errors').filter((error): error is string => typeof error === 'string'),
  }
  const text = str(event, 'result')
  if (text !== undefined) parsed.text = text
  const subtype = str(event, 'subtype')
  if (subtype) parsed.subtype = subtype
  const status = num(event, 'api_error_status')
  if (status !== undefined) parsed.apiErrorStatus = status
  const sessionId = str(event, 'session_id')
  if (sessionId) parsed.sessionId = sessionId
  const figures: Usage = modelUsageTokens(obj(event, 'modelUsage')) ?? {}
  // Anthropic counts fresh, cache-written and cache-read input apart; Tanuki's inputTokens is
  // everything not read from cache, so inputTokens + cacheReadTokens is the whole input.
  const input = num(usage, 'input_tokens')
  if (input !== undefined && figures.inputTokens === undefined)
    figures.inputTokens = input + (num(usage, 'cache_creation_input_tokens') ?? 0)
  const output = num(usage, 'output_tokens')
  if (output !== undefined && figures.outputTokens === undefined) figures.outputTokens = output
  const cacheRead = num(usage, 'cache_read_input_tokens')
  if (cacheRead !== undefined && figures.cacheReadTokens === undefined) figures.cacheReadTokens = cacheRead
  const cost = num(event, 'total_cost_usd')
  if (cost !== undefined) figures.costUsd = cost
  const turns = num(event, 'num_turns')
  if (turns !== undefined) figures.turns = turns
  if (Object.keys(figures).length > 0) parsed.usage = figures
  return parsed
}

/**
 * The tokens of every model the run used (`modelUsage`, the figures its `total_cost_usd` is made
 * of), summed. Preferred to `usage`, which leaves out other models (a subagent's) and is all zeros
 * when the run stopped at `--max-budget-usd`: the tokens that spent the budget would go uncounted.
 */
function modelUsageTokens(models: JsonObject | undefined): Usage | undefined {
  const each = Object.values(models ?? {}).filter(isObject)
  if (each.length === 0) return undefined
  const sum = (key: string): number => each.reduce((total, model) => total + (num(model, key) ?? 0), 0)
  return {
    inputTokens: sum('inputTokens') + sum('cacheCreationInputTokens'),
    outputTokens: sum('outputTokens'),
    cacheReadTokens: sum('cacheReadInputTokens'),
  }
}

/** The model Claude Code names in the messages it makes up itself (an API error's): nothing billed. */
const SYNTHETIC = '<synthetic>'

/** What one model call billed, from the `usage` of the assistant messages that carry its answer. */
interface CallUsage {
  model: string
  input: number
  cacheWrite: number
  cacheRead: number
  output: number
  /** Characters of the answer's text, thinking and tool input: its output tokens, roughly. */
  chars: number
}

/**
 * Counts an assistant message toward the call that answered it. Claude Code prints one message per
 * content block, each with the call's whole input `usage` but the output counted when the answer
 * began (1 token): the output is estimated from the blocks' length instead.
 */
function countCall(calls: Map<string, CallUsage>, message: JsonObject | undefined): void {
  const id = str(message, 'id')
  const model = str(message, 'model')
  const usage = obj(message, 'usage')
  if (!id || !model || model === SYNTHETIC || !usage) return
  const call = calls.get(id) ?? { model, input: 0, cacheWrite: 0, cacheRead: 0, output: 0, chars: 0 }
  call.input = Math.max(call.input, num(usage, 'input_tokens') ?? 0)
  call.cacheWrite = Math.max(call.cacheWrite, num(usage, 'cache_creation_input_tokens') ?? 0)
  call.cacheRead = Math.max(call.cacheRead, num(usage, 'cache_read_input_tokens') ?? 0)
  call.output = Math.max(call.output, num(usage, 'output_tokens') ?? 0)
  for (const block of arr(message, 'content')) {
    const said =
      str(block, 'text') ?? str(block, 'thinking') ?? (isObject(block) ? JSON.stringify(block.input ?? '') : '')
    call.chars += said.length
  }
  calls.set(id, call)
}

/** USD per million tokens of input and output; cache writes cost 1.25 × input, cache reads 0.1 ×. */
interface ClaudePrice {
  input: number
  output: number
}

/**
 * Anthropic's list prices by model, the first that matches: what Claude Code's own cost is made
 * of, for a run that ended before it said. A model not listed is priced as the dearest, so a
 * budget stops too early rather than too late.
 */
const CLAUDE_PRICES: Array<[RegExp, ClaudePrice]> = [
  [/opus-4-[5-9]|opus-[5-9]/, { input: 5, output: 25 }],
  [/opus/, { input: 15, output: 75 }],
  [/haiku-4|haiku-[5-9]/, { input: 1, output: 5 }],
  [/3-5-haiku|haiku-3-5/, { input: 0.8, output: 4 }],
  [/haiku/, { input: 0.25, output: 1.25 }],
  [/sonnet/, { input: 3, output: 15 }],
]
const DEAREST: ClaudePrice = { input: 15, output: 75 }

/** The list price of a model by its name (`claude-sonnet-4-5-20250929`, `claude-opus-4-1`…). */
function claudePrice(model: string): ClaudePrice {
  return CLAUDE_PRICES.find(([pattern]) => pattern.test(model))?.[1] ?? DEAREST
}

/** Characters per output token, on the low side: an estimate of spend should not fall short. */
const CHARS_PER_TOKEN = 3

/**
 * The usage of a run that ended without its result (killed, timed out, stopped), from the calls
 * answered so far, priced by model: marked `estimated`. Input is as the API reported it; output
 * from the answers' length. Undefined when no call was answered.
 */
function estimateUsage(calls: Iterable<CallUsage>): Usage | undefined {
  const usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, costUsd: 0, turns: 0, estimated: true }
  for (const call of calls) {
    const output = Math.max(call.output, Math.ceil(call.chars / CHARS_PER_TOKEN))
    const price = claudePrice(call.model)
    usage.inputTokens += call.input + call.cacheWrite
    usage.cacheReadTokens += call.cacheRead
    usage.outputTokens += output
    usage.costUsd +=
      (call.input * price.input +
        call.cacheWrite * price.input * 1.25 +
        call.cacheRead * price.input * 0.1 +
        output * price.output) /
      1_000_000
    usage.turns++
  }
  return usage.turns > 0 ? usage : undefined
}

const SUBTYPE_MEANING: Record<string, string> = {
  error_max_turns: 'it reached the maximum number of turns (raise maxTurns, or split the task)',
  error_during_execution: 'it failed during execution',
  error_max_budget_usd: 'it reached its budget (--max-budget-usd)',
}

function describeError(
  result: ResultEvent | undefined,
  exitCode: number | null | undefined,
  stderr: string,
): string | undefined {
  if (result && (result.isError || (result.subtype && result.subtype !== 'success'))) {
    const status = result.apiErrorStatus ? ` (API status ${result.apiErrorStatus})` : ''
    const meaning = result.subtype && SUBTYPE_MEANING[result.subtype]
    const detail = [...result.errors, ...(result.isError && result.text ? [result.text] : [])].join('; ')
    const reason = meaning ? `stopped because ${meaning}` : 'reported an error'
    return `Claude Code ${reason}${status}${detail ? `: ${detail}` : ''}`
  }
  if (exitCode === undefined || exitCode === 0) {
    return result || exitCode === undefined ? undefined : 'Claude Code exited without a result event'
  }
  const why = exitCode === null ? 'was killed before it finished' : `exited with code ${exitCode}`
  const detail = tail(stderr)
  return `Claude Code ${why}${detail ? `: ${detail}` : ''}`
}

/** The variable Claude Code reads its key from: the credential people fix when it is refused. */
export const CLAUDE_CREDENTIAL = 'ANTHROPIC_API_KEY'

/**
 * When a rate or usage limit lifts, from what Claude Code says: "usage limit reached|<epoch
 * seconds>" (its usage limits), "try again in N seconds/minutes", or "resets at <time>".
 */
export function limitReset(text: string, now = Date.now()): Pick<AgentFailure, 'resetAt' | 'retryAfterMs'> {
  const epoch = /limit reached\|(\d{9,11})/i.exec(text)
  if (epoch) return { resetAt: Number(epoch[1]) * 1000 }
  const wait =
    /(?:try again|retry) in (\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|sec(?:ond)?s?|m|min(?:ute)?s?|h|hours?)\b/i.exec(text)
  if (wait) {
    const unit = wait[2]!.toLowerCase()
    const factor =
      unit.startsWith('ms') || unit.startsWith('milli')
        ? 1
        : unit.startsWith('h')
          ? 3_600_000
          : unit.startsWith('m')
            ? 60_000
            : 1000
    return { retryAfterMs: Number(wait[1]) * factor }
  }
  const at = /resets? at ([^.;\n]+)/i.exec(text)
  if (at) {
    const when = Date.parse(at[1]!)
    if (Number.isFinite(when) && when > now) return { resetAt: when }
  }
  return {}
}

/**
 * What kind of failure a Claude Code run was: a rate or usage limit (park, don't fail), refused
 * credentials or a refused flag (the role's configuration: pause it), a program that did not
 * start, or Claude Code's own failure.
 */
function classifyClaude(
  result: ResultEvent | undefined,
  assistantError: string | undefined,
  exitCode: number | null | undefined,
  stderr: string,
  error: string | undefined,
): AgentFailure | undefined {
  // A run that got over an API error and finished is no failure, whatever it met on the way.
  if (!error) return undefined
  const text = [result?.text, ...(result?.errors ?? []), stderr].filter(Boolean).join('\n')
  const status = result?.apiErrorStatus
  if (status === 429 || assistantError === 'rate_limit' || /usage limit reached/i.test(text)) {
    return {
      class: 'rate-limited',
      cause: firstLine(result?.text ?? text) || 'rate limited (429)',
      ...limitReset(text),
    }
  }
  if (status === 404 || assistantError === 'model_not_found') {
    // Every task of the role would fail alike: a `model` the key cannot use is its configuration.
    const said = firstLine(result?.text ?? text)
      .replace(/\s*Run --model to pick a different model\.?/, '')
      .replace(/\.+$/, '')
    return {
      class: 'could-not-start',
      config: true,
      cause: `the model was refused${status ? ` (${status})` : ''}: ${said}. Set the role's \`model\` in your Tanuki config (tanuki.config.*) to one this key can use`,
    }
  }
  if ((status !== undefined && status >= 500) || assistantError === 'server_error') {
    // The service's trouble (overloaded, failing, unreachable), not the task's: another try at
    // once fails alike, and the same failure a few times would send good tasks to review. Park the
    // account and try again once it is back, as for a rate limit.
    return {
      class: 'rate-limited',
      outage: true,
      cause: `the API is unavailable${status ? ` (${status})` : ''}: ${firstLine(result?.text ?? text) || 'no answer'}`,
    }
  }
  if (status === 401 || status === 403 || assistantError === 'authentication_failed') {
    return refusedCredentials(status, firstLine(result?.text ?? text))
  }
  if (/--dangerously-skip-permissions cannot be used with root/i.test(text)) {
    return {
      class: 'could-not-start',
      config: true,
      cause:
        "Claude Code refused --dangerously-skip-permissions as root; run the agents as another user, or set IS_SANDBOX=1 in the role's env where they run in a sandbox",
    }
  }
  if (!result && (exitCode === 126 || exitCode === 127)) {
    return { class: 'could-not-start', config: true, cause: error }
  }
  return { class: 'agent-error', cause: error }
}

/** A refused key: the role's configuration, naming the variable to fix. */
function refusedCredentials(status: number | undefined, said: string): AgentFailure {
  return {
    class: 'could-not-start',
    config: true,
    cause: `authentication refused${status ? ` (${status})` : ''}: ${said}. Check ${CLAUDE_CREDENTIAL} (or log Claude Code in) for this role`,
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 300) ?? ''
}

/** A tool result's text: a string, or text blocks (images and the like are left out). */
function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((part) => str(part, 'text'))
    .filter((text): text is string => text !== undefined)
    .join('\n')
}
