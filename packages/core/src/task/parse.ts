import { isMap, isNode, isScalar, parseDocument, type Document } from 'yaml'
import { TanukiError } from '../errors.ts'
import {
  DEFAULT_MAX_ITERATIONS,
  TASK_PRIORITIES,
  TASK_STATUSES,
  type Task,
  type TaskInput,
  type TaskPatch,
  type TaskPriority,
  type TaskStatus,
} from './types.ts'

const ID_PATTERN = /^[A-Za-z0-9._-]+$/
/** Front-matter keys with a meaning to Tanuki; everything else is kept in `extra`. */
const KNOWN_KEYS = new Set([
  'id',
  'title',
  'role',
  'priority',
  'status',
  'depends_on',
  'assigned_to',
  'completion',
  'tags',
])

interface FrontMatter {
  /** The YAML between the fences. */
  yaml: string
  /** Offset of `yaml` in the file. */
  yamlStart: number
  /** Offset of the body (just after the closing fence's newline). */
  bodyStart: number
  /** Line number (1-based) of the first YAML line, to report YAML errors as file lines. */
  firstLine: number
}

function invalid(source: string, field: string | undefined, message: string, value?: unknown): TanukiError {
  const where = field ? `${source}: field "${field}"` : source
  return new TanukiError('TANUKI_TASK_INVALID', `${where}: ${message}`, {
    details: { source, field, value },
  })
}

function splitFrontMatter(text: string, source: string): FrontMatter {
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0
  const open = /^---[ \t]*\r?\n/.exec(text.slice(bom))
  if (!open) {
    throw invalid(
      source,
      undefined,
      'no YAML front matter; a task file starts with a "---" line, then id/title and other fields, then "---"',
    )
  }
  const yamlStart = bom + open[0].length
  const close = /^---[ \t]*(\r?\n|$)/m
  const rest = text.slice(yamlStart)
  const match = close.exec(rest)
  if (!match) throw invalid(source, undefined, 'front matter is never closed; add a "---" line after it')
  return {
    yaml: rest.slice(0, match.index),
    yamlStart,
    bodyStart: yamlStart + match.index + match[0].length,
    firstLine: 2,
  }
}

function parseFrontMatterDocument(fm: FrontMatter, source: string): Document.Parsed {
  const doc = parseDocument(fm.yaml, { prettyErrors: false, uniqueKeys: true })
  const error = doc.errors[0]
  if (error) {
    // `linePos` is only filled in with `prettyErrors`, which also rewrites the message; count lines ourselves.
    const line = fm.yaml.slice(0, error.pos[0]).split('\n').length
    const at = ` (line ${fm.firstLine + line - 1})`
    throw new TanukiError(
      'TANUKI_TASK_INVALID',
      `${source}: malformed YAML front matter${at}: ${error.message.split('\n')[0]}`,
      { cause: error, details: { source, line } },
    )
  }
  return doc
}

function optionalString(raw: Record<string, unknown>, key: string, source: string, field = key): string | undefined {
  const value = raw[key]
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(value)
  throw invalid(source, field, `must be a string, got ${JSON.stringify(value)}`, value)
}

function stringList(raw: Record<string, unknown>, key: string, source: string): string[] {
  const value = raw[key]
  if (value === undefined || value === null) return []
  if (typeof value === 'string') return [value]
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number')) {
    return value.map(String)
  }
  throw invalid(source, key, `must be a list of strings, got ${JSON.stringify(value)}`, value)
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, field: string, source: string): T {
  if (value === undefined || value === null) return fallback
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
  throw invalid(source, field, `is ${JSON.stringify(value)}; allowed: ${allowed.join(', ')}`, value)
}

/**
 * Validates a task given as front-matter fields (snake_case keys, as in a file) and fills in the
 * defaults. Throws a `TanukiError` (`TANUKI_TASK_INVALID`) naming the source, field and value.
 */
