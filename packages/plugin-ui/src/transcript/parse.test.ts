import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseTranscript } from './parse.ts'

// Recorded by the process plugin from the real Claude Code CLI and Codex event shapes.
const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../../../plugin-agent-process/test/fixtures/${name}`, import.meta.url)), 'utf8')

describe('parseTranscript', () => {
  it("renders Claude Code's stream-json: text, tool calls with their key argument, tool results' first lines, the result", () => {
    const entries = parseTranscript(fixture('claude-tool-error.jsonl'))
    expect(entries[0]).toMatchObject({ kind: 'system' })
    expect(entries).toContainEqual({ kind: 'text', text: 'I will run a command.' })
    expect(entries).toContainEqual({ kind: 'tool', name: 'Bash', detail: 'cat missing.txt' })
    expect(entries).toContainEqual({
      kind: 'tool-result',
      text: 'Exit code 1\ncat: missing.txt: No such file or directory',
      more: 0,
      error: true,
    })
    const result = entries.at(-1)!
    expect(result.kind).toBe('result')
    expect(result).toMatchObject({ error: false })
    expect((result as { detail: string }).detail).toMatch(/\$0\.0017/)
  })

  it('keeps the first lines of a long tool result and counts the rest', () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n')
    const out = [
      JSON.stringify({
        type: 'assistant',
        message: { content: [{ type: 'tool_use', id: 't1', name: 'Read', input: { file_path: '/src/a.ts' } }] },
      }),
      JSON.stringify({
        type: 'user',
        message: { content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: lines }] }] },
      }),
    ].join('\n')
    expect(parseTranscript(out)).toEqual([
      { kind: 'tool', name: 'Read', detail: '/src/a.ts' },
      { kind: 'tool-result', text: 'line 1\nline 2\nline 3\nline 4\nline 5\nline 6', more: 14, error: false },
    ])
  })

  it("renders Codex's JSON events: commands with their output, file changes, messages", () => {
    // Recorded from the real Codex CLI (0.171).
    const entries = parseTranscript(fixture('codex-success.jsonl'))
    expect(entries).toContainEqual({ kind: 'text', text: 'I will run a command.' })
    expect(entries).toContainEqual({ kind: 'tool', name: 'shell', detail: "/bin/bash -lc 'echo hello > FILE.txt'" })
    expect(entries).toContainEqual({ kind: 'tool-result', text: 'exit code 0', more: 0, error: false })
    expect(entries).toContainEqual({ kind: 'text', text: 'Created FILE.txt. FILE_DONE' })
    // A command is shown once, though it starts and completes.
    expect(entries.filter((e) => e.kind === 'tool')).toHaveLength(1)
    // Every item type of Codex's schema: a failed command, an MCP call, a file change.
    const items = parseTranscript(fixture('codex-schema-items.jsonl'))
    expect(items).toContainEqual({
      kind: 'tool-result',
      text: 'cat: missing.txt: No such file or directory',
      more: 0,
      error: true,
    })
    expect(items).toContainEqual({ kind: 'tool', name: 'edit', detail: 'update /work/project/FILE.txt' })
  })

  it('keeps plain output as it came, in order with JSON events, and holds back a JSON line still on its way', () => {
    const out = `tanuki: merged the work of A\nworking\n${JSON.stringify({ type: 'result', subtype: 'success', result: 'done', num_turns: 2 })}\n{"type":"assist`
    expect(parseTranscript(out)).toEqual([
      { kind: 'plain', text: 'tanuki: merged the work of A\nworking' },
      { kind: 'result', text: 'done', error: false, detail: '2 turns' },
    ])
  })
})
