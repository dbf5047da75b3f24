/** One readable piece of what an agent did. */
export type TranscriptEntry =
  /** What the model said. */
  | { kind: 'text'; text: string }
  /** Its visible reasoning (Codex). */
  | { kind: 'thinking'; text: string }
  /** A tool call: the tool's name and its key argument (the command, the file, the pattern). */
  | { kind: 'tool'; name: string; detail: string }
  /** A tool's result: its first lines, how many more there were, and whether it was an error. */
  | { kind: 'tool-result'; text: string; more: number; error: boolean }
  /** How the run ended: its final text, and turns, cost, time. */
  | { kind: 'result'; text: string; error: boolean; detail: string }
  /** The session starting: model, working directory. */
  | { kind: 'system'; text: string }
  /** Output that is not an agent's JSON: printed as it came. */
  | { kind: 'plain'; text: string }

/** Lines of a tool result shown before "… N more lines". */
const RESULT_LINES = 6
/** Characters of a key argument shown. */
const DETAIL_CHARS = 300

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

function clip(text: string, max = DETAIL_CHARS): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

/** The first lines of a text, and how many lines were left out. */
export function firstLines(text: string, count = RESULT_LINES): { text: string; more: number } {
  const lines = text.replace(/\n+$/, '').split('\n')
  return { text: lines.slice(0, count).join('\n'), more: Math.max(0, lines.length - count) }
}

/** The argument that says what a Claude Code tool call does. */
export function keyArgument(name: string, input: unknown): string {
  if (!isObject(input)) return ''
  const pick = (...keys: string[]): string | undefined => {
    for (const key of keys) {
      const value = str(input[key])
      if (value) return value
    }
    return undefined
  }
  switch (name) {
    case 'Bash':
      return clip(pick('command') ?? '')
    case 'Read':
    case 'Write':
    case 'Edit':
    case 'MultiEdit':
    case 'NotebookEdit':
      return clip(pick('file_path', 'notebook_path', 'path') ?? '')
    case 'Glob':
    case 'Grep': {
      const where = pick('path')
      return clip(`${pick('pattern') ?? ''}${where ? ` in ${where}` : ''}`)
    }
    case 'WebFetch':
      return clip(pick('url') ?? '')
    case 'WebSearch':
      return clip(pick('query') ?? '')
    case 'Task':
      return clip(pick('description', 'prompt') ?? '')
    case 'TodoWrite':
      return Array.isArray(input.todos) ? `${input.todos.length} to-dos` : ''
    default: {
      const first = Object.values(input).find((value) => typeof value === 'string')
      return clip((first as string | undefined) ?? JSON.stringify(input))
    }
  }
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .map((part) => (isObject(part) ? str(part.text) : undefined))
    .filter((text): text is string => text !== undefined)
    .join('\n')
}

function figures(parts: (string | false | undefined)[]): string {
  return parts.filter(Boolean).join(' · ')
}

/** Claude Code's stream-json events (`claude -p --output-format stream-json --verbose`). */
function claudeEvent(event: Json, out: TranscriptEntry[]): boolean {
  const type = str(event.type)
  const message = isObject(event.message) ? event.message : undefined
  if (type === 'system') {
    if (str(event.subtype) !== 'init') return true
    const model = str(event.model)
    out.push({
      kind: 'system',
      text: `session started${model ? ` · ${model}` : ''}${event.cwd ? ` · ${event.cwd}` : ''}`,
    })
    return true
  }
  if (type === 'assistant') {
    for (const block of Array.isArray(message?.content) ? message.content : []) {
      if (!isObject(block)) continue
      if (block.type === 'text' && str(block.text)?.trim()) out.push({ kind: 'text', text: str(block.text)! })
      if (block.type === 'thinking' && str(block.thinking)?.trim())
        out.push({ kind: 'thinking', text: str(block.thinking)! })
      if (block.type === 'tool_use') {
        const name = str(block.name) ?? 'tool'
        out.push({ kind: 'tool', name, detail: keyArgument(name, block.input) })
      }
    }
    return true
  }
  if (type === 'user') {
    for (const block of Array.isArray(message?.content) ? message.content : []) {
      if (!isObject(block) || block.type !== 'tool_result') continue
      out.push({ kind: 'tool-result', ...firstLines(resultText(block.content)), error: block.is_error === true })
    }
    return true
  }
  if (type === 'result') {
    const cost = typeof event.total_cost_usd === 'number' ? `$${event.total_cost_usd.toFixed(4)}` : undefined
    const turns =
      typeof event.num_turns === 'number' ? `${event.num_turns} turn${event.num_turns === 1 ? '' : 's'}` : undefined
    const time = typeof event.duration_ms === 'number' ? `${(event.duration_ms / 1000).toFixed(1)} s` : undefined
    const subtype = str(event.subtype)
    const error = event.is_error === true || (subtype !== undefined && subtype !== 'success')
    out.push({
      kind: 'result',
      text: str(event.result) ?? (Array.isArray(event.errors) ? event.errors.join('; ') : ''),
      error,
      detail: figures([subtype && subtype !== 'success' && subtype, turns, cost, time]),
    })
    return true
  }
  return false
}

