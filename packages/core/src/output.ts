// What a person reads of a command's output: a failed setup's last lines on one line, a failed
// verify's or gate's telling lines for `tanuki task show` and the dashboard.

/** The last few lines a command printed, on one line: what a person needs to see why it failed. */
export function lastLines(output: string, count = 3, max = 400): string {
  const text = output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-count)
    .join(' ⏎ ')
  return text.length > max ? `…${text.slice(-max)}` : text
}

/** How many of a failed command's last lines `tellingLines` keeps. */
export const TELLING_TAIL_LINES = 20

/** How many lines from before the last ones, saying what failed, `tellingLines` keeps at most. */
export const TELLING_CAUSE_LINES = 8

/**
 * A line that says what went wrong, as test runners and compilers word it: `SyntaxError: …`,
 * `AssertionError`, `not ok 3 - name` (TAP), `✗`/`✖`/`✕` marks, `×`/`●` before a test's name
 * (Vitest, Jest), `FAIL path`, `error TS2304`, `cannot`, `not found`.
 */
const CAUSE =
  /(\b\w*(error|exception)s?\b|\bfail(s|ed|ure|ures)?\b|\bassert\w*|\bcannot\b|\bnot found\b|^\s*not ok\b|[✗✖✕]|^\s*[×●]\s)/i

/** A line that names where (a stack frame) or what passed (`ok 3`, `✓`), however its words read. */
const NOT_CAUSE = /^\s*(?:at\s|ok\b|[✓✔√]\s)/

/** A line whose message follows on the next lines (TAP's `error: |-`, `Expected values to be strictly equal:`). */
const LEADS_IN = /(:|\|-?)\s*$/

/**
 * The part of a failed command's output that says why it failed, for a person (`tanuki task
 * show`, the dashboard's task page): its first lines naming an error, with the message a line
 * ending in `:` or `|-` leads in to (at most `TELLING_CAUSE_LINES`: a test runner names what
 * failed at the top and sums up at the end), then its last `TELLING_TAIL_LINES` lines; `…` where
 * lines are left out, each line cut at 300 characters. Blank lines around it are dropped.
 *
 * @example
 * tellingLines(output).join('\n')
 */
export function tellingLines(output: string): string[] {
  const trimmed = output.replace(/\s+$/, '').replace(/^\n+/, '')
  const lines = trimmed === '' ? [] : trimmed.split('\n')
  const before = Math.max(0, lines.length - TELLING_TAIL_LINES)
  const shown: string[] = []
  let taken = 0
  let next = 0
  let carry = 0
  for (let i = 0; i < before && taken < TELLING_CAUSE_LINES; i++) {
    const line = lines[i]!
    const follows = carry > 0 && i === next
    carry = follows ? carry - 1 : 0
    if (!follows && (!CAUSE.test(line) || NOT_CAUSE.test(line))) continue
    if (i > next) shown.push('…')
    shown.push(line)
    taken++
    next = i + 1
    if (LEADS_IN.test(line) && carry === 0) carry = 3
  }
  if (before > next) shown.push('…')
  shown.push(...lines.slice(before))
  return shown.map((line) => (line.length > 300 ? `${line.slice(0, 299)}…` : line))
}
