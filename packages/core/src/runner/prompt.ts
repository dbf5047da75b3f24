import type { Conflict } from '../agent/types.ts'
import type { LandingFeedback } from '../land/types.ts'
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
 * A try that ended without a verdict: a crash of the run (or kill -9) cut it off, or its agent was
 * lost under it. Nothing judged its work; the workspace may hold it.
 */
export interface CutOffNote {
  kind: 'cut-off'
  /** The try's number. */
  iteration: number
  how: 'crash' | 'lost'
  /** What ended it, for a lost agent. */
  cause?: string
  /** The prompt is for the same try again (the last one, run once more), not the next one. */
  again?: boolean
  /** The workspace holds its work, uncommitted (`TaskStart.carried`); absent: not known. */
  carried?: boolean
}

/**
 * What the workspace holds that the agent must deal with first: work that came back, a merge in
 * progress, or the work of a try cut off before it was judged.
 */
export type PromptNote = LandingFeedback | ({ kind: 'merge' } & Conflict) | CutOffNote

const tail = (text: string): string => (text.length > FEEDBACK_CHARS ? `…${text.slice(-FEEDBACK_CHARS)}` : text)

/** The section a note adds to the prompt. */
function noteLines(note: PromptNote): string[] {
  switch (note.kind) {
    case 'cut-off': {
      const what =
        note.how === 'crash'
          ? 'the run ended (a crash or kill -9) while it ran'
          : `its agent was lost while it ran${note.cause ? ` (${note.cause})` : ''}`
      return [
        `## Try ${note.iteration} was cut off before it was checked`,
        '',
        `Try ${note.iteration} did not finish: ${what}, so nothing checked its work.${note.again ? ' This is that try again.' : ''}`,
        note.carried
          ? 'What it did so far is in your working directory, uncommitted (`git status`, `git diff` show it): carry on from there.'
          : 'What it did so far is in your working directory if this workspace kept it: look (`git status`, `git diff`) before you start over.',
      ]
    }
    case 'gate': {
      const exited = `On top of what has landed, \`${note.command}\` exited with ${note.exitCode ?? 'no code (killed)'}`
      const output = note.output.trim()
      // A silent check (`test -f x`): an empty block read as lost output, so it is said in words.
      const printed = output
        ? [`${exited} and printed:`, '', '```', tail(output), '```']
        : [`${exited} (the command printed nothing).`]
      return [
        '## Your work passed on its own, but not combined with the work that landed since',
        '',
        `Your earlier work is in your working directory. ${printed[0]}`,
        ...printed.slice(1),
        '',
        'Make it pass combined, then finish the task.',
      ]
    }
    case 'conflict':
    case 'merge': {
      const where =
        note.kind === 'conflict'
          ? 'Your earlier work did not apply cleanly on the work that landed since.'
          : `Bringing in ${note.what} did not apply cleanly.`
      return [
        '## Resolve a merge first',
        '',
        `${where} A merge is in progress in your working directory; these files have conflict markers (\`<<<<<<<\`, \`=======\`, \`>>>>>>>\`):`,
        '',
        ...note.files.map((file) => `- \`${file}\``),
        '',
        'What the other side changed:',
        '',
        '```diff',
        tail(note.detail.trim()),
        '```',
        '',
        "Edit those files to keep both sides' intent, remove every conflict marker, then finish the task. Tanuki commits the result.",
      ]
    }
  }
}

/**
 * The prompt for one iteration: the task's title and body, how completion is checked, what the
 * workspace holds that must be dealt with first (a merge in progress, work that failed to land),
 * and from the second try on, why the previous one fell short (with the tail of what verify printed).
 */
export function buildPrompt(
  task: Task,
  iteration: number,
  previous?: PromptFeedback,
  notes: readonly PromptNote[] = [],
): string {
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
  for (const note of notes) lines.push('', ...noteLines(note))
  if (previous) {
    const { validation } = previous
    lines.push('', `## Previous try (${previous.iteration}) did not pass`, '', validation.reason + '.')
    const output = validation.verify?.output.trim()
    if (validation.verify && output) {
      lines.push('', `\`${validation.verify.command}\` printed:`, '', '```', tail(output), '```')
    }
    lines.push('', 'Fix what it shows, then finish the task.')
  }
  return lines.join('\n') + '\n'
}
