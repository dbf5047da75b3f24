import { describe, expect, it } from 'vitest'
import { createJsonLines, type JsonObject } from './json-lines.ts'

describe('createJsonLines', () => {
  it('hands on each line once whole, wherever the chunks break, and a last line without its newline', () => {
    const long = { type: 'assistant', text: 'x'.repeat(10_000) }
    const text = `${JSON.stringify({ n: 1 })}\n\n${JSON.stringify(long)}\r\nnot json\n{"n":2}\n{"n":3}`
    const expected = [{ n: 1 }, long, 'not json', { n: 2 }, { n: 3 }]
    for (const size of [1, 3, 64, 4096, text.length]) {
      const seen: (JsonObject | string)[] = []
      const lines = createJsonLines(
        (value) => seen.push(value),
        (line) => seen.push(line),
      )
      for (let at = 0; at < text.length; at += size) lines.push(text.slice(at, at + size))
      expect(seen).toEqual(expected.slice(0, -1))
      lines.flush()
      expect(seen).toEqual(expected)
    }
  })
})
