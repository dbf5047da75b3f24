import { parseTranscript, type TranscriptEntry } from '@tanuki/plugin-ui'

/** One entry as lines a person reads in a terminal. */
function entryLines(entry: TranscriptEntry): string[] {
  const indent = (text: string, prefix: string): string[] => text.split('\n').map((line) => `${prefix}${line}`)
  switch (entry.kind) {
    case 'text':
      return indent(entry.text, '')
    case 'thinking':
      return indent(entry.text, '  (thinking) ')
    case 'tool':
      return [`→ ${entry.name}${entry.detail ? `: ${entry.detail}` : ''}`]
    case 'tool-result':
      return [
        ...indent(entry.text || '(no output)', entry.error ? '  ✗ ' : '  ← '),
        ...(entry.more > 0 ? [`    … ${entry.more} more line${entry.more === 1 ? '' : 's'}`] : []),
      ]
    case 'result':
      return [
        `${entry.error ? '✗ result' : '✓ result'}${entry.detail ? ` (${entry.detail})` : ''}${entry.text ? `: ${entry.text}` : ''}`,
      ]
    case 'system':
      return [`· ${entry.text}`]
    case 'plain':
      return indent(entry.text, '')
  }
}

/**
 * Makes the agent output in log text readable, as it streams: Claude Code's stream-json and
 * Codex's JSON events become the assistant's text, each tool call (its name and key argument) with
 * the first lines of its result, errors, and the result with turns, tokens and cost. Every other
 * line passes as it came. Feed it chunks; a line is rendered once whole.
 *
 * @example
 * const render = createTranscriptRenderer()
 * process.stdout.write(render.push(chunk) + render.end())
 */
export function createTranscriptRenderer(): { push(text: string): string; end(): string } {
  let pending = ''
  const render = (lines: string): string => {
    const entries = parseTranscript(lines)
    return entries.length === 0 ? '' : `${entries.flatMap(entryLines).join('\n')}\n`
  }
  return {
    push(text) {
      pending += text
      const newline = pending.lastIndexOf('\n')
      if (newline < 0) return ''
      const whole = pending.slice(0, newline + 1)
      pending = pending.slice(newline + 1)
      // Blank lines carry the log's own layout (sections): kept as they are.
      return whole
        .split(/(\n\s*\n)/)
        .map((part) => (part.trim() === '' ? part.replace(/^\n/, '') : render(part)))
        .join('')
    },
    end() {
      const rest = pending
      pending = ''
      return rest ? render(rest) : ''
    },
  }
}
