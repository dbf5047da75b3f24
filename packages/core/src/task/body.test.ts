import { describe, expect, it } from 'vitest'
import { codeBody, handEditedTask } from '../../test/fixtures/tasks.ts'
import { codeBlocks } from './body.ts'
import { parseTask } from './parse.ts'

describe('codeBlocks', () => {
  it('finds every fenced block with its language, meta, code and line', () => {
    expect(codeBlocks(codeBody)).toEqual([
      { lang: 'sh', meta: '', code: 'npm ci\nnpm test', line: 5 },
      { lang: 'ts', meta: 'title="a.ts" {1,3}', code: 'export const a = 1', line: 15 },
      { lang: '', meta: '', code: 'no language', line: 19 },
      { lang: 'bash', meta: '', code: 'echo done', line: 23 },
    ])
  })

  it('ignores indented code, which has no fences', () => {
    const codes = codeBlocks(codeBody).map((block) => block.code)
    expect(codes.some((code) => code.includes('indented code'))).toBe(false)
    expect(codeBlocks('Text\n\n    indented only\n    more\n')).toEqual([])
  })

  it('finds blocks inside nested lists and block quotes', () => {
    const markdown = [
      '- step',
      '  1. inner',
      '',
      '     ```js',
      '     run()',
      '     ```',
      '',
      '> quoted',
      '>',
      '> ```py',
      '> print(1)',
      '> ```',
      '',
    ].join('\n')
    expect(codeBlocks(markdown)).toEqual([
      { lang: 'js', meta: '', code: 'run()', line: 4 },
      { lang: 'py', meta: '', code: 'print(1)', line: 10 },
    ])
  })

  it('keeps only the languages asked for, in order', () => {
    expect(codeBlocks(codeBody, ['sh', 'bash']).map((block) => block.lang)).toEqual(['sh', 'bash'])
    expect(codeBlocks(codeBody, ['']).map((block) => block.code)).toEqual(['no language'])
    expect(codeBlocks(codeBody, ['python'])).toEqual([])
  })

  it('returns nothing for a body without code, or an empty body', () => {
    expect(codeBlocks('# Title\n\nJust prose, with `inline code`.\n')).toEqual([])
    expect(codeBlocks('')).toEqual([])
  })

  it('reads an unclosed fence to the end of the body', () => {
    expect(codeBlocks('```sh\necho a\necho b\n')).toEqual([{ lang: 'sh', meta: '', code: 'echo a\necho b', line: 1 }])
  })

  it('works on the body of a parsed task', () => {
    const blocks = codeBlocks(parseTask(handEditedTask, 'x.md').body)
    expect(blocks).toEqual([])
    const task = parseTask(`---\nid: a\ntitle: A\ncompletion: { signal: S }\n---\n\n\`\`\`sh\nmake\n\`\`\`\n`, 'x.md')
    expect(codeBlocks(task.body)).toEqual([{ lang: 'sh', meta: '', code: 'make', line: 2 }])
  })
})
