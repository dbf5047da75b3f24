import type { AgentFailure, OutputChunk, RunResult } from '@tanuki/core'
import type { OutputParser, Step } from './types.ts'

/** How much of the output a cause quotes. */
const CAUSE_CHARS = 300

function describeExit(exitCode: number | null): string {
  return exitCode === null ? 'was killed' : `exited with code ${exitCode}`
}

/**
 * The parser of kinds whose output is plain text (`command`, `shell`): the result's output is
 * everything printed, stdout and stderr interleaved; a step that exits non-zero sets `error`,
 * naming the step by its label, and a failure: `could-not-start` when `ownCommand` (the role's
 * own program: `command`) exited 126 or 127, else `agent-error` with the end of what it printed.
 */
export function createTextParser(steps: readonly Step[], noSteps?: string, ownCommand = false): OutputParser {
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
      let failure: AgentFailure | undefined
      if (error !== undefined) {
        const said = output.trim().split('\n').slice(-3).join(' / ').slice(-CAUSE_CHARS)
        const cause = said ? `${error}: ${said}` : error
        failure =
          ownCommand && (exitCode === 126 || exitCode === 127)
            ? { class: 'could-not-start', config: true, cause }
            : { class: 'agent-error', cause }
      }
      return {
        output,
        ...(exitCode === undefined ? {} : { exitCode }),
        ...(error === undefined ? {} : { error }),
        ...(failure ? { failure } : {}),
      }
    },
  }
}
