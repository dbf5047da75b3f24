import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createTranscriptRenderer } from './transcript.ts'

const fixture = (name: string): string =>
  readFileSync(new URL(`../../plugin-agent-process/test/fixtures/${name}`, import.meta.url), 'utf8')

describe('createTranscriptRenderer', () => {
  it('renders Claude Code stream-json as text, tool calls with their key argument, and the result', () => {
    const render = createTranscriptRenderer()
    const text = fixture('claude-tool-error.jsonl')
    // Fed in awkward pieces: a line cut in the middle waits for its end.
    let out = ''
    for (let i = 0; i < text.length; i += 97) out += render.push(text.slice(i, i + 97))
    out += render.end()
    expect(out).not.toContain('{"type"')
    expect(out).toMatch(/^→ Bash: /m)
    expect(out).toMatch(/^ {2}✗ /m)
    expect(out).toMatch(/^[✓✗] result \(/m)
  })

  it('renders Codex JSON events, and passes other lines and the log’s layout through', () => {
    const render = createTranscriptRenderer()
    const out =
      render.push(
        `# T-1 — iteration 1/3\n\n## Agent output\n\n${fixture('codex-success.jsonl')}\n## Result: complete\n`,
      ) + render.end()
    expect(out).toContain('# T-1 — iteration 1/3\n\n## Agent output\n')
    expect(out).toMatch(/^→ shell: /m)
    expect(out).toContain('## Result: complete')
    expect(out).not.toContain('"thread.started"')
  })
})
