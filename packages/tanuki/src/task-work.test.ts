import { describe, expect, it } from 'vitest'
import { jestFailed, uncaughtError, vitestFailed } from '../../core/test/fixtures/failed-output.ts'
import { tapRun1 } from '../../core/test/fixtures/node-test-tap.ts'
import { lastLanding, tellingLines } from './task-work.ts'

describe('tellingLines: what `task show` prints of a failed command', () => {
  it('node --test (TAP)', () => {
    expect(tellingLines(tapRun1)).toMatchInlineSnapshot(`
      [
        "…",
        "not ok 3 - slugify joins words with one dash",
        "…",
        "  error: |-",
        "    Expected values to be strictly equal:",
        "    ",
        "    'a-b' !== 'a--b'",
        "…",
        "  name: 'AssertionError'",
        "…",
        "  ---",
        "  duration_ms: 0.232726",
        "  ...",
        "1..4",
        "# tests 4",
        "# suites 0",
        "# pass 3",
        "# fail 1",
        "# cancelled 0",
        "# skipped 0",
        "# todo 0",
        "# duration_ms 641.419612",
      ]
    `)
  })
  it('vitest', () => {
    expect(tellingLines(vitestFailed)).toMatchInlineSnapshot(`
      [
        "…",
        " ❯ a.test.js (3 tests | 2 failed) 8ms",
        "…",
        "⎯⎯⎯⎯⎯⎯⎯ Failed Tests 2 ⎯⎯⎯⎯⎯⎯⎯",
        "…",
        " FAIL  a.test.js > adds",
        "AssertionError: expected 2 to be 3 // Object.is equality",
        "…",
        " FAIL  a.test.js > throws",
        "SyntaxError: Expected property name or '}' in JSON at position 1",
        "…",
        "      2| test('subtracts', () => { expect(2 - 1).toBe(1) })",
        "      3| test('throws', () => { JSON.parse('{') })",
        "       |                             ^",
        "      4| ",
        "",
        "⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[2/2]⎯",
        "",
        "",
        " Test Files  1 failed (1)",
        "      Tests  2 failed | 1 passed (3)",
        "   Start at  10:00:00",
        "   Duration  627ms (transform 29ms, setup 0ms, collect 7ms, tests 8ms, environment 0ms, prepare 109ms)",
      ]
    `)
  })
  it('jest', () => {
    expect(tellingLines(jestFailed)).toMatchInlineSnapshot(`
      [
        "FAIL ./sum.test.js",
        "…",
        "      2 | test('adds', () => {",
        "    > 3 |   expect(sum(1, 1)).toBe(3)",
        "        |                     ^",
        "      4 | })",
        "",
        "      at Object.toBe (sum.test.js:3:21)",
        "",
        "Test Suites: 1 failed, 1 total",
        "Tests:       1 failed, 40 passed, 41 total",
        "Snapshots:   0 total",
        "Time:        0.5 s",
        "Ran all test suites.",
      ]
    `)
  })
  it('an uncaught error and its stack', () => {
    expect(tellingLines(uncaughtError)).toMatchInlineSnapshot(`
      [
        "Error: Cannot find module mylib",
        "…",
        "    at frame9 (lib.js:9:1)",
        "    at frame10 (lib.js:10:1)",
        "    at frame11 (lib.js:11:1)",
        "    at frame12 (lib.js:12:1)",
        "    at frame13 (lib.js:13:1)",
        "    at frame14 (lib.js:14:1)",
        "    at frame15 (lib.js:15:1)",
        "    at frame16 (lib.js:16:1)",
        "    at frame17 (lib.js:17:1)",
        "    at frame18 (lib.js:18:1)",
        "    at frame19 (lib.js:19:1)",
        "Node.js v20",
      ]
    `)
  })
  it('nothing, blank lines, a long line', () => {
    expect(tellingLines('')).toEqual([])
    expect(tellingLines('\n\n  \n')).toEqual([])
    expect(tellingLines(`\n\nok\n${'x'.repeat(400)}\n`)).toEqual(['ok', `${'x'.repeat(299)}…`])
  })
})

describe('lastLanding', () => {
  it('says the gate, its exit and the telling lines of what it printed', () => {
    const said = lastLanding({ kind: 'gate', command: 'node --test', exitCode: 1, output: tapRun1 })
    expect(said?.what).toBe('`node --test` exited 1 on the combined work; it printed')
    expect(said?.lines).toEqual(tellingLines(tapRun1))
    expect(lastLanding(undefined)).toBeUndefined()
  })
})