export function taskFromFields(raw: Record<string, unknown>, body: string, source: string): Task {
  const id = raw.id
  if (id === undefined || id === null || id === '')
    throw invalid(source, 'id', 'is missing; every task needs a unique id')
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw invalid(source, 'id', `must be a string, got ${JSON.stringify(id)}`, id)
  }
  const idText = String(id)
  if (!ID_PATTERN.test(idText)) {
    throw invalid(
      source,
      'id',
      `is ${JSON.stringify(idText)}; use only letters, digits, ".", "_" and "-" (no spaces or path separators)`,
      idText,
    )
  }
  const title = optionalString(raw, 'title', source)
  if (!title) throw invalid(source, 'title', 'is missing; every task needs a title')

  const role = optionalString(raw, 'role', source) ?? 'default'
  if (!role.trim()) throw invalid(source, 'role', 'is empty', role)
  const priority = oneOf<TaskPriority>(raw.priority, TASK_PRIORITIES, 'medium', 'priority', source)
  const status = oneOf<TaskStatus>(raw.status, TASK_STATUSES, 'pending', 'status', source)
  const dependsOn = stringList(raw, 'depends_on', source)
  for (const dep of dependsOn) {
    if (dep === idText) throw invalid(source, 'depends_on', `lists the task itself (${idText})`, dep)
  }
  const tags = stringList(raw, 'tags', source)
  const completion = completionFromFields(raw.completion, source)
  const extra: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) {
    if (!KNOWN_KEYS.has(key)) extra[key] = value
  }
  const assignedTo = optionalString(raw, 'assigned_to', source)
  return {
    id: idText,
    title,
    role,
    priority,
    status,
    dependsOn,
    ...(assignedTo === undefined ? {} : { assignedTo }),
    completion,
    tags,
    body,
    source,
    extra,
  }
}

function completionFromFields(value: unknown, source: string): Task['completion'] {
  if (value === undefined || value === null) {
    throw invalid(source, 'completion', 'is missing; give a "verify" command, a "signal" string, or both')
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(
      source,
      'completion',
      `must be a mapping with verify/signal/max_iterations, got ${JSON.stringify(value)}`,
      value,
    )
  }
  const fields = value as Record<string, unknown>
  const verify = optionalString(fields, 'verify', source, 'completion.verify')
  const signal = optionalString(fields, 'signal', source, 'completion.signal')
  if (!verify && !signal) {
    throw invalid(
      source,
      'completion',
      'has neither "verify" nor "signal"; give at least one so Tanuki can tell when the task is done',
    )
  }
  const max = fields.max_iterations ?? DEFAULT_MAX_ITERATIONS
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
    throw invalid(source, 'completion.max_iterations', `is ${JSON.stringify(max)}; use a positive whole number`, max)
  }
  return {
    ...(verify ? { verify } : {}),
    ...(signal ? { signal } : {}),
    maxIterations: max,
  }
}

/**
 * Parses a task file: YAML front matter between `---` fences, then the Markdown body.
 *
 * @param source where the text came from, used in every error message (usually the file path)
 * @example
 * const task = parseTask(await readFile(path, 'utf8'), path)
 */
export function parseTask(text: string, source: string): Task {
  const fm = splitFrontMatter(text, source)
  const doc = parseFrontMatterDocument(fm, source)
  const raw: unknown = doc.toJS()
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid(source, undefined, 'front matter must be a mapping of fields (id: …, title: …)')
  }
  return taskFromFields(raw as Record<string, unknown>, text.slice(fm.bodyStart), source)
}

/**
 * Builds a task in code, with the same validation and defaults as a file.
 *
 * @example
 * createTask({ id: 'build', title: 'Build it', completion: { verify: 'make' } })
 */
export function createTask(input: TaskInput): Task {
  const source = input.source ?? `task ${input.id}`
  const fields: Record<string, unknown> = {
    ...input.extra,
    id: input.id,
    title: input.title,
    role: input.role,
    priority: input.priority,
    status: input.status,
    depends_on: input.dependsOn,
    assigned_to: input.assignedTo,
    tags: input.tags,
    completion: input.completion && {
      verify: input.completion.verify,
      signal: input.completion.signal,
      max_iterations: input.completion.maxIterations,
    },
  }
  return taskFromFields(fields, input.body ?? '', source)
}

