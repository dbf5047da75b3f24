/** A line that names a failed test: TAP's `not ok 3 - name`, `✗`/`✖`/`×`/`●` marks, `FAIL path`. */
const FAILED_TEST = /^\s*(?:not ok\b|[✗✖×●]\s|FAIL\b)/
/** A line that names an error by its type (`AssertionError`, `name: 'TypeError'`), not a stack frame. */
const ERROR_LINE = /\b\w*(?:Error|Exception)\b/
const STACK_FRAME = /^\s*at\s/

/**
 * What makes two outputs of a failed gate the same failure: the lines that name its failed tests
 * (TAP `not ok`, `✗`, `FAIL`; a TAP directive `# TODO` is not a failure) and the errors they raised,
 * sorted, their numbers (test numbers, durations) left out, when it has any: tests other tasks add
 * between tries change the rest (the counts, the names of the tests that pass). Else the end of
 * the output, its numbers left out.
 */
export function gateFailureKey(output: string): string {
  const lines = output.split('\n')
  const failed = lines.filter((line) => FAILED_TEST.test(line) && !/#\s*TODO\b/i.test(line))
  if (failed.length === 0) return output.slice(-2000).replace(/\d+/g, '#')
  const errors = lines.filter((line) => ERROR_LINE.test(line) && !STACK_FRAME.test(line))
  const said = (line: string): string =>
    line
      .trim()
      .replace(/^not ok \d+/, 'not ok')
      .replace(/\d+(?:\.\d+)?/g, '#')
  return [...new Set([...failed, ...errors].map(said))].sort().join('\n')
}
