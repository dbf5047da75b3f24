import type { RunResult, Usage } from '@tanuki/core'
import { arr, createJsonLinesParser, num, obj, str, tail, type JsonObject, type StreamEnd } from './json-lines.ts'
import type { AgentKind, KindOptions, OutputParser, Step } from './types.ts'

/** Flags by which a person chose a sandbox or approval policy of their own in `extraArgs`. */
const POLICY_FLAGS = new Set(['--dangerously-bypass-approvals-and-sandbox', '--sandbox', '-s', '--full-auto', '--yolo'])

const MAX_TOOL_ERROR_CHARS = 2000

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
 * final agent message, thread id, token usage and failed commands or tool calls.
 *
 * @example
 * const kind = createCodexKind({ model: 'gpt-5-codex' })
 * const { steps, parser } = kind.plan({ prompt, task })
 */
export function createCodexKind(options: KindOptions = {}): AgentKind {
  return {
    name: 'codex',
    credential: 'OPENAI_API_KEY',
    plan({ prompt }) {
      const step: Step = { argv: codexArgv(options), stdin: prompt, label: 'codex exec' }
      if (options.env && Object.keys(options.env).length > 0) step.env = { ...options.env }
      return { steps: [step], parser: createCodexParser() }
    },
  }
}

/**
 * Parses `codex exec --json`: `thread.started` (session), `item.completed` items (agent messages,
 * commands, file changes, MCP calls), `turn.completed` (usage) and `turn.failed` / `error`.
 */
export function createCodexParser(): OutputParser {
  let threadId: string | undefined
  const messages: string[] = []
  const toolErrors: string[] = []
  let turns = 0
  const usage = { input: 0, cached: 0, output: 0, seen: false }
  let failure: string | undefined
  let lastError: string | undefined

  const onEvent = (event: JsonObject): void => {
    switch (str(event, 'type')) {
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
    }
  }

  return createJsonLinesParser(onEvent, (end) => {
    // The signal belongs in the final answer: codex's last agent message is that answer.
    const run: RunResult = { output: messages.at(-1) ?? '' }
    if (end.exitCode !== undefined) run.exitCode = end.exitCode
    const error = describeError(end)
    if (error) run.error = error
    if (usage.seen || turns > 0) {
      const figures: Usage = { turns }
      if (usage.seen) {
        // OpenAI counts cached input within input_tokens; Tanuki's inputTokens is the rest.
        figures.inputTokens = usage.input - usage.cached
        figures.cacheReadTokens = usage.cached
        figures.outputTokens = usage.output
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
    const detail = lastError ?? tail(stderr || strayLines.join('\n'))
    return `Codex ${why}${detail ? `: ${detail}` : ''}`
  }
}
