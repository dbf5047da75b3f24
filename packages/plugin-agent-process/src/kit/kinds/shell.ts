import { codeBlocks } from '@tanuki/core'
import { createTextParser } from './text-output.ts'
import type { AgentKind, KindOptions, Step } from './types.ts'

/** Fence languages the shell kind runs. `shell` runs like `sh`. */
export const SHELL_LANGS = ['sh', 'bash', 'shell'] as const

/**
 * Runs a `bash` block with bash where there is one, else with sh, saying so on stderr. The choice
 * is made where the step runs (a container may lack bash even when the host has it).
 */
const BASH_OR_SH =
  'if command -v bash >/dev/null 2>&1; then exec bash --noprofile --norc -e -o pipefail -c "$1"; fi; ' +
  'echo "tanuki: bash not found, running this bash block with sh" >&2; exec sh -e -c "$1"'

/**
 * The `shell` kind: runs the fenced `sh`, `bash` and `shell` code blocks of the task's body, in
 * order, each as one step, with errexit on (`sh -e`, `bash -e -o pipefail`, like GitHub Actions
 * `run:` steps). The first block that fails ends the iteration. Needs no model: scripted projects
 * and the offline example use it. A task without such a block gives an error result.
 *
 * @example
 * // .tanuki/tasks/TASK-001.md body:
 * // ```sh
 * // echo hello > hello.txt
 * // ```
 * createShellKind({ kind: 'shell' })
 */
export function createShellKind(options: KindOptions = {}): AgentKind {
  return {
    name: 'shell',
    plan({ task }) {
      const steps: Step[] = codeBlocks(task.body, SHELL_LANGS).map((block) => ({
        argv:
          block.lang === 'bash' ? ['sh', '-c', BASH_OR_SH, 'tanuki-bash', block.code] : ['sh', '-e', '-c', block.code],
        label: `${block.lang} block at line ${block.line}`,
        ...(options.env ? { env: options.env } : {}),
      }))
      const none =
        steps.length === 0
          ? `task ${task.id} has no sh/bash code block to run${task.source ? ` (${task.source})` : ''}: the shell agent runs the body's fenced \`\`\`sh or \`\`\`bash blocks; add one, or give the role another kind`
          : undefined
      return { steps, parser: createTextParser(steps, none) }
    },
  }
}
