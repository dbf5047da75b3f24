import { describe, expect, it } from 'vitest'
import { jestFailed, uncaughtError, vitestFailed } from '../test/fixtures/failed-output.ts'
import { tapRun1 } from '../test/fixtures/node-test-tap.ts'
import { TELLING_CAUSE_LINES, TELLING_TAIL_LINES, lastLines, tellingLines } from './output.ts'

/** A fixture's last lines, as `tellingLines` keeps them after the lines that name the cause. */
const tail = (output: string) => output.replace(/\s+$/, '').split('\n').slice(-TELLING_TAIL_LINES)

/** What `tellingLines` shows of an output: the lines it picks to name the cause, then the tail. */
function telling(output: string) {
  const shown = tellingLines(output)
  return { cause: shown.slice(0, -TELLING_TAIL_LINES), tail: shown.slice(-TELLING_TAIL_LINES) }
}

describe('tellingLines: what `task show` and the dashboard show of a failed command', () => {
  it('node --test (TAP)', () => {
    expect(telling(tapRun1)).toEqual({
      cause: [
        '…',
        'not ok 3 - slugify joins words with one dash',
        '…',
        '  error: |-',
        '    Expected values to be strictly equal:',
        '    ',
        "    'a-b' !== 'a--b'",
        '…',
        "  name: 'AssertionError'",
        '…',
      ],
      tail: tail(tapRun1),
    })
  })
  it('vitest', () => {
    expect(telling(vitestFailed)).toEqual({
      cause: [
        '…',
        ' ❯ a.test.js (3 tests | 2 failed) 8ms',
        '   × adds 6ms',
        '…',
        '   × throws 0ms',
        '…',
        '⎯⎯⎯⎯⎯⎯⎯ Failed Tests 2 ⎯⎯⎯⎯⎯⎯⎯',
        '…',
        ' FAIL  a.test.js > adds',
        'AssertionError: expected 2 to be 3 // Object.is equality',
        '…',
      ],
      tail: tail(vitestFailed),
    })
  })
  it('jest', () => {
    expect(telling(jestFailed)).toEqual({
      cause: ['FAIL ./sum.test.js', '…', '    ✕ adds (3 ms)', '…'],
      tail: tail(jestFailed),
    })
  })
  it('an uncaught error and its stack', () => {
    expect(telling(uncaughtError)).toEqual({
      cause: ['Error: Cannot find module mylib', '…'],
      tail: tail(uncaughtError),
    })
  })
  it('nothing, blank lines, a long line', () => {
    expect(tellingLines('')).toEqual([])
    expect(tellingLines('\n\n  \n')).toEqual([])
    expect(tellingLines(`\n\nok\n${'x'.repeat(400)}\n`)).toEqual(['ok', `${'x'.repeat(299)}…`])
  })

  it('skips stack frames and passing tests, whatever their words, and keeps a message its line leads in to', () => {
    const output = [
      'ok 1 - fails on bad input',
      '  ✓ throws TypeError when empty',
      '    at assertEqual (node_modules/x/index.js:3:1)',
      'not ok 2 - parses',
      '  error: |-',
      '    Expected values to be strictly equal:',
      '    1 !== 2',
      '  code: ERR_ASSERTION',
      ...Array.from({ length: TELLING_TAIL_LINES }, (_, i) => `line ${i + 1}`),
    ].join('\n')
    expect(tellingLines(output)).toEqual([
      '…',
      'not ok 2 - parses',
      '  error: |-',
      '    Expected values to be strictly equal:',
      '    1 !== 2',
      '  code: ERR_ASSERTION',
      ...Array.from({ length: TELLING_TAIL_LINES }, (_, i) => `line ${i + 1}`),
    ])
  })

  it(`names at most ${TELLING_CAUSE_LINES} lines before the last ones`, () => {
    const errors = Array.from({ length: 30 }, (_, i) => `TypeError: number ${i + 1}`)
    const shown = tellingLines([...errors, ...Array.from({ length: TELLING_TAIL_LINES }, () => 'done')].join('\n'))
    expect(shown.slice(0, TELLING_CAUSE_LINES + 1)).toEqual([...errors.slice(0, TELLING_CAUSE_LINES), '…'])
    expect(shown).toHaveLength(TELLING_CAUSE_LINES + 1 + TELLING_TAIL_LINES)
  })
})

describe('lastLines', () => {
  it('joins the last lines that say something, cut from the front past the width', () => {
    expect(lastLines('a\n\n  b  \nc\nd\n')).toBe('b ⏎ c ⏎ d')
    expect(lastLines('x'.repeat(500), 3, 10)).toBe(`…${'x'.repeat(10)}`)
  })
})
