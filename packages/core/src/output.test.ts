import { describe, expect, it } from 'vitest'
import { jestFailed, uncaughtError, vitestFailed } from '../test/fixtures/failed-output.ts'
import { tapRun1 } from '../test/fixtures/node-test-tap.ts'
import { TELLING_CAUSE_LINES, TELLING_TAIL_LINES, lastLines, tellingLines } from './output.ts'

describe('tellingLines: what `task show` and the dashboard show of a failed command', () => {
  it('node --test (TAP)', () => {
    expect(tellingLines(tapRun1)).toEqual([
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
      '    Test.processPendingSubtests (node:internal/test_runner/test:526:18)',
      '    node:internal/test_runner/harness:255:12',
      '    node:internal/process/task_queues:140:7',
      '    AsyncResource.runInAsyncScope (node:async_hooks:206:9)',
      '    AsyncResource.runMicrotask (node:internal/process/task_queues:137:8)',
      '  ...',
      '# Subtest: slugify keeps letters',
      'ok 4 - slugify keeps letters',
      '  ---',
      '  duration_ms: 0.232726',
      '  ...',
      '1..4',
      '# tests 4',
      '# suites 0',
      '# pass 3',
      '# fail 1',
      '# cancelled 0',
      '# skipped 0',
      '# todo 0',
      '# duration_ms 641.419612',
    ])
  })
  it('vitest', () => {
    expect(tellingLines(vitestFailed)).toEqual([
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
      "      3| test('throws', () => { JSON.parse('{') })",
      '',
      '⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[1/2]⎯',
      '',
      ' FAIL  a.test.js > throws',
      "SyntaxError: Expected property name or '}' in JSON at position 1",
      ' ❯ a.test.js:3:29',
      "      1| test('adds', () => { expect(1 + 1).toBe(3) })",
      "      2| test('subtracts', () => { expect(2 - 1).toBe(1) })",
      "      3| test('throws', () => { JSON.parse('{') })",
      '       |                             ^',
      '      4| ',
      '',
      '⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[2/2]⎯',
      '',
      '',
      ' Test Files  1 failed (1)',
      '      Tests  2 failed | 1 passed (3)',
      '   Start at  10:00:00',
      '   Duration  627ms (transform 29ms, setup 0ms, collect 7ms, tests 8ms, environment 0ms, prepare 109ms)',
    ])
  })
  it('jest', () => {
    expect(tellingLines(jestFailed)).toEqual([
      'FAIL ./sum.test.js',
      '…',
      '    ✕ adds (3 ms)',
      '…',
      '',
      '  ● sum › adds',
      '',
      '    expect(received).toBe(expected) // Object.is equality',
      '',
      '    Expected: 3',
      '    Received: 2',
      '',
      "      2 | test('adds', () => {",
      '    > 3 |   expect(sum(1, 1)).toBe(3)',
      '        |                     ^',
      '      4 | })',
      '',
      '      at Object.toBe (sum.test.js:3:21)',
      '',
      'Test Suites: 1 failed, 1 total',
      'Tests:       1 failed, 40 passed, 41 total',
      'Snapshots:   0 total',
      'Time:        0.5 s',
      'Ran all test suites.',
    ])
  })
  it('an uncaught error and its stack', () => {
    expect(tellingLines(uncaughtError)).toEqual([
      'Error: Cannot find module mylib',
      '…',
      '    at frame1 (lib.js:1:1)',
      '    at frame2 (lib.js:2:1)',
      '    at frame3 (lib.js:3:1)',
      '    at frame4 (lib.js:4:1)',
      '    at frame5 (lib.js:5:1)',
      '    at frame6 (lib.js:6:1)',
      '    at frame7 (lib.js:7:1)',
      '    at frame8 (lib.js:8:1)',
      '    at frame9 (lib.js:9:1)',
      '    at frame10 (lib.js:10:1)',
      '    at frame11 (lib.js:11:1)',
      '    at frame12 (lib.js:12:1)',
      '    at frame13 (lib.js:13:1)',
      '    at frame14 (lib.js:14:1)',
      '    at frame15 (lib.js:15:1)',
      '    at frame16 (lib.js:16:1)',
      '    at frame17 (lib.js:17:1)',
      '    at frame18 (lib.js:18:1)',
      '    at frame19 (lib.js:19:1)',
      'Node.js v20',
    ])
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
