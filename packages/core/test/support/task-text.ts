/** Helpers of the tests of task files' parsing and write-back (`parse.test.ts`, `update-text.test.ts`). */
import { isTanukiError, type TanukiError } from '../../src/errors.ts'

/** The error `fn` throws (the test fails if it throws nothing). */
export function thrown(fn: () => unknown): TanukiError {
  try {
    fn()
  } catch (error) {
    if (isTanukiError(error)) return error
    throw error
  }
  throw new Error('expected a TanukiError, nothing was thrown')
}

/** A task file from front-matter lines and a body. */
export function file(lines: string[], body = 'Do it.\n'): string {
  return `---\n${lines.join('\n')}\n---\n${body}`
}

export const SOURCE = 'tasks/sample.md'
