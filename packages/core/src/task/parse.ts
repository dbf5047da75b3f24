import { isMap, isNode, isScalar, parseDocument, type Document, type Node } from 'yaml'
import { TanukiError, errorMessage } from '../errors.ts'
import { readPlainYaml } from './plain-yaml.ts'
import { frontMatterProblems, type FieldProblem } from './schema.ts'
import {
  DEFAULT_MAX_ITERATIONS,
  type Task,
  type TaskInput,
  type TaskPatch,
  type TaskPriority,
  type TaskStatus,
} from './types.ts'

/** Front-matter keys that are fields of `Task`; everything else is kept in `extra`. */
const TASK_FIELDS = new Set([
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

const text = (value: unknown): string | undefined =>
  value === undefined || value === null || value === '' ? undefined : String(value)

function list(value: unknown): string[] {
  if (value === undefined || value === null) return []
  return Array.isArray(value) ? value.map(String) : [String(value)]
}

/**
 * Validates a task given as front-matter fields (snake_case keys, as in a file) and fills in the
 * defaults. Throws a `TanukiError` (`TANUKI_TASK_INVALID`) naming the source and, for each
 * problem found, the field and value (`details.problems` lists them when there are several).
 */
export function taskFromFields(raw: Record<string, unknown>, body: string, source: string): Task {
  return buildTask(raw, body, source, [])
}

function buildTask(raw: Record<string, unknown>, body: string, source: string, found: FieldProblem[]): Task {
  const problems = [...found, ...frontMatterProblems(raw)]
  const id = text(raw.id)
  if (id !== undefined && list(raw.depends_on).includes(id) && problems.every((p) => p.field !== 'depends_on')) {
    problems.push({ field: 'depends_on', message: `lists the task itself (${id})`, value: id })
  }
  if (problems.length > 0) {
    // The dependencies, when they are fine themselves: a check of the project names a missing one
    // in the same pass as this file's problems.
    const deps = problems.some((p) => p.field === 'depends_on') ? [] : list(raw.depends_on)
    throw problemsError(source, problems, problems.some((p) => p.field === 'id') ? undefined : id, deps)
  }

  const completion = (raw.completion ?? {}) as Record<string, unknown>
  const verify = text(completion.verify)
  const signal = text(completion.signal)
  const assignedTo = raw.assigned_to === undefined || raw.assigned_to === null ? undefined : String(raw.assigned_to)
  const extra: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) {
    if (!TASK_FIELDS.has(key)) extra[key] = value
  }
  return {
    id: id!,
    title: text(raw.title)!,
    role: text(raw.role) ?? 'default',
    priority: (raw.priority ?? 'medium') as TaskPriority,
    status: (raw.status ?? 'pending') as TaskStatus,
    dependsOn: list(raw.depends_on),
    ...(assignedTo === undefined ? {} : { assignedTo }),
    completion: {
      ...(verify ? { verify } : {}),
      ...(signal ? { signal } : {}),
      maxIterations: (completion.max_iterations as number | undefined | null) ?? DEFAULT_MAX_ITERATIONS,
    },
    tags: list(raw.tags),
    body,
    source,
    extra,
  }
}

/**
 * The error of a task with `problems`. `details.id` is the task's id when the id itself is fine,
 * so that a task depending on it can be told its file is the problem; `details.dependsOn` its
 * dependencies, when they are fine and there are any.
 */
function problemsError(
  source: string,
  problems: FieldProblem[],
  id: string | undefined,
  dependsOn: string[] = [],
): TanukiError {
  const lines = problems.map((p) =>
    p.field ? `${source}: field "${p.field}": ${p.message}` : `${source}: ${p.message}`,
  )
  const first = problems[0]!
  const known = { ...(id === undefined ? {} : { id }), ...(dependsOn.length > 0 ? { dependsOn } : {}) }
  if (problems.length === 1) {
    return new TanukiError('TANUKI_TASK_INVALID', lines[0]!, {
      details: { source, field: first.field, value: first.value, ...known },
    })
  }
  return new TanukiError(
    'TANUKI_TASK_INVALID',
    `${source}: ${problems.length} problems:\n${problems.map((p) => `  - ${p.field ? `field "${p.field}": ` : ''}${p.message}`).join('\n')}`,
    { details: { source, field: first.field, value: first.value, problems: lines, ...known } },
  )
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
  // Most front matter is plain `key: value` lines, read without yaml's document model; the rest,
  // and anything in doubt, goes to yaml (see plain-yaml.ts).
  const plain = readPlainYaml(fm.yaml)
  if (plain) return buildTask(plain, text.slice(fm.bodyStart), source, [])
  return taskFromDocument(text, source, fm)
}

/** `parseTask` through yaml's document model alone: what the plain reader must agree with. */
export function parseTaskWithYaml(text: string, source: string): Task {
  return taskFromDocument(text, source, splitFrontMatter(text, source))
}

function taskFromDocument(text: string, source: string, fm: FrontMatter): Task {
  const doc = parseFrontMatterDocument(fm, source)
  const raw: unknown = doc.toJS()
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid(source, undefined, 'front matter must be a mapping of fields (id: …, title: …)')
  }
  const unwritable = writeBackProblem(doc, fm)
  return buildTask(raw as Record<string, unknown>, text.slice(fm.bodyStart), source, unwritable ? [unwritable] : [])
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

/** Keys Tanuki writes back (see `TaskPatch`). */
const WRITTEN_KEYS: readonly string[] = ['status', 'assigned_to', 'started_at', 'completed_at', 'failure', 'iterations']

/**
 * Why Tanuki could not write status back into this front matter without changing more than the
 * values it sets, or undefined when it can. Checked at load, so a file is refused before a run
 * rather than found unwritable in the middle of one.
 */
function writeBackProblem(doc: Document.Parsed, fm: FrontMatter): FieldProblem | undefined {
  const map = doc.contents
  if (!isMap(map) || !map.range) return undefined
  const after = fm.yaml.slice(map.range[2])
  if (!/^(\s|#[^\n]*)*$/.test(after)) {
    return {
      message: `front matter has more after its fields (${JSON.stringify(after.trim().split('\n')[0])}); remove it, so Tanuki can write status into the file`,
    }
  }
  for (const pair of map.items) {
    if (!isScalar(pair.key) || !WRITTEN_KEYS.includes(String(pair.key.value))) continue
    const value = pair.value
    if (value === null || (isScalar(value) && value.anchor === undefined && !value.tag)) continue
    return {
      field: String(pair.key.value),
      message:
        'is written by Tanuki and must be a plain value (no anchor, alias, tag or nested value); write it as `key: value`',
    }
  }
  return undefined
}

/** How the value of a written key is spelled: plain when unambiguous, else a JSON string. */
function rendered(value: string | number, flow: boolean): string {
  if (flow && typeof value === 'string' && !/^[A-Za-z_][A-Za-z0-9._-]*$/.test(value)) return JSON.stringify(value)
  return yamlScalar(value)
}

/** Deep equality of plain YAML data (what `toJS` returns). */
function sameData(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  if (keysA.length !== keysB.length) return false
  return keysA.every(
    (key) => keysB.includes(key) && sameData((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  )
}

/**
 * Rewrites only the given front-matter keys of a task file. Comments, key order, the other keys
 * and the body stay byte for byte: values are spliced into the original text at the positions
 * the YAML parser reports, never re-serialised. Block and flow (`{ id: a, … }`) front matter,
 * indented or not, are both kept in their style.
 *
 * The result is parsed again before it is returned: unless it reads as the same fields with the
 * patch applied, nothing is returned and `TANUKI_TASK_UNWRITABLE` is thrown, so a caller never
 * writes a file Tanuki could not read back.
 */
export function updateTaskText(text: string, patch: TaskPatch, source = 'task'): string {
  return updateTask(text, patch, source).text
}

/**
 * `updateTaskText`, with the task the new text reads as: what `parseTask` of it gives, from the
 * parse that checks the result, without parsing it once more; none when it is not a valid task
 * (the text is still written: only Tanuki's keys changed).
 */
export function updateTask(text: string, patch: TaskPatch, source = 'task'): { text: string; task: Task | undefined } {
  const fm = splitFrontMatter(text, source)
  return updatePlain(text, fm, patch, source) ?? updateWithDocument(text, fm, patch, source)
}

/** `updateTask` through yaml's document model alone: what the plain update must agree with. */
export function updateTaskWithYaml(
  text: string,
  patch: TaskPatch,
  source = 'task',
): { text: string; task: Task | undefined } {
  return updateWithDocument(text, splitFrontMatter(text, source), patch, source)
}

/** `updateTask` the plain way alone (see `updatePlain`): nothing where it leaves the update to yaml. */
export function updateTaskPlainly(
  text: string,
  patch: TaskPatch,
  source = 'task',
): { text: string; task: Task | undefined } | undefined {
  return updatePlain(text, splitFrontMatter(text, source), patch, source)
}

/**
 * `updateTask` for front matter the plain reader reads (see plain-yaml.ts), without yaml's
 * document model: each value is spliced into its line, as the document's ranges would place it,
 * and the result must read back (plainly) as the fields with the patch applied. Nothing when the
 * front matter is not plain, when a value's line may hold a comment, or when the result does not
 * read back so: yaml's way then decides, and refuses what it must.
 */
function updatePlain(
  text: string,
  fm: FrontMatter,
  patch: TaskPatch,
  source: string,
): { text: string; task: Task | undefined } | undefined {
  const fields = readPlainYaml(fm.yaml)
  if (!fields) return undefined
  const yaml = fm.yaml
  // Where each top-level key's value is: the line, and the value within it (no trailing spaces).
  const lines = new Map<string, { start: number; end: number; colon: number; from: number; to: number }>()
  let indent = -1
  for (let start = 0; start < yaml.length; ) {
    const newline = yaml.indexOf('\n', start)
    const end = newline === -1 ? yaml.length : newline + 1
    let content = newline === -1 ? end : newline
    if (yaml[content - 1] === '\r') content--
    let at = start
    while (yaml[at] === ' ') at++
    if (at < content && yaml[at] !== '#') {
      if (indent === -1) indent = at - start
      const colon = yaml.indexOf(':', at)
      if (at - start === indent && colon !== -1 && colon < content) {
        let from = colon + 1
        while (yaml[from] === ' ') from++
        let to = content
        while (to > from && yaml[to - 1] === ' ') to--
        lines.set(yaml.slice(at, colon), { start, end, colon, from, to })
      }
    }
    start = end
  }
  const expected: Record<string, unknown> = { ...fields }
  const edits: { start: number; end: number; text: string }[] = []
  const appended: string[] = []
  for (const [key, value] of Object.entries(patch) as [keyof TaskPatch, TaskPatch[keyof TaskPatch]][]) {
    if (value === undefined) continue
    const line = lines.get(key)
    if (line && yaml.slice(line.from, line.to).includes('#')) return undefined
    if (value === null) {
      delete expected[key]
      if (line) edits.push({ start: line.start, end: line.end, text: '' })
      continue
    }
    expected[key] = value
    const spelled = yamlScalar(value)
    if (!line) appended.push(`${key}: ${spelled}`)
    else if (line.from === line.to) edits.push({ start: line.colon + 1, end: line.colon + 1, text: ` ${spelled}` })
    else edits.push({ start: line.from, end: line.to, text: spelled })
  }
  let updatedYaml = yaml
  edits.sort((a, b) => b.start - a.start)
  for (const edit of edits) updatedYaml = updatedYaml.slice(0, edit.start) + edit.text + updatedYaml.slice(edit.end)
  if (appended.length > 0) {
    const newline = text.includes('\r\n') ? '\r\n' : '\n'
    const pad = ' '.repeat(Math.max(indent, 0))
    if (updatedYaml.length > 0 && !updatedYaml.endsWith('\n')) updatedYaml += newline
    updatedYaml += appended.map((line) => pad + line).join(newline) + newline
  }
  const read = readPlainYaml(updatedYaml)
  if (!read || !sameData(read, expected)) return undefined
  const closing = text.slice(fm.yamlStart + fm.yaml.length, fm.bodyStart)
  const updated = text.slice(0, fm.yamlStart) + updatedYaml + closing + text.slice(fm.bodyStart)
  let task: Task | undefined
  try {
    task = buildTask(read, text.slice(fm.bodyStart), source, [])
  } catch {
    task = undefined
  }
  return { text: updated, task }
}

function updateWithDocument(
  text: string,
  fm: FrontMatter,
  patch: TaskPatch,
  source: string,
): { text: string; task: Task | undefined } {
  const doc = parseFrontMatterDocument(fm, source)
  if (!isMap(doc.contents)) throw invalid(source, undefined, 'front matter must be a mapping of fields')
  const map = doc.contents
  const flow = Boolean(map.flow)
  let yaml = fm.yaml
  const edits: { start: number; end: number; text: string }[] = []
  const appended: string[] = []
  const newline = text.includes('\r\n') ? '\r\n' : '\n'
  const expected = doc.toJS() as Record<string, unknown>
  /** Entries of a flow map to take out, by index: neighbours go together, with one comma. */
  const removed = new Set<number>()

  for (const [key, value] of Object.entries(patch) as [keyof TaskPatch, TaskPatch[keyof TaskPatch]][]) {
    if (value === undefined) continue
    const index = map.items.findIndex((item) => isScalar(item.key) && item.key.value === key)
    const pair = map.items[index]
    const keyRange = pair && isScalar(pair.key) ? pair.key.range : undefined
    const valueRange = pair && isScalar(pair.value) ? pair.value.range : undefined
    // A block scalar's range takes in its last newline; an edit must leave that newline in place.
    const valueEnd = valueRange ? trimNewlines(yaml, valueRange[0], valueRange[1]) : undefined
    // `key:` with no value still gets an empty scalar, placed wherever a comment or the line end is.
    const empty = valueRange !== undefined && valueRange[0] === valueRange[1]
    if (value === null) {
      delete expected[key]
      if (!pair || !keyRange) continue
      if (flow) {
        removed.add(index)
      } else {
        // Any value goes with its key, a block list over several lines included.
        const nodeRange = isNode(pair.value) ? pair.value.range : undefined
        const end = nodeRange ? trimNewlines(yaml, nodeRange[0], nodeRange[1]) : keyRange[2]
        edits.push({ start: lineStart(yaml, keyRange[0]), end: lineEnd(yaml, end), text: '' })
      }
      continue
    }
    expected[key] = value
    const spelled = rendered(value, flow)
    if (pair && valueRange && valueEnd !== undefined && !empty) {
      edits.push({ start: valueRange[0], end: valueEnd, text: spelled })
    } else if (pair && keyRange && (pair.value === null || empty)) {
      // `key:` with no value: put one after the colon.
      const colon = yaml.indexOf(':', keyRange[1])
      edits.push({ start: colon + 1, end: colon + 1, text: ` ${spelled}` })
    } else if (pair) {
      throw invalid(source, key, 'cannot be updated: it is not a plain value in the front matter', value)
    } else {
      appended.push(`${key}: ${spelled}`)
    }
  }
  if (removed.size > 0) edits.push(...flowRemovals(fm.yaml, map.items, removed))
  if (appended.length > 0 && flow && map.range) {
    // Into the braces: `{ id: a }` becomes `{ id: a, status: complete }`.
    const close = yaml.lastIndexOf('}', map.range[1] - 1)
    const before = yaml.slice(0, close).trimEnd()
    // A trailing comma stays trailing: `{ a: 1, }` becomes `{ a: 1, status: x, }`.
    const text = before.endsWith(',')
      ? ` ${appended.join(', ')},`
      : `${before.endsWith('{') ? ' ' : ', '}${appended.join(', ')}`
    edits.push({ start: before.length, end: before.length, text })
  }
  edits.sort((a, b) => b.start - a.start)
  for (const edit of edits) yaml = yaml.slice(0, edit.start) + edit.text + yaml.slice(edit.end)
  if (appended.length > 0 && !flow) {
    // New keys line up with the others, however far the front matter is indented.
    const first = map.items[0]?.key
    const at = isNode(first) && first.range ? first.range[0] : 0
    const indent = ' '.repeat(at - lineStart(fm.yaml, at))
    if (yaml.length > 0 && !yaml.endsWith('\n')) yaml += newline
    yaml += appended.map((line) => indent + line).join(newline) + newline
  }
  const closing = text.slice(fm.yamlStart + fm.yaml.length, fm.bodyStart)
  const updated = text.slice(0, fm.yamlStart) + yaml + closing + text.slice(fm.bodyStart)
  const read = readsBack(updated, expected, source)
  const unwritable = writeBackProblem(read.doc, read.fm)
  let task: Task | undefined
  try {
    task = buildTask(read.fields, updated.slice(read.fm.bodyStart), source, unwritable ? [unwritable] : [])
  } catch {
    task = undefined
  }
  return { text: updated, task }
}

/**
 * The spans that take entries out of a flow map: `a: 1, key: v, b: 2` loses `key: v, `, and a
 * run of entries that ends the map loses the comma before it instead.
 */
function flowRemovals(
  yaml: string,
  items: readonly { key: unknown; value: unknown }[],
  removed: ReadonlySet<number>,
): { start: number; end: number; text: string }[] {
  const start = (i: number): number => (items[i]!.key as Node).range![0]
  const end = (i: number): number => {
    const { key, value } = items[i]!
    return isNode(value) && value.range ? value.range[1] : (key as Node).range![1]
  }
  const spans: { start: number; end: number; text: string }[] = []
  for (let i = 0; i < items.length; i++) {
    if (!removed.has(i)) continue
    let j = i
    while (removed.has(j + 1)) j++
    const trailing = /^\s*,/.exec(yaml.slice(end(j)))
    if (j + 1 < items.length) spans.push({ start: start(i), end: start(j + 1), text: '' })
    else if (trailing) {
      // `{ a: 1, key: v, }`: the entries go with their commas, the map keeps its trailing one.
      const from = i > 0 ? yaml.lastIndexOf(',', start(i)) + 1 : start(i)
      spans.push({ start: from, end: end(j) + trailing[0].length, text: '' })
    } else if (i > 0) spans.push({ start: end(i - 1), end: end(j), text: '' })
    else spans.push({ start: start(i), end: end(j), text: '' })
    i = j
  }
  return spans
}

/** Refuses a rewrite that would not read back as exactly the fields meant; else gives what it read. */
function readsBack(
  updated: string,
  expected: Record<string, unknown>,
  source: string,
): { fm: FrontMatter; doc: Document.Parsed; fields: Record<string, unknown> } {
  let read: { fm: FrontMatter; doc: Document.Parsed; fields: Record<string, unknown> }
  try {
    const fm = splitFrontMatter(updated, source)
    const doc = parseDocument(fm.yaml, { prettyErrors: false, uniqueKeys: true })
    if (doc.errors.length > 0) throw doc.errors[0]
    read = { fm, doc, fields: doc.toJS() as Record<string, unknown> }
  } catch (error) {
    throw unwritable(source, `the result would not parse (${errorMessage(error).split('\n')[0]})`, error)
  }
  if (!sameData(read.fields, expected)) throw unwritable(source, 'the result would not read back as the same fields')
  return read
}

function unwritable(source: string, why: string, cause?: unknown): TanukiError {
  return new TanukiError(
    'TANUKI_TASK_UNWRITABLE',
    `${source}: Tanuki did not write its status into this file: ${why}. The file is unchanged; ` +
      'write its front matter as plain `key: value` lines.',
    { ...(cause === undefined ? {} : { cause }), details: { source } },
  )
}
