import { readFile } from 'node:fs/promises'
import { taskFromFields, type RunResult, type Task } from '@tanuki/core'
import { describe, expect, it } from 'vitest'
import { codexArgv, createCodexKind, createCodexParser } from './codex.ts'
import type { OutputParser } from './types.ts'

// Event shapes from codex-rs/exec/src/exec_events.rs (the `codex exec --json` schema).
const fixture = (name: string): Promise<string> =>
  readFile(new URL(`../../../test/fixtures/${name}`, import.meta.url), 'utf8')

function parseInPieces(parser: OutputParser, text: string, size: number, exitCode: number | null): RunResult {
  for (let at = 0; at < text.length; at += size) parser.push({ stream: 'stdout', text: text.slice(at, at + size) })
  parser.end(exitCode)
  return parser.result()
}

const task: Task = taskFromFields(
  { id: 'TASK-001', title: 'Create FILE.txt', role: 'backend', completion: { signal: 'FILE_DONE' } },
  'Create FILE.txt',
  'TASK-001.md',
)

describe('codex JSONL parser', () => {
  it('takes the last agent message as the output, with thread id and usage, whatever the chunks', async () => {
    const text = await fixture('codex-success.jsonl')
    const whole = parseInPieces(createCodexParser(), text, text.length, 0)
    expect(whole).toEqual({
      output: 'Created FILE.txt with “hello”. FILE_DONE',
      exitCode: 0,
      sessionId: '0199a213-81c0-7800-8aa1-bbab2a035a53',
      // turn.completed: input 24763 of which 24448 cached, output 122.
      usage: { turns: 1, inputTokens: 24763 - 24448, cacheReadTokens: 24448, outputTokens: 122 },
    })
    for (const size of [1, 3, 50, 511]) expect(parseInPieces(createCodexParser(), text, size, 0)).toEqual(whole)
  })

  it('lists failed commands, MCP calls and file changes as tool errors', async () => {
    const result = parseInPieces(createCodexParser(), await fixture('codex-tool-error.jsonl'), 64, 0)
    expect(result.toolErrors).toEqual([
      "bash -lc 'cat missing.txt' (exit code 1): cat: missing.txt: No such file or directory",
      'docs.search: tool call timed out',
      'file change failed: /work/project/FILE.txt',
    ])
    expect(result.error).toBeUndefined()
    expect(result.output).toBe('missing.txt does not exist, so there is nothing to read.')
  })

  it('reports a failed turn, not the reconnect notices before it', async () => {
    const result = parseInPieces(createCodexParser(), await fixture('codex-turn-failed.jsonl'), 17, 1)
    expect(result.error).toBe(
      'Codex turn failed: unexpected status 401 Unauthorized: Missing bearer or basic authentication in header',
    )
    expect(result.output).toBe('')
    expect(result.sessionId).toBe('0199a301-aaaa-7bbb-8ccc-0123456789ab')
  })

  it('reports a CLI that dies without events, with its stderr', () => {
    const parser = createCodexParser()
    parser.push({ stream: 'stderr', text: 'Error: Not inside a trusted directory\n' })
    parser.end(1)
    expect(parser.result()).toEqual({
      output: '',
      exitCode: 1,
      error: 'Codex exited with code 1: Error: Not inside a trusted directory',
    })
  })

  it('says so when codex exits 0 without finishing a turn', () => {
    const parser = createCodexParser()
    parser.push({
      stream: 'stdout',
      text: '{"type":"thread.started","thread_id":"t1"}\n{"type":"error","message":"stream closed"}',
    })
    parser.end(0)
    expect(parser.result().error).toBe('Codex ended without finishing a turn: stream closed')
  })
})

describe('codex argv', () => {
  it('runs codex exec --json unattended with the prompt on stdin', () => {
    const { steps } = createCodexKind({
      model: 'gpt-5-codex',
      systemPrompt: 'You are "qa".\nBe brief.',
      extraArgs: ['-c', 'model_reasoning_effort="high"'],
      env: { OPENAI_API_KEY: 'k' },
    }).plan({ prompt: 'Create FILE.txt', task })
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
})
