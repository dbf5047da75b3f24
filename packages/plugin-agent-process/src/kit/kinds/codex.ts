import type { AgentFailure, RunResult, Usage } from '@tanuki/core'
import { arr, createJsonLinesParser, num, obj, str, type JsonObject, type StreamEnd } from './json-lines.ts'
import type { AgentKind, KindOptions, OutputParser, Step, TokenPrice } from './types.ts'

/** Flags by which a person chose a sandbox or approval policy of their own in `extraArgs`. */
const POLICY_FLAGS = new Set(['--dangerously-bypass-approvals-and-sandbox', '--sandbox', '-s', '--full-auto', '--yolo'])

const MAX_TOOL_ERROR_CHARS = 2000

/** How much of Codex's own words a cause quotes. */
const CAUSE_CHARS = 300

/**
 * The variable `codex exec` reads an API key from for its built-in OpenAI provider (it ignores
 * `OPENAI_API_KEY`, which only `codex login --with-api-key` takes). A model provider of one's own
 * names its variable in `env_key`: give it to the kind as `credentialEnv`.
 */
export const CODEX_CREDENTIAL = 'CODEX_API_KEY'

/**
 * The argv of one `codex exec` run: JSONL events, no approvals and no sandbox (Tanuki gives each
 * agent its own workspace; a worktree's commits also write to the main repository's `.git`,
 * which codex's `workspace-write` sandbox forbids), and the prompt read from stdin (`-`).
 */
export function codexArgv(options: KindOptions): string[] {
  const extra = options.extraArgs ?? []
  // A shared workspace may be a plain directory: codex refuses those without this flag.
  const argv = [options.bin ?? 'codex', 'exec', '--json', '--skip-git-repo-check']
  if (!extra.some((arg) => POLICY_FLAGS.has(arg.split('=')[0]!)))
    argv.push('--dangerously-bypass-approvals-and-sandbox')
  if (options.model) argv.push('--model', options.model)
  // Codex has no system-prompt flag; `developer_instructions` is the config key for it, and a
  // JSON string is a valid TOML basic string.
  if (options.systemPrompt) argv.push('-c', `developer_instructions=${JSON.stringify(options.systemPrompt)}`)
  return [...argv, ...extra, '-']
}

/**
 * OpenAI Codex CLI (`codex exec --json`): one step per iteration, its JSONL events parsed into the
 * final agent message, thread id, token usage, failed commands or tool calls, and what kind of
 * failure ended a run that failed.
 *
 * @example
 * const kind = createCodexKind({ model: 'gpt-5.5' })
 * const { steps, parser } = kind.plan({ prompt, task })
 */
export function createCodexKind(options: KindOptions = {}): AgentKind {
  const credential = options.credentialEnv ?? CODEX_CREDENTIAL
  return {
    name: 'codex',
    credential,
    plan({ prompt }) {
      const step: Step = { argv: codexArgv(options), stdin: prompt, label: 'codex exec' }
      if (options.env && Object.keys(options.env).length > 0) step.env = { ...options.env }
      return {
        steps: [step],
        parser: createCodexParser({ credential, ...(options.price ? { price: options.price } : {}) }),
      }
    },
  }
}

/** What the Codex parser needs to know besides the output. */
export interface CodexParserOptions {
  /** The variable the role's key is in, named when Codex's key is refused. Default `CODEX_API_KEY`. */
  credential?: string
  /** The clock, for reset times given as a time of day. */
  now?: () => number
  /** USD per million tokens: with it, the usage carries the run's cost (`costUsd`). */
  price?: TokenPrice
}

/**
 * Parses `codex exec --json`: `thread.started` (session), `item.completed` items (agent messages,
 * commands, file changes, MCP calls), `turn.completed` (usage) and `turn.failed` / `error`.
 */
