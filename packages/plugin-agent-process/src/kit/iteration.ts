import type { RunRequest, RunResult } from '@tanuki/core'
import type { AgentKind } from './kinds/types.ts'
import { runPlan, type ExecStep } from './run-plan.ts'
import type { Workspace } from './workspace.ts'

/** What `runIteration` needs of an agent. */
export interface IterationParts {
  /** The agent's name, for its commits. */
  agent: string
  kind: AgentKind
  workspace: Workspace
  /** Commit each iteration's work on the agent's branch. */
  commit: boolean
  /** Runs one step where the agent works (a local process, a `docker exec`…). */
  execStep: ExecStep
}

/**
 * One iteration of a task, the same for every backend that runs agent kinds: run the kind's plan
 * step by step, then commit what the agent changed on its branch (the workspace was prepared for
 * the task by `Workspace.begin`). Steps get `TANUKI_TASK_ID` and `TANUKI_ITERATION` in their
 * environment.
 *
 * @example
 * const result = await runIteration({ agent: name, kind, workspace, commit: true, execStep }, request)
 */
export async function runIteration(parts: IterationParts, request: RunRequest): Promise<RunResult> {
  const { task, iteration, signal } = request
  const note = (text: string): void => request.onOutput?.({ stream: 'stderr', text: `tanuki: ${text}\n` })
  const plan = parts.kind.plan({ prompt: request.prompt, task, ...(request.budget ? { budget: request.budget } : {}) })
  const env = { TANUKI_TASK_ID: task.id, TANUKI_ITERATION: String(iteration) }
  const result = await runPlan(
    plan,
    (step, onChunk, stepSignal) => parts.execStep({ ...step, env: { ...env, ...step.env } }, onChunk, stepSignal),
    { signal, ...(request.onOutput ? { onOutput: request.onOutput } : {}) },
  )
  if (parts.commit) {
    // A merge the agent was to resolve and did not: its markers are not work to commit or land.
    const left = (await parts.workspace.unresolved?.()) ?? []
    if (left.length > 0 && !signal.aborted) {
      const files = left.join(', ')
      // A limit or a start that failed says more (the try is not counted, or the role pauses).
      const own = result.failure?.class
      if (own === 'rate-limited' || own === 'could-not-start') return result
      return {
        ...result,
        error: `the merge conflict in ${files} is not resolved`,
        failure: {
          class: 'agent-error',
          unfinished: true,
          cause:
            `the merge conflict in ${files} is not resolved: ${left.length === 1 ? 'it still holds' : 'they still hold'} conflict markers (<<<<<<<, =======, >>>>>>>). ` +
            'Edit them to keep both changes and remove the markers. Nothing of this try was committed.',
        },
      }
    }
    const message = `tanuki(${parts.agent}): ${task.id} iteration ${iteration}: ${task.title}\n\nTanuki-Task: ${task.id}\nTanuki-Agent: ${parts.agent}\n`
    // The work stays in the worktree; say why it is not on the branch (dependents will not see it).
    await parts.workspace.commit(message).catch((error: unknown) => note((error as Error).message))
  }
  return result
}
