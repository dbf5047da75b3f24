import { TanukiError } from '../errors.ts'
import type { Task } from '../task/types.ts'

/**
 * `land.message`: the landing commit's message above Tanuki's trailers. A template whose
 * placeholders (`LANDING_MESSAGE_PLACEHOLDERS`) take the task's values, or a function of the task
 * for anything else (a front-matter key of your own is in `task.extra`).
 *
 * @example
 * land: { message: 'feat({role}): {title}\n\n{summary}' }
 * land: { message: (task) => `${task.title}\n\nRefs: ${task.extra.ticket}` }
 */
export type LandingMessage = string | ((task: Task) => string)

/** What a `land.message` template may name, each with what it stands for. */
export const LANDING_MESSAGE_PLACEHOLDERS = {
  id: "the task's id",
  title: "the task's title",
  role: "the task's role",
  priority: "the task's priority",
  tags: "the task's tags, comma-separated",
  summary: "the first line of the task's body (at most 200 characters)",
} as const

/** The message a landing commit had before `land.message` existed, and still has without it. */
export const DEFAULT_LANDING_MESSAGE = '{title}\n\n{summary}'

const PLACEHOLDER = /\{([^{}\s]*)\}/g

/**
 * What is wrong with a `land.message` template: a placeholder it does not know (a typo would
 * otherwise be written into every landing), or a message with no text of its own. Undefined when
 * it is fine.
 */
export function landingMessageProblem(template: string): string | undefined {
  const known = Object.keys(LANDING_MESSAGE_PLACEHOLDERS)
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    if (!known.includes(name!))
      return (
        `names {${name}}, which is no placeholder; known: ${known.map((key) => `{${key}}`).join(', ')} ` +
        '(for a front-matter key of your own, write land.message as a function: (task) => `… ${task.extra.ticket}`)'
      )
  }
  // {summary} and {tags} may be empty for a task: something else must give the commit its subject.
  if (!template.replace(/\{(summary|tags)\}/g, '').trim())
    return 'must say something besides {summary} and {tags}, which a task may leave empty: start it with {title}'
  return undefined
}

/** The first line of a task's body that says something (not code in a fence), cut to 200 characters. */
function summaryOf(body: string): string {
  let fenced = false
  for (const line of body.trim().split('\n')) {
    if (line.trimStart().startsWith('```')) fenced = !fenced
    else if (!fenced && line.trim()) return line.length > 200 ? `${line.slice(0, 197)}…` : line
  }
  return ''
}

/** A `Key: value` line, as git reads a trailer. */
const TRAILER_LINE = /^[A-Za-z0-9][A-Za-z0-9-]*: \S/

/**
 * A landing commit's message: `message` (the template, or what the function returns) with the
 * task's values, then `trailers`. Trailers of the message's own (`Refs: #12` in its last
 * paragraph) stay trailers: Tanuki's join their paragraph, since git reads only the last one.
 * Blank lines a placeholder left empty (a task without a body, for `{summary}`) are dropped.
 */
export function landingMessage(task: Task, trailers: readonly string[], message?: LandingMessage): string {
  let text: string
  if (typeof message === 'function') {
    try {
      text = message(task)
    } catch (error) {
      throw new TanukiError(
        'TANUKI_LAND_FAILED',
        `land.message failed for ${task.id}: ${error instanceof Error ? error.message : String(error)}. Fix the function in your config, then \`tanuki land\`.`,
        { cause: error },
      )
    }
    if (typeof text !== 'string' || !text.trim())
      throw new TanukiError(
        'TANUKI_LAND_FAILED',
        `land.message returned ${typeof text === 'string' ? 'an empty message' : `a ${typeof text}, not a string,`} for ${task.id}. ` +
          'Make it return the commit message, then `tanuki land`.',
      )
  } else {
    const values: Record<string, string> = {
      id: task.id,
      title: task.title,
      role: task.role,
      priority: task.priority,
      tags: task.tags.join(', '),
      summary: summaryOf(task.body),
    }
    text = (message ?? DEFAULT_LANDING_MESSAGE).replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole)
  }
  const paragraphs = text
    .replace(/\r\n/g, '\n')
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/\s+$/, ''))
    .filter((paragraph) => paragraph.trim())
  const last = paragraphs.at(-1)
  if (paragraphs.length > 1 && last?.split('\n').every((line) => TRAILER_LINE.test(line)))
    paragraphs[paragraphs.length - 1] = [last, ...trailers].join('\n')
  else paragraphs.push(trailers.join('\n'))
  return paragraphs.join('\n\n')
}
