import { describe, expect, it } from 'vitest'
import { simpleCommands } from './shell-words.ts'

const words = (line: string) => simpleCommands(line).map(({ words, end }) => (end ? [...words, end] : words))

describe('simpleCommands', () => {
  it('splits on the operators between commands, and keeps what ends each', () => {
    expect(words('a 1 && b || c; d | e & f\ng')).toEqual([
      ['a', '1', '&&'],
      ['b', '||'],
      ['c', ';'],
      ['d', '|'],
      ['e', '&'],
      ['f', '\n'],
      ['g'],
    ])
    expect(words('(cd api && make)')).toEqual([['('], ['cd', 'api', '&&'], ['make', ')'], []])
  })

  it('keeps empty commands, for a reader that refuses them', () => {
    expect(words('')).toEqual([[]])
    expect(words('a && && b;')).toEqual([['a', '&&'], ['&&'], ['b', ';'], []])
  })

  it('removes quotes and escapes from the words, and keeps them in the raw words', () => {
    const [command] = simpleCommands(`CI="a b" 'py'test \\; "x\\"y" ""`)
    expect(command).toEqual({
      words: ['CI=a b', 'pytest', ';', 'x"y', ''],
      raw: ['CI="a b"', `'py'test`, '\\;', '"x\\"y"', '""'],
    })
  })

  it('reads a redirection’s & and | as part of its word', () => {
    expect(words('a 2>&1 &>log >&2 <&0 >|out | b')).toEqual([['a', '2>&1', '&>log', '>&2', '<&0', '>|out', '|'], ['b']])
  })

  it('joins lines a backslash continues, and leaves out comments up to their line’s end', () => {
    expect(words('a \\\n  -q # b; c\nd#e # f')).toEqual([['a', '-q', '\n'], ['d#e']])
    expect(simpleCommands('py\\\ntest')[0]).toEqual({ words: ['pytest'], raw: ['py\\\ntest'] })
  })

  it('reads the commands of a substitution after the command whose word it is, which it marks unsure', () => {
    expect(simpleCommands('a $(b "c)" && `d`) e; f')).toEqual([
      { words: ['a', '$(b "c)" && `d`)', 'e'], raw: ['a', '$(b "c)" && `d`)', 'e'], end: ';', unsure: true },
      { words: ['b', 'c)'], raw: ['b', '"c)"'], end: '&&' },
      { words: ['`d`'], raw: ['`d`'], unsure: true },
      { words: ['d'], raw: ['d'] },
      { words: ['f'], raw: ['f'] },
    ])
    // Its own parentheses close before it does.
    expect(words('$( (a) ) b')).toEqual([['$( (a) )', 'b'], ['('], ['a', ')'], []])
  })

  it('marks unsure what it cannot close: a quote, a substitution', () => {
    expect(simpleCommands('a "b c')).toEqual([{ words: ['a', 'b c'], raw: ['a', '"b c'], unsure: true }])
    expect(simpleCommands('a $(b')).toEqual([
      { words: ['a', '$(b'], raw: ['a', '$(b'], unsure: true },
      { words: ['b'], raw: ['b'] },
    ])
  })
})