export function createCodexParser(options: CodexParserOptions = {}): OutputParser {
  const credential = options.credential ?? CODEX_CREDENTIAL
  let threadId: string | undefined
  const messages: string[] = []
  const toolErrors: string[] = []
  let turns = 0
  const usage = { input: 0, cached: 0, output: 0, seen: false }
  let failure: string | undefined
  let lastError: string | undefined

  const onEvent = (event: JsonObject): void => {
    const type = str(event, 'type')
    // Work went on after an error (a retried 429, a stream Codex reconnected): it was got past,
    // and says nothing of how the run ends.
    if (type === 'item.started' || type === 'item.completed' || type === 'turn.completed') lastError = undefined
    switch (type) {
      case 'thread.started':
        threadId = str(event, 'thread_id') ?? threadId
        break
      case 'item.completed':
        onItem(obj(event, 'item'))
        break
      case 'turn.completed': {
        turns += 1
        const counts = obj(event, 'usage')
        if (!counts) break
        usage.seen = true
        usage.input += num(counts, 'input_tokens') ?? 0
        usage.cached += num(counts, 'cached_input_tokens') ?? 0
        usage.output += num(counts, 'output_tokens') ?? 0
        break
      }
      case 'turn.failed':
        turns += 1
        failure = str(obj(event, 'error'), 'message') ?? 'turn failed'
        break
      case 'error':
        // Also sent for retried stream hiccups ("Reconnecting… 1/5"): only an error if nothing
        // better explains the end of the run.
        lastError = str(event, 'message') ?? lastError
        break
    }
  }

  const onItem = (item: JsonObject | undefined): void => {
    const push = (text: string): void => {
      toolErrors.push(text.slice(0, MAX_TOOL_ERROR_CHARS))
    }
    switch (str(item, 'type')) {
      case 'agent_message':
        messages.push(str(item, 'text') ?? '')
        break
      case 'command_execution': {
        const code = num(item, 'exit_code')
        const status = str(item, 'status')
        if (status === 'failed' || status === 'declined' || (code !== undefined && code !== 0)) {
          const output = str(item, 'aggregated_output')?.trim()
          const how = code !== undefined ? `exit code ${code}` : (status ?? 'failed')
          push(`${str(item, 'command') ?? 'command'} (${how})${output ? `: ${output}` : ''}`)
        }
        break
      }
      case 'mcp_tool_call':
        if (str(item, 'status') === 'failed') {
          const message = str(obj(item, 'error'), 'message')
          push(`${str(item, 'server') ?? 'mcp'}.${str(item, 'tool') ?? 'tool'}${message ? `: ${message}` : ' failed'}`)
        }
        break
      case 'file_change':
        if (str(item, 'status') === 'failed') {
          const paths = arr(item, 'changes')
            .map((change) => str(change, 'path'))
            .filter(Boolean)
          push(`file change failed: ${paths.join(', ') || 'no paths'}`)
        }
        break
      // `error` items are warnings Codex carries on after ("Model metadata for `x` not found",
      // "Falling back from WebSockets to HTTPS transport"): not the run's failure.
    }
  }

  return createJsonLinesParser(onEvent, (end) => {
    // The signal belongs in the final answer: codex's last agent message is that answer.
    const run: RunResult = { output: messages.at(-1) ?? '' }
    if (end.exitCode !== undefined) run.exitCode = end.exitCode
    const error = describeError(end)
    if (error) run.error = error
    const classified = error ? classify(end, error) : undefined
    if (classified) run.failure = classified
    if (usage.seen || turns > 0) {
      const figures: Usage = { turns }
      if (usage.seen) {
        // OpenAI counts cached input within input_tokens; Tanuki's inputTokens is the rest.
        figures.inputTokens = usage.input - usage.cached
        figures.cacheReadTokens = usage.cached
        figures.outputTokens = usage.output
        const price = options.price
        if (price) {
          figures.costUsd =
            ((usage.input - usage.cached) * price.input +
              usage.cached * (price.cachedInput ?? price.input) +
              usage.output * price.output) /
            1_000_000
        }
      }
      run.usage = figures
    }
    if (threadId) run.sessionId = threadId
    if (toolErrors.length > 0) run.toolErrors = [...toolErrors]
    return run
  })

  function describeError({ exitCode, stderr, strayLines }: StreamEnd): string | undefined {
    if (failure) return `Codex turn failed: ${failure}`
    if (exitCode === undefined || exitCode === 0) {
      if (exitCode === 0 && turns === 0)
        return `Codex ended without finishing a turn${lastError ? `: ${lastError}` : ''}`
      return undefined
    }
    const why = exitCode === null ? 'was killed before it finished' : `exited with code ${exitCode}`
    const detail = lastError ?? saidLast(stderr || strayLines.join('\n'))
    return `Codex ${why}${detail ? `: ${detail}` : ''}`
  }

  /**
   * What kind of failure a Codex run was: a rate or usage limit (park, don't fail), a key refused
   * or missing, or a run that never began (its flags or config refused, its program missing), all
   * three the role's configuration; else Codex's own failure.
   */
  function classify({ exitCode, stderr, strayLines }: StreamEnd, error: string): AgentFailure {
    // What Codex said last about the failure: the failed turn, else its last error, else stderr.
    const said = failure ?? lastError ?? saidLast(stderr || strayLines.join('\n'))
    const words = trimCause(said || error)
    if (LIMIT.test(said)) {
      return { class: 'rate-limited', cause: words, ...codexLimitReset(said, options.now?.() ?? Date.now()) }
    }
    // Every task of the role would fail alike: a `model` the key cannot use is its configuration.
    if (UNKNOWN_MODEL.test(said)) {
      return {
        class: 'could-not-start',
        config: true,
        cause: `the model was refused: ${words.replace(/\.$/, '')}. Set the role's \`model\` in your Tanuki config (tanuki.config.*) to one this key can use`,
      }
    }
    // The service's trouble, not the task's: park and back off as for a limit, without counting
    // the try, rather than send the task to review after a few quick tries in an outage.
    if (SERVER_ERROR.test(said))
      return { class: 'rate-limited', outage: true, cause: `the API is unavailable: ${words}` }
    const missing = MISSING_KEY.exec(said)
    if (missing) {
      return {
        class: 'could-not-start',
        config: true,
        cause: `Codex found no ${missing[1]} in its environment: set it for this role (the key of its model provider)`,
      }
    }
    const refused = REFUSED.exec(said)
    if (refused) {
      return {
        class: 'could-not-start',
        config: true,
        cause: `authentication refused (${refused[1]}): ${words.replace(/\.$/, '')}. Check ${credential}${credential === CODEX_CREDENTIAL ? ' (or `codex login`)' : ''} for this role`,
      }
    }
    // No thread started: Codex refused its flags (exit 2) or its config, or is not installed.
    if (threadId === undefined && exitCode !== null && exitCode !== undefined && exitCode !== 0) {
      return { class: 'could-not-start', config: true, cause: `Codex did not start (exit ${exitCode}): ${words}` }
    }
    return { class: 'agent-error', cause: trimCause(error) }
  }
}