/** Codex's `codex exec --json` events. */
function codexEvent(event: Json, out: TranscriptEntry[], started: Set<string>): boolean {
  const type = str(event.type)
  if (type === 'thread.started' || type === 'turn.started') return true
  if (type === 'item.started' || type === 'item.completed' || type === 'item.updated') {
    const item = isObject(event.item) ? event.item : {}
    const id = str(item.id) ?? ''
    const kind = str(item.type)
    if (kind === 'agent_message' && type === 'item.completed') out.push({ kind: 'text', text: str(item.text) ?? '' })
    else if (kind === 'reasoning' && type === 'item.completed')
      out.push({ kind: 'thinking', text: str(item.text) ?? '' })
    else if (kind === 'command_execution') {
      // The call shows when it starts; its output when it completes.
      if (!started.has(id)) out.push({ kind: 'tool', name: 'shell', detail: clip(str(item.command) ?? '') })
      started.add(id)
      if (type === 'item.completed') {
        const exit = typeof item.exit_code === 'number' ? item.exit_code : undefined
        const text = str(item.aggregated_output) ?? ''
        out.push({
          kind: 'tool-result',
          ...firstLines(text || (exit === undefined ? '' : `exit code ${exit}`)),
          error: exit !== undefined && exit !== 0,
        })
      }
    } else if (kind === 'file_change' && type === 'item.completed') {
      const changes = Array.isArray(item.changes) ? item.changes.filter(isObject) : []
      out.push({
        kind: 'tool',
        name: 'edit',
        detail: clip(changes.map((change) => `${str(change.kind) ?? 'change'} ${str(change.path) ?? ''}`).join(', ')),
      })
    } else if (kind === 'mcp_tool_call' && type === 'item.completed') {
      out.push({ kind: 'tool', name: `${str(item.server) ?? 'mcp'}.${str(item.tool) ?? 'tool'}`, detail: '' })
    } else if (kind === 'error') out.push({ kind: 'result', text: str(item.message) ?? '', error: true, detail: '' })
    return true
  }
  if (type === 'turn.completed') {
    const usage = isObject(event.usage) ? event.usage : {}
    const tokens = ['input_tokens', 'output_tokens'].map((key) =>
      typeof usage[key] === 'number' ? (usage[key] as number) : 0,
    )
    out.push({ kind: 'result', text: '', error: false, detail: `turn completed · ${tokens[0]! + tokens[1]!} tokens` })
    return true
  }
  if (type === 'turn.failed' || type === 'error') {
    const error = isObject(event.error) ? str(event.error.message) : str(event.message)
    out.push({ kind: 'result', text: error ?? 'failed', error: true, detail: type })
    return true
  }
  return false
}

function plainEntry(lines: string[]): TranscriptEntry[] {
  const text = lines.join('\n').replace(/\n+$/, '')
  return text.trim() === '' ? [] : [{ kind: 'plain', text }]
}

/**
 * Turns an agent's output into readable entries: Claude Code's stream-json (assistant text, tool
 * calls with their key argument, the first lines of tool results, the result line) and Codex's
 * JSON events; any other line is kept as plain text, consecutive lines together.
 *
 * @example
 * parseTranscript('{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash","input":{"command":"ls"}}]}}')
 * // [{ kind: 'tool', name: 'Bash', detail: 'ls' }]
 */
export function parseTranscript(output: string): TranscriptEntry[] {
  const out: TranscriptEntry[] = []
  const started = new Set<string>()
  let plain: string[] = []
  const endPlain = (): void => {
    out.push(...plainEntry(plain))
    plain = []
  }
  const lines = output.split('\n')
  for (const [i, line] of lines.entries()) {
    // The last line of live output may be a JSON line still on its way: not shown until whole.
    if (i === lines.length - 1 && line.trim().startsWith('{') && !line.trim().endsWith('}')) continue
    const trimmed = line.trim()
    if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
      let event: unknown
      try {
        event = JSON.parse(trimmed)
      } catch {
        event = undefined
      }
      if (isObject(event) && typeof event.type === 'string') {
        const held = plain
        plain = []
        const before = out.length
        if (claudeEvent(event, out) || codexEvent(event, out, started)) {
          // Plain lines before the event come before it.
          if (held.length > 0) out.splice(before, 0, ...plainEntry(held))
          continue
        }
        // A JSON event of another kind: kept as the line it was.
        plain = [...held, line]
        continue
      }
    }
    plain.push(line)
  }
  endPlain()
  return out
}
