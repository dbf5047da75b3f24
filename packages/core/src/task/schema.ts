import * as v from 'valibot'
import { nameProblem } from '../names/index.ts'
import { closestName } from '../names/suggest.ts'
import { MAX_ITERATIONS_LIMIT, TASK_PRIORITIES, TASK_STATUSES } from './types.ts'

/** One thing wrong with a task's front matter: the field (dotted), what is wrong, the value found. */
export interface FieldProblem {
  field?: string
  message: string
  value?: unknown
}

/** Front-matter keys with a meaning to Tanuki (those it writes back included). */
export const FRONT_MATTER_KEYS = [
  'id',
  'title',
  'role',
  'priority',
  'status',
  'depends_on',
  'completion',
  'tags',
  'budget',
  'assigned_to',
  'started_at',
  'completed_at',
  'iterations',
  'failure',
] as const
const COMPLETION_KEYS = ['verify', 'signal', 'max_iterations'] as const
const BUDGET_KEYS = ['usd', 'tokens'] as const

const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function show(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  return JSON.stringify(value) ?? String(value)
}

/** A message that names the value found: `(value) => '…'` as a valibot message. */
const says =
  (text: (value: unknown) => string) =>
  (issue: { input: unknown }): string =>
    text(issue.input)

const absent = (value: unknown): boolean => value === undefined || value === null

const optional = <T extends v.GenericSchema>(schema: T) => v.nullish(schema)

/** Text; a number is taken as its digits. `required` says why it must be there. */
const scalarText = (required?: string) =>
  v.custom<string | number>(
    (value) => (typeof value === 'string' && (value !== '' || !required)) || typeof value === 'number',
    says((value) =>
      required && (absent(value) || value === '') ? `is missing; ${required}` : `must be a string, got ${show(value)}`,
    ),
  )

/** `verify` and `signal`: text only. A bare number is most likely a mistake (`verify: 0`). */
const commandText = v.string(
  says((value) => `must be a string, got ${show(value)}${typeof value === 'number' ? ' (quote it)' : ''}`),
)

const stringList = v.custom<string | (string | number)[]>(
  (value) =>
    typeof value === 'string' ||
    (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number')),
  says((value) => `must be a list of strings, got ${show(value)}`),
)

const oneOf = (allowed: readonly string[]) =>
  v.picklist(
    allowed,
    says((value) => `is ${show(value)}; allowed: ${allowed.join(', ')}`),
  )

const maxIterations = v.custom<number>(
  (value) => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_ITERATIONS_LIMIT,
  says((value) => {
    const wanted = `use a positive whole number up to ${MAX_ITERATIONS_LIMIT}`
    if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) return `is infinite (.inf); ${wanted}`
    if (typeof value === 'number' && Number.isNaN(value)) return `is not a number (.nan); ${wanted}`
    return `is ${show(value)}; ${wanted}`
  }),
)

const role = v.custom<string | number>(
  (value) =>
    (typeof value === 'string' || typeof value === 'number') &&
    String(value).trim() !== '' &&
    nameProblem(String(value), 'role') === undefined,
  says((value) => {
    if (typeof value !== 'string' && typeof value !== 'number') return `must be a string, got ${show(value)}`
    if (String(value).trim() === '') return 'is empty'
    return `is ${show(value)}; a role must be a plain name: letters, digits, ".", "_" and "-", not starting with "."`
  }),
)

const id = v.custom<string | number>(
  (value) =>
    (typeof value === 'string' || typeof value === 'number') && nameProblem(String(value), 'task id') === undefined,
  says((value) => {
    if (absent(value) || value === '') return 'is missing; every task needs a unique id'
    if (typeof value !== 'string' && typeof value !== 'number') return `must be a string, got ${show(value)}`
    return `is ${show(String(value))}; use only letters, digits, ".", "_" and "-" (no spaces or path separators, not "." or "..")`
  }),
)

const completion = v.pipe(
  v.custom<Record<string, unknown>>(
    isMapping,
    says((value) => `must be a mapping with verify/signal/max_iterations, got ${show(value)}`),
  ),
  v.looseObject({
    verify: optional(commandText),
    signal: optional(commandText),
    max_iterations: optional(maxIterations),
  }),
)

