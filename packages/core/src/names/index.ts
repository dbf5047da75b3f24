import { TanukiError } from '../errors.ts'

export { closestName, didYouMean, type ClosestNameOptions } from './suggest.ts'

/** A task id: letters, digits, `.`, `_`, `-`; not `.` or `..`. */
const ID = /^[A-Za-z0-9._-]+$/
/** A role (and so an agent name): the same characters, not starting with a dot. */
const ROLE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/

/** What a name stands for, for messages and for which rule applies. */
export type NameKind = 'task id' | 'role' | 'agent name'

/**
 * Why `name` cannot be a task id, role or agent name, or undefined when it can. These names
 * become file and folder names (logs, worktrees, pid files, branches): the rule makes each one
 * exactly one path segment inside Tanuki's own folders, never `..`, never a separator.
 */
export function nameProblem(name: unknown, kind: NameKind): string | undefined {
  if (typeof name !== 'string' || name === '') return `a ${kind} must be a non-empty string`
  if (name === '.' || name === '..') return `${JSON.stringify(name)} is not a valid ${kind}`
  const pattern = kind === 'task id' ? ID : ROLE
  if (!pattern.test(name)) {
    return (
      `${JSON.stringify(name)} is not a valid ${kind}: use only letters, digits, ".", "_" and "-"` +
      (kind === 'task id' ? '' : ', not starting with "."') +
      ' (no spaces or path separators)'
    )
  }
  return undefined
}

/** True when `name` is a valid name of that kind (see `nameProblem`). */
export function isValidName(name: unknown, kind: NameKind): name is string {
  return nameProblem(name, kind) === undefined
}

/**
 * The one guard for every place a name becomes a path: returns the name, or throws
 * `TANUKI_NAME_INVALID` saying what is wrong with it. Hosts and backends call it before they
 * join a task id, role or agent name into a path.
 *
 * @example
 * join(logs, 'tasks', pathName(taskId, 'task id'))
 */
export function pathName(name: string, kind: NameKind): string {
  const problem = nameProblem(name, kind)
  if (problem) throw new TanukiError('TANUKI_NAME_INVALID', problem, { details: { name, kind } })
  return name
}
