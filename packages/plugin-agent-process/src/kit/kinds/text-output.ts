import type { OutputChunk, RunResult } from '@tanuki/core'
import type { OutputParser, Step } from './types.ts'

function describeExit(exitCode: number | null): string {
  return exitCode === null ? 'was killed' : `exited with code ${exitCode}`
}

/**
 * The parser of kinds whose output is plain text (`command`, `shell`): the result's output is
 * everything printed, stdout and stderr interleaved; a step that exits non-zero sets `error`,
 * naming the step by its label.
 */
export function createTextParser(steps: readonly Step[], noSteps?: string): OutputParser {
  let output = ''
  let ended = 0
  let exitCode: number | null | undefined
  let error: string | undefined = noSteps
  return {
    push(chunk: OutputChunk) {
      output += chunk.text
    },
    end(code: number | null) {
      const step = steps[ended++]
      exitCode = code
      if (code !== 0 && error === undefined) error = `${step?.label ?? step?.argv[0] ?? 'step'} ${describeExit(code)}`
    },
    result(): RunResult {
      return {
        output,
        ...(exitCode === undefined ? {} : { exitCode }),
        ...(error === undefined ? {} : { error }),
      }
    },
  }
}
