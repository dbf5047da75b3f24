import { describe, expect, it } from 'vitest'
import { TARGET_FAILS_SHOWN_LINES, targetFailsOutput, targetFailsSaid } from './target-fails.ts'

describe('targetFailsSaid', () => {
  it('puts the last lines the gate printed under the note, and says where the rest is', () => {
    const output = targetFailsOutput(Array.from({ length: 12 }, (_, i) => `line ${i + 1}`).join('\n'))
    const said = targetFailsSaid('main fails `sh check.sh`', output, '.tanuki/target-fails.json').split('\n')
    expect(said.slice(0, 3)).toEqual([
      'main fails `sh check.sh`',
      '  What land.verify printed there:',
      '    … (the rest: .tanuki/target-fails.json)',
    ])
    expect(said.slice(3)).toEqual(output.slice(-TARGET_FAILS_SHOWN_LINES).map((line) => `    ${line}`))
  })

  it('is the note alone when the gate printed nothing', () => {
    expect(targetFailsSaid('main fails `true`', targetFailsOutput('\n'))).toBe('main fails `true`')
  })
})