const budget = v.pipe(
  v.custom<Record<string, unknown>>(
    isMapping,
    says((value) => `must be a mapping like { usd, tokens }, got ${show(value)}`),
  ),
  v.looseObject({
    usd: optional(
      v.pipe(
        v.number(says((value) => `must be a number of US dollars ≥ 0, got ${show(value)}`)),
        v.finite(says((value) => `must be a number of US dollars ≥ 0, got ${show(value)}`)),
        v.minValue(
          0,
          says((value) => `must be a number of US dollars ≥ 0, got ${show(value)}`),
        ),
      ),
    ),
    tokens: optional(
      v.custom<number>(
        (value) => Number.isInteger(value) && (value as number) >= 0,
        says((value) => `must be a whole number of tokens ≥ 0, got ${show(value)}`),
      ),
    ),
  }),
)

/** The one schema of a task's front matter. Unknown keys pass (they are kept in `extra`). */
const frontMatterSchema = v.looseObject({
  id,
  title: scalarText('every task needs a title'),
  role: optional(role),
  priority: optional(oneOf(TASK_PRIORITIES)),
  status: optional(oneOf(TASK_STATUSES)),
  depends_on: optional(stringList),
  completion: optional(completion),
  tags: optional(stringList),
  budget: optional(budget),
  assigned_to: optional(scalarText()),
  started_at: optional(scalarText()),
  completed_at: optional(scalarText()),
  failure: optional(scalarText()),
  iterations: optional(
    v.custom<number>(
      (value) => Number.isInteger(value) && (value as number) >= 0,
      says((value) => `must be a whole number ≥ 0, got ${show(value)}`),
    ),
  ),
})
function fieldOf(path: readonly { key: unknown }[] | undefined): string | undefined {
  return path && path.length > 0 ? path.map((item) => String(item.key)).join('.') : undefined
}

function nearMisses(
  fields: Record<string, unknown>,
  known: readonly string[],
  prefix: string,
  add: (problem: FieldProblem) => void,
): void {
  for (const key of Object.keys(fields)) {
    if (known.includes(key)) continue
    const meant = closestName(key, known)
    if (meant !== undefined) {
      add({
        field: `${prefix}${key}`,
        message: `is not a field Tanuki knows (did you mean "${prefix}${meant}"?); rename it, or if it is a field of your own, give it a name less like Tanuki's`,
        value: fields[key],
      })
    }
  }
}

/**
 * Checks front-matter fields against the one schema of a task: every problem, in field order,
 * each with its field, what is wrong and the value found. Unknown keys are allowed, except near
 * misses of Tanuki's own (`depends-on`, `dependsOn`, `completion.max_iteration`, `titel`).
 */
export function frontMatterProblems(raw: Record<string, unknown>): FieldProblem[] {
  const problems: FieldProblem[] = []
  const seen = new Set<string | undefined>()
  const add = (problem: FieldProblem): void => {
    // A value that fails several checks is one problem: report the first.
    if (seen.has(problem.field)) return
    seen.add(problem.field)
    problems.push(problem)
  }
  // id and title are present as keys, so their own checks (and messages) judge a missing value.
  const input = { id: undefined, title: undefined, ...raw }
  for (const issue of v.safeParse(frontMatterSchema, input, { abortEarly: false }).issues ?? []) {
    add({ field: fieldOf(issue.path), message: issue.message, value: issue.input })
  }

  const fields = raw.completion
  if (isMapping(fields)) {
    const given = (key: string): boolean => typeof fields[key] === 'string' && fields[key] !== ''
    if (!given('verify') && !given('signal') && !seen.has('completion.verify') && !seen.has('completion.signal')) {
      add({
        field: 'completion',
        message:
          'has neither "verify" nor "signal"; give at least one so Tanuki can tell when the task is done, ' +
          'or leave out "completion" to have a person review the task after one agent run',
      })
    }
    nearMisses(fields, COMPLETION_KEYS, 'completion.', add)
  }
  if (isMapping(raw.budget)) nearMisses(raw.budget, BUDGET_KEYS, 'budget.', add)
  nearMisses(raw, FRONT_MATTER_KEYS, '', add)
  return problems
}
