import type { Task } from '../task/types.ts'
import type { Validation } from '../validator/index.ts'

/** Longest tail of the previous verify output carried into the next prompt. */
const FEEDBACK_CHARS = 4000

/** What the previous iteration left for the next prompt. */
export interface PromptFeedback {
  iteration: number
  validation: Validation
}

/**
 * The prompt for one iteration: the task's title and body, how completion is checked, and from
 * the second try on, why the previous one fell short (with the tail of what verify printed).
 */
export function buildPrompt(task: Task, iteration: number, previous?: PromptFeedback): string {
  const lines = [`# ${task.title}`, '', `Task ${task.id} (try ${iteration} of ${task.completion.maxIterations}).`, '']
  const body = task.body.trim()
  if (body) lines.push(body, '')
  lines.push('## How this task is checked', '')
  if (task.completion.verify) {
    lines.push(`- Tanuki runs \`${task.completion.verify}\` in your working directory; it must exit with code 0.`)
  }
  if (task.completion.signal) {
    lines.push(`- When the work is done, say \`${task.completion.signal}\` in your final message (and not before).`)
  }
  if (!task.completion.verify && !task.completion.signal) {
    lines.push('- Nothing is checked automatically: when you finish without an error, a person reviews the work.')
  }
  if (previous) {
    const { validation } = previous
    lines.push('', `## Previous try (${previous.iteration}) did not pass`, '', validation.reason + '.')
    const output = validation.verify?.output.trim()
    if (validation.verify && output) {
      const tail = output.length > FEEDBACK_CHARS ? `…${output.slice(-FEEDBACK_CHARS)}` : output
      lines.push('', `\`${validation.verify.command}\` printed:`, '', '```', tail, '```')
    }
    lines.push('', 'Fix what it shows, then finish the task.')
  }
  return lines.join('\n') + '\n'
}