/**
 * @deprecated Use `createTask`: it builds and validates a task, it does not just return its input
 * as the other `defineX` helpers do.
 */
export const defineTask: (input: TaskInput) => Task = createTask

function yamlScalar(value: string | number): string {
  if (typeof value === 'number') return String(value)
  // Plain when unambiguous (ids, statuses, ISO times); otherwise a JSON string, which is valid YAML.
  // A trailing ":" would read as a nested mapping key.
  if (
    /^[A-Za-z_][A-Za-z0-9._:+-]*$/.test(value) &&
    !value.endsWith(':') &&
    !/^(true|false|null|yes|no|on|off|~)$/i.test(value)
  ) {
    return value
  }
  return JSON.stringify(value)
}

function trimNewlines(text: string, start: number, end: number): number {
  while (end > start && (text[end - 1] === '\n' || text[end - 1] === '\r')) end--
  return end
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1
}

function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset)
  return nl === -1 ? text.length : nl + 1
}

/**
 * Rewrites only the given front-matter keys of a task file. Comments, key order, the other keys
 * and the body stay byte for byte: values are spliced into the original text at the positions
 * the YAML parser reports, never re-serialised.
 */
export function updateTaskText(text: string, patch: TaskPatch, source = 'task'): string {
  const fm = splitFrontMatter(text, source)
  const doc = parseFrontMatterDocument(fm, source)
  if (!isMap(doc.contents)) throw invalid(source, undefined, 'front matter must be a mapping of fields')
  const map = doc.contents
  let yaml = fm.yaml
  const edits: { start: number; end: number; text: string }[] = []
  const appended: string[] = []
  const newline = text.includes('\r\n') ? '\r\n' : '\n'

  for (const [key, value] of Object.entries(patch) as [keyof TaskPatch, TaskPatch[keyof TaskPatch]][]) {
    if (value === undefined) continue
    const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key)
    const valueRange = pair && isScalar(pair.value) ? pair.value.range : undefined
    // A block scalar's range takes in its last newline; an edit must leave that newline in place.
    const valueEnd = valueRange ? trimNewlines(yaml, valueRange[0], valueRange[1]) : undefined
    // `key:` with no value still gets an empty scalar, placed wherever a comment or the line end is.
    const empty = valueRange !== undefined && valueRange[0] === valueRange[1]
    if (value === null) {
      if (pair && isScalar(pair.key) && pair.key.range) {
        // Any value goes with its key, a block list over several lines included.
        const nodeRange = isNode(pair.value) ? pair.value.range : undefined
        const end = nodeRange ? trimNewlines(yaml, nodeRange[0], nodeRange[1]) : pair.key.range[2]
        edits.push({ start: lineStart(yaml, pair.key.range[0]), end: lineEnd(yaml, end), text: '' })
      }
      continue
    }
    const rendered = yamlScalar(value)
    if (pair && valueRange && valueEnd !== undefined && !empty) {
      edits.push({ start: valueRange[0], end: valueEnd, text: rendered })
    } else if (pair && isScalar(pair.key) && pair.key.range && (pair.value === null || empty)) {
      // `key:` with no value: put one after the colon.
      const colon = yaml.indexOf(':', pair.key.range[1])
      edits.push({ start: colon + 1, end: colon + 1, text: ` ${rendered}` })
    } else if (pair) {
      throw invalid(source, key, 'cannot be updated: it is not a plain value in the front matter', value)
    } else {
      appended.push(`${key}: ${rendered}`)
    }
  }
  edits.sort((a, b) => b.start - a.start)
  for (const edit of edits) yaml = yaml.slice(0, edit.start) + edit.text + yaml.slice(edit.end)
  if (appended.length > 0) {
    if (yaml.length > 0 && !yaml.endsWith('\n')) yaml += newline
    yaml += appended.join(newline) + newline
  }
  const closing = text.slice(fm.yamlStart + fm.yaml.length, fm.bodyStart)
  return text.slice(0, fm.yamlStart) + yaml + closing + text.slice(fm.bodyStart)
}