/**
 * Codex's words for a rate or usage limit: its usage limit ("You've hit your usage limit … try
 * again at 3:45 PM"), a 429 it gave up retrying ("exceeded retry limit, last status: 429 Too Many
 * Requests"), a limit reported in the stream ("rate limit exceeded: … try again in 1.5s"), an
 * exhausted quota ("Quota exceeded. Check your plan and billing details").
 */
const LIMIT = /usage limit|rate limit|\b429\b|too many requests|quota exceeded|out of credits/i

/** A model the API does not know, or the key may not use: "The model `x` does not exist …". */
const UNKNOWN_MODEL = /\bmodel `?[^`\s]*`? does not exist|\bmodel_not_found\b/i

/** The API failing or overloaded: "unexpected status 503 Service Unavailable", "last status: 502". */
const SERVER_ERROR = /(?:unexpected status|last status:?) 5\d\d\b/i

/** A key Codex's model provider names in `env_key` but the environment lacks. */
const MISSING_KEY = /Missing environment variable: `?([A-Za-z_][A-Za-z0-9_]*)`?/

/** A key the API refused: "unexpected status 401 Unauthorized: …". */
const REFUSED = /\b(401|403)\b (?:Unauthorized|Forbidden)/

/** The lines that say most: an `error:` line of a refused flag, else the last line. */
function saidLast(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('WARNING:'))
  return lines.find((line) => /^error\b/i.test(line)) ?? lines.at(-1) ?? ''
}

/** One line, without the request's URL and id that Codex appends. */
function trimCause(text: string): string {
  const line = text.trim().split('\n')[0] ?? ''
  return line.replace(/, (?:url|request id): [^\s,]+/g, '').slice(0, CAUSE_CHARS)
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * When a limit lifts, from what Codex says: "try again in 20s" / "in 1m30.5s" / "in 6ms" / "in 2
 * minutes" (OpenAI's rate limits), or "try again at 3:45 PM" / "at Dec 1st, 2026 5:42 PM" (its
 * usage limits, in the local time of the machine Codex runs on: Tanuki's, for a process agent).
 */
export function codexLimitReset(text: string, now = Date.now()): Pick<AgentFailure, 'resetAt' | 'retryAfterMs'> {
  const compact = /try again in ((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)(?![a-z])/i.exec(text)
  if (compact) {
    let ms = 0
    for (const [, value, unit] of compact[1]!.toLowerCase().matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
      ms += Number(value) * UNIT_MS[unit!]!
    }
    return { retryAfterMs: Math.round(ms) }
  }
  const spelled = /try again in (\d+(?:\.\d+)?)\s*(milliseconds?|seconds?|secs?|minutes?|mins?|hours?)\b/i.exec(text)
  if (spelled) {
    const unit = spelled[2]!.toLowerCase()
    const factor = unit.startsWith('milli')
      ? 1
      : unit.startsWith('s')
        ? 1000
        : unit.startsWith('m')
          ? 60_000
          : 3_600_000
    return { retryAfterMs: Math.round(Number(spelled[1]) * factor) }
  }
  const at = /try again at (?:([A-Z][a-z]+ \d{1,2})(?:st|nd|rd|th)?,? (\d{4}),? )?(\d{1,2}):(\d{2})\s*([AP]M)?/i.exec(
    text,
  )
  if (at) {
    const [, monthDay, year, hours, minutes, half] = at
    const hour = !half ? Number(hours) : (Number(hours) % 12) + (half.toUpperCase() === 'PM' ? 12 : 0)
    // Codex names the minute, not the second: the limit has surely lifted once that minute is over.
    const minute = Number(minutes) + 1
    if (monthDay && year) {
      const day = new Date(`${monthDay}, ${year}`)
      if (Number.isNaN(day.getTime())) return {}
      day.setHours(hour, minute, 0, 0)
      return { resetAt: day.getTime() }
    }
    // A time of day alone is the next time the clock shows it.
    const when = new Date(now)
    when.setHours(hour, minute, 0, 0)
    if (when.getTime() <= now) when.setDate(when.getDate() + 1)
    return { resetAt: when.getTime() }
  }
  return {}
}
