import { describe, expect, it } from 'vitest'
import { bomTask, crlfTask, fullTask, handEditedTask, minimalTask } from '../../test/fixtures/tasks.ts'
import { isTanukiError, type TanukiError } from '../errors.ts'
import { createTask, parseTask, taskFromFields, updateTaskText } from './parse.ts'
import { DEFAULT_MAX_ITERATIONS, type TaskPatch } from './types.ts'

/** The error `fn` throws (the test fails if it throws nothing). */
function thrown(fn: () => unknown): TanukiError {
  try {
    fn()
  } catch (error) {
    if (isTanukiError(error)) return error
    throw error
  }
  throw new Error('expected a TanukiError, nothing was thrown')
}

/** A task file from front-matter lines and a body. */
function file(lines: string[], body = 'Do it.\n'): string {
  return `---\n${lines.join('\n')}\n---\n${body}`
}

const SOURCE = 'tasks/sample.md'

describe('parseTask', () => {
  it('reads every field of the documented example', () => {
    const task = parseTask(fullTask, 'tasks/TASK-001.md')
    expect(task).toEqual({
      id: 'TASK-001',
      title: 'Create File',
      role: 'backend',
      priority: 'high',
      status: 'pending',
      dependsOn: ['TASK-000'],
      completion: { verify: 'test -f out.txt', signal: 'FILE_DONE', maxIterations: 5 },
      tags: ['setup'],
      body: "Free Markdown: the agent's instructions.\n",
      source: 'tasks/TASK-001.md',
      extra: {},
    })
  })

  it('fills in role, priority, status, max_iterations and empty lists by default', () => {
    const task = parseTask(minimalTask, SOURCE)
    expect(task.role).toBe('default')
    expect(task.priority).toBe('medium')
    expect(task.status).toBe('pending')
    expect(task.completion).toEqual({ signal: 'HELLO', maxIterations: DEFAULT_MAX_ITERATIONS })
    expect(DEFAULT_MAX_ITERATIONS).toBe(30)
    expect(task.dependsOn).toEqual([])
    expect(task.tags).toEqual([])
    expect(task.assignedTo).toBeUndefined()
    expect('assignedTo' in task).toBe(false)
  })

  it('keeps unknown keys in extra and reads assigned_to', () => {
    const task = parseTask(handEditedTask, SOURCE)
    expect(task.id).toBe('api.users-2')
    expect(task.title).toBe('Users API: list & create')
    expect(task.assignedTo).toBe('backend-1')
    expect(task.dependsOn).toEqual(['db.schema', 'api.base'])
    expect(task.tags).toEqual(['api', 'v2'])
    expect(task.completion).toEqual({ verify: 'npm test -- --grep users', maxIterations: 4 })
    expect(task.extra).toEqual({
      owner: { team: 'platform', pager: '#oncall' },
      estimate: 3,
      notes: 'Keep the handler small.\nPaginate at 50.\n',
    })
    // The body's own `---` rule is Markdown, not a fence.
    expect(task.body).toContain('\n---\n\nDone means the tests pass.\n')
  })

  it('reads numbers where strings are expected as their text', () => {
    const task = parseTask(file(['id: 42', 'title: 7', 'depends_on: [1, two]', 'completion: { signal: "3" }']), SOURCE)
    expect(task.id).toBe('42')
    expect(task.title).toBe('7')
    expect(task.dependsOn).toEqual(['1', 'two'])
    expect(task.completion.signal).toBe('3')
  })

  it('takes a task without completion: one try, then a person reviews it', () => {
    const task = parseTask(file(['id: a', 'title: A']), SOURCE)
    expect(task.completion).toEqual({ maxIterations: DEFAULT_MAX_ITERATIONS })
    expect(createTask({ id: 'c', title: 'C' }).completion).toEqual({ maxIterations: DEFAULT_MAX_ITERATIONS })
  })

  it("accepts the keys Tanuki writes back and a task's budget, keeping them in extra", () => {
    const task = parseTask(
      file([
        'id: a',
        'title: A',
        'status: failed',
        'assigned_to: web-1',
        'started_at: 2025-01-01T00:00:00.000Z',
        'completed_at: 2025-01-01T00:01:00.000Z',
        'iterations: 3',
        'failure: "verify exited with code 1"',
        'budget: { usd: 2.5, tokens: 100000 }',
      ]),
      SOURCE,
    )
    expect(task.assignedTo).toBe('web-1')
    expect(task.extra).toEqual({
      started_at: '2025-01-01T00:00:00.000Z',
      completed_at: '2025-01-01T00:01:00.000Z',
      iterations: 3,
      failure: 'verify exited with code 1',
      budget: { usd: 2.5, tokens: 100000 },
    })
  })

  it('keeps unknown keys that are not near misses of known ones', () => {
    const task = parseTask(file(['id: a', 'title: A', 'owner: me', 'state: wip', 'tag_line: x', 'dep: 1']), SOURCE)
    expect(task.extra).toEqual({ owner: 'me', state: 'wip', tag_line: 'x', dep: 1 })
  })

  it('reports every problem of a file at once, each with its field', () => {
    const error = thrown(() =>
      parseTask(
        file(['id: ..', 'title: T', 'priority: urgent', 'dependsOn: [b]', 'completion: { verify: 1 }']),
        SOURCE,
      ),
    )
    expect(error.message).toContain(`${SOURCE}: 4 problems`)
    for (const field of ['id', 'priority', 'dependsOn', 'completion.verify']) {
      expect(error.message).toContain(`field "${field}"`)
    }
    expect(error.details.problems).toHaveLength(4)
    expect((error.details.problems as string[])[0]).toMatch(/^tasks\/sample\.md: field "id": /)
  })

  it('accepts a single string for depends_on and tags', () => {
    const task = parseTask(
      file(['id: b', 'title: B', 'depends_on: a', 'tags: x', 'completion: { verify: "true" }']),
      SOURCE,
    )
    expect(task.dependsOn).toEqual(['a'])
    expect(task.tags).toEqual(['x'])
  })

  it('parses files with CRLF line endings', () => {
    const task = parseTask(crlfTask, SOURCE)
    expect(task.id).toBe('hello')
    expect(task.title).toBe('Say hello')
    expect(task.completion.signal).toBe('HELLO')
    expect(task.body).toBe('Print HELLO.\r\n')
  })

  it('parses files that start with a byte-order mark', () => {
    const task = parseTask(bomTask, SOURCE)
    expect(task.id).toBe('hello')
    expect(task.body).toBe('Print HELLO.\n')
  })

  it('accepts a closing fence at the very end of the file', () => {
    const task = parseTask('---\nid: a\ntitle: A\ncompletion: { signal: S }\n---', SOURCE)
    expect(task.id).toBe('a')
    expect(task.body).toBe('')
  })

  describe('validation errors name the source, the field, the value and what is allowed', () => {
    const base = ['title: T', 'completion: { signal: S }']

    const cases: { name: string; text: string; field?: string; includes: string[] }[] = [
      { name: 'missing id', text: file(base), field: 'id', includes: ['is missing'] },
      { name: 'empty id', text: file(['id: ""', ...base]), field: 'id', includes: ['is missing'] },
      {
        name: 'id that is a list',
        text: file(['id: [a]', ...base]),
        field: 'id',
        includes: ['must be a string', '["a"]'],
      },
      {
        name: 'id with a slash',
        text: file(['id: tasks/a', ...base]),
        field: 'id',
        includes: ['"tasks/a"', 'letters, digits', 'path separators'],
      },
      {
        name: 'id with a backslash',
        text: file(['id: "a\\\\b"', ...base]),
        field: 'id',
        includes: ['"a\\\\b"', 'path separators'],
      },
      {
        name: 'id with a space',
        text: file(['id: my task', ...base]),
        field: 'id',
        includes: ['"my task"', 'no spaces'],
      },
      {
        name: 'missing title',
        text: file(['id: a', 'completion: { signal: S }']),
        field: 'title',
        includes: ['is missing'],
      },
      {
        name: 'title that is a mapping',
        text: file(['id: a', 'title: { x: 1 }', 'completion: { signal: S }']),
        field: 'title',
        includes: ['must be a string', '{"x":1}'],
      },
      { name: 'empty role', text: file(['id: a', 'role: " "', ...base]), field: 'role', includes: ['is empty'] },
      {
        name: 'bad priority',
        text: file(['id: a', 'priority: urgent', ...base]),
        field: 'priority',
        includes: ['"urgent"', 'allowed: critical, high, medium, low'],
      },
      {
        name: 'bad status',
        text: file(['id: a', 'status: done', ...base]),
        field: 'status',
        includes: ['"done"', 'allowed: pending, assigned, in_progress, review, complete, failed, blocked'],
      },
      {
        name: 'status that is a number',
        text: file(['id: a', 'status: 1', ...base]),
        field: 'status',
        includes: ['is 1', 'allowed:'],
      },
      {
        name: 'depends_on with a mapping inside',
        text: file(['id: a', 'depends_on: [b, { c: 1 }]', ...base]),
        field: 'depends_on',
        includes: ['must be a list of strings', '["b",{"c":1}]'],
      },
      {
        name: 'depends_on as a mapping',
        text: file(['id: a', 'depends_on: { b: true }', ...base]),
        field: 'depends_on',
        includes: ['must be a list of strings', '{"b":true}'],
      },
      {
        name: 'depends_on naming the task itself',
        text: file(['id: a', 'depends_on: [a]', ...base]),
        field: 'depends_on',
        includes: ['the task itself (a)'],
      },
      {
        name: 'tags not strings',
        text: file(['id: a', 'tags: [[x]]', ...base]),
        field: 'tags',
        includes: ['must be a list of strings'],
      },
      {
        name: 'completion as a string',
        text: file(['id: a', 'title: T', 'completion: make test']),
        field: 'completion',
        includes: ['must be a mapping', '"make test"'],
      },
      {
        name: 'completion with neither verify nor signal',
        text: file(['id: a', 'title: T', 'completion: { max_iterations: 3 }']),
        field: 'completion',
        includes: ['neither "verify" nor "signal"', 'leave out "completion"'],
      },
      {
        name: 'max_iterations over the limit',
        text: file(['id: a', 'title: T', 'completion: { signal: S, max_iterations: 1001 }']),
        field: 'completion.max_iterations',
        includes: ['is 1001', 'up to 1000'],
      },
      {
        name: 'max_iterations .inf',
        text: file(['id: a', 'title: T', 'completion: { signal: S, max_iterations: .inf }']),
        field: 'completion.max_iterations',
        includes: ['is infinite (.inf)', 'up to 1000'],
      },
      {
        name: 'max_iterations .nan',
        text: file(['id: a', 'title: T', 'completion: { signal: S, max_iterations: .nan }']),
        field: 'completion.max_iterations',
        includes: ['is not a number (.nan)'],
      },
      {
        name: 'verify that is a number',
        text: file(['id: a', 'title: T', 'completion: { verify: 0 }']),
        field: 'completion.verify',
        includes: ['must be a string, got 0', 'quote it'],
      },
      {
        name: 'signal that is a number',
        text: file(['id: a', 'title: T', 'completion: { signal: 42 }']),
        field: 'completion.signal',
        includes: ['must be a string, got 42'],
      },
      {
        name: 'signal that is true',
        text: file(['id: a', 'title: T', 'completion: { signal: true }']),
        field: 'completion.signal',
        includes: ['must be a string, got true'],
      },
      { name: 'id "."', text: file(['id: "."', ...base]), field: 'id', includes: ['"."', 'not "." or ".."'] },
      { name: 'id ".."', text: file(['id: ".."', ...base]), field: 'id', includes: ['".."'] },
      {
        name: 'role that climbs out of a folder',
        text: file(['id: a', 'role: ../../x', ...base]),
        field: 'role',
        includes: ['"../../x"', 'plain name'],
      },
      {
        name: 'role starting with a dot',
        text: file(['id: a', 'role: .hidden', ...base]),
        field: 'role',
        includes: ['".hidden"', 'not starting with "."'],
      },
      {
        name: 'role with a space',
        text: file(['id: a', 'role: web team', ...base]),
        field: 'role',
        includes: ['"web team"'],
      },
      {
        name: 'depends-on',
        text: file(['id: a', 'depends-on: [b]', ...base]),
        field: 'depends-on',
        includes: ['did you mean "depends_on"?'],
      },
      {
        name: 'dependsOn',
        text: file(['id: a', 'dependsOn: [b]', ...base]),
        field: 'dependsOn',
        includes: ['did you mean "depends_on"?'],
      },
      {
        name: 'titel',
        text: file(['id: a', 'titel: T', 'title: T', 'completion: { signal: S }']),
        field: 'titel',
        includes: ['did you mean "title"?'],
      },
      {
        name: 'prority',
        text: file(['id: a', 'prority: high', ...base]),
        field: 'prority',
        includes: ['did you mean "priority"?'],
      },
      {
        name: 'completion.max_iteration',
        text: file(['id: a', 'title: T', 'completion: { signal: S, max_iteration: 3 }']),
        field: 'completion.max_iteration',
        includes: ['did you mean "completion.max_iterations"?'],
      },
      {
        name: 'completion.verfy',
        text: file(['id: a', 'title: T', 'completion: { signal: S, verfy: make }']),
        field: 'completion.verfy',
        includes: ['did you mean "completion.verify"?'],
      },
      {
        name: 'budget.token',
        text: file(['id: a', 'budget: { token: 5 }', ...base]),
        field: 'budget.token',
        includes: ['did you mean "budget.tokens"?'],
      },
      {
        name: 'budget.usd below 0',
        text: file(['id: a', 'budget: { usd: -1 }', ...base]),
        field: 'budget.usd',
        includes: ['US dollars ≥ 0', '-1'],
      },
      {
        name: 'budget as a number',
        text: file(['id: a', 'budget: 5', ...base]),
        field: 'budget',
        includes: ['mapping'],
      },
      {
        name: 'iterations below 0',
        text: file(['id: a', 'iterations: -1', ...base]),
        field: 'iterations',
        includes: ['whole number ≥ 0', '-1'],
      },
      {
        name: 'zero max_iterations',
        text: file(['id: a', 'title: T', 'completion: { signal: S, max_iterations: 0 }']),
        field: 'completion.max_iterations',
        includes: ['is 0', 'positive whole number'],
      },
      {
        name: 'negative max_iterations',
        text: file(['id: a', 'title: T', 'completion: { signal: S, max_iterations: -2 }']),
        field: 'completion.max_iterations',
        includes: ['is -2', 'positive whole number'],
      },
      {
        name: 'fractional max_iterations',
        text: file(['id: a', 'title: T', 'completion: { signal: S, max_iterations: 2.5 }']),
        field: 'completion.max_iterations',
        includes: ['is 2.5', 'positive whole number'],
      },
      {
        name: 'max_iterations as text',
        text: file(['id: a', 'title: T', 'completion: { signal: S, max_iterations: "5" }']),
        field: 'completion.max_iterations',
        includes: ['is "5"', 'positive whole number'],
      },
      {
        name: 'verify that is a list',
        text: file(['id: a', 'title: T', 'completion: { verify: [make, test] }']),
        field: 'completion.verify',
        includes: ['must be a string', '["make","test"]'],
      },
    ]

    for (const { name, text, field, includes } of cases) {
      it(name, () => {
        const error = thrown(() => parseTask(text, SOURCE))
        expect(error.code).toBe('TANUKI_TASK_INVALID')
        expect(error.message.startsWith(SOURCE)).toBe(true)
        if (field) expect(error.message).toContain(`field "${field}"`)
        for (const part of includes) expect(error.message).toContain(part)
        expect(error.details.source).toBe(SOURCE)
      })
    }

    it('puts the offending value in details', () => {
      const error = thrown(() =>
        parseTask(file(['id: a', 'priority: urgent', 'title: T', 'completion: { signal: S }']), SOURCE),
      )
      expect(error.details).toEqual({ source: SOURCE, field: 'priority', value: 'urgent' })
    })
  })

  describe('broken files', () => {
    it('reports malformed YAML with the line of the file it is on', () => {
      // Line 1 is the fence, so the unclosed flow sequence on YAML line 3 is file line 4.
      const text = '---\nid: a\ntitle: A\ndepends_on: [b\ncompletion: { signal: S }\n---\nbody\n'
      const error = thrown(() => parseTask(text, SOURCE))
      expect(error.code).toBe('TANUKI_TASK_INVALID')
      expect(error.message).toMatch(/^tasks\/sample\.md: malformed YAML front matter \(line \d+\): \S/)
      const line = Number(/\(line (\d+)\)/.exec(error.message)![1])
      expect(line).toBeGreaterThanOrEqual(4)
      expect(line).toBeLessThanOrEqual(5)
      expect(error.cause).toBeDefined()
    })

    it('reports the exact line of an error further down', () => {
      const text = '---\nid: a\ntitle: A\ncompletion:\n  signal: S\ntitle: B\n---\n'
      const error = thrown(() => parseTask(text, SOURCE))
      expect(error.message).toContain('malformed YAML front matter (line 6)')
    })

    it('counts lines the same way in a CRLF file with a BOM', () => {
      const text = '\uFEFF---\r\nid: a\r\ntitle: A\r\ntitle: B\r\ncompletion: { signal: S }\r\n---\r\n'
      const error = thrown(() => parseTask(text, SOURCE))
      expect(error.message).toContain('(line 4)')
    })

    it('refuses duplicate keys', () => {
      const error = thrown(() => parseTask(file(['id: a', 'title: A', 'id: b', 'completion: { signal: S }']), SOURCE))
      expect(error.code).toBe('TANUKI_TASK_INVALID')
      expect(error.message).toContain('(line 4)')
    })

    it('refuses a file with no front matter', () => {
      const error = thrown(() => parseTask('# Just Markdown\n\nid: a\n', SOURCE))
      expect(error.code).toBe('TANUKI_TASK_INVALID')
      expect(error.message).toContain(SOURCE)
      expect(error.message).toContain('no YAML front matter')
      expect(error.message).toContain('"---"')
    })

    it('refuses front matter that is never closed', () => {
      const error = thrown(() => parseTask('---\nid: a\ntitle: A\n\nbody without a closing fence\n', SOURCE))
      expect(error.code).toBe('TANUKI_TASK_INVALID')
      expect(error.message).toBe(`${SOURCE}: front matter is never closed; add a "---" line after it`)
    })

    it('does not take a longer rule for the closing fence', () => {
      const error = thrown(() => parseTask('---\nid: a\ntitle: A\n----\n', SOURCE))
      expect(error.message).toContain('never closed')
    })

    it('refuses front matter that is a list or a scalar', () => {
      for (const yaml of ['- id: a', 'just text', '']) {
        const error = thrown(() => parseTask(`---\n${yaml}\n---\n`, SOURCE))
        expect(error.code).toBe('TANUKI_TASK_INVALID')
        expect(error.message).toContain('must be a mapping of fields')
      }
    })
  })
})

describe('createTask', () => {
  it('applies the same defaults as a file', () => {
    const task = createTask({ id: 'a', title: 'A', completion: { signal: 'S' } })
    expect(task).toEqual({
      id: 'a',
      title: 'A',
      role: 'default',
      priority: 'medium',
      status: 'pending',
      dependsOn: [],
      completion: { signal: 'S', maxIterations: 30 },
      tags: [],
      body: '',
      source: 'task a',
      extra: {},
    })
  })

  it('maps camelCase input to the task and keeps extra', () => {
    const task = createTask({
      id: 'b',
      title: 'B',
      role: 'web',
      priority: 'low',
      status: 'review',
      dependsOn: ['a'],
      assignedTo: 'web-1',
      completion: { verify: 'make', maxIterations: 2 },
      tags: ['t'],
      body: 'text',
      source: 'config',
      extra: { owner: 'me' },
    })
    expect(task).toMatchObject({
      role: 'web',
      priority: 'low',
      status: 'review',
      dependsOn: ['a'],
      assignedTo: 'web-1',
      completion: { verify: 'make', maxIterations: 2 },
      tags: ['t'],
      body: 'text',
      source: 'config',
      extra: { owner: 'me' },
    })
  })

  it('validates like a file, naming the task', () => {
    const error = thrown(() => createTask({ id: 'a b', title: 'A', completion: { signal: 'S' } }))
    expect(error.code).toBe('TANUKI_TASK_INVALID')
    expect(error.message).toContain('task a b: field "id"')
    const empty = thrown(() => createTask({ id: 'c', title: 'C', completion: {} }))
    expect(empty.message).toContain('task c: field "completion": has neither "verify" nor "signal"')
  })

  it('does not let extra override known fields', () => {
    const task = createTask({ id: 'a', title: 'A', completion: { signal: 'S' }, extra: { id: 'other', title: 'X' } })
    expect(task.id).toBe('a')
    expect(task.title).toBe('A')
  })
})

describe('taskFromFields', () => {
  it('validates fields given as an object', () => {
    const task = taskFromFields({ id: 'x', title: 'X', completion: { verify: 'true' }, color: 'red' }, 'body', 'api')
    expect(task.extra).toEqual({ color: 'red' })
    expect(task.body).toBe('body')
    expect(thrown(() => taskFromFields({ id: 'x' }, '', 'api')).message).toBe(
      'api: field "title": is missing; every task needs a title',
    )
  })
})

describe('updateTaskText', () => {
  /** Asserts `after` is `before` with exactly one occurrence of `from` replaced by `to`. */
  function expectOnlyChange(before: string, after: string, from: string, to: string): void {
    const at = before.indexOf(from)
    expect(at).toBeGreaterThanOrEqual(0)
    expect(before.indexOf(from, at + 1)).toBe(-1)
    expect(after).toBe(before.slice(0, at) + to + before.slice(at + from.length))
  }

  it('rewrites only the status value, keeping comments and spacing around it', () => {
    const after = updateTaskText(handEditedTask, { status: 'in_progress' }, SOURCE)
    expectOnlyChange(
      handEditedTask,
      after,
      'status:    pending    # first try',
      'status:    in_progress    # first try',
    )
    expect(parseTask(after, SOURCE).status).toBe('in_progress')
  })

  it('rewrites a value in the documented example and nothing else', () => {
    const after = updateTaskText(fullTask, { status: 'complete' }, SOURCE)
    expectOnlyChange(fullTask, after, 'status: pending         #', 'status: complete         #')
  })

  it('rewrites several keys at once in place', () => {
    const after = updateTaskText(handEditedTask, { status: 'assigned', assigned_to: 'backend-2' }, SOURCE)
    const expected = handEditedTask
      .replace('status:    pending    # first try', 'status:    assigned    # first try')
      .replace('assigned_to: backend-1', 'assigned_to: backend-2')
    expect(after).toBe(expected)
    const task = parseTask(after, SOURCE)
    expect(task.assignedTo).toBe('backend-2')
    expect(task.extra).toEqual(parseTask(handEditedTask, SOURCE).extra)
  })

  it('appends keys that did not exist at the end of the front matter', () => {
    const after = updateTaskText(minimalTask, { started_at: '2025-01-02T03:04:05.000Z', iterations: 2 }, SOURCE)
    expect(after).toBe(
      minimalTask.replace(
        '  signal: HELLO\n',
        '  signal: HELLO\nstarted_at: "2025-01-02T03:04:05.000Z"\niterations: 2\n',
      ),
    )
    expect(parseTask(after, SOURCE).extra).toEqual({ started_at: '2025-01-02T03:04:05.000Z', iterations: 2 })
  })

  it('appends after a block scalar without joining lines', () => {
    const after = updateTaskText(handEditedTask, { failure: 'verify exited 1' }, SOURCE)
    expectOnlyChange(
      handEditedTask,
      after,
      '  Paginate at 50.\n---',
      '  Paginate at 50.\nfailure: "verify exited 1"\n---',
    )
    expect(parseTask(after, SOURCE).extra.notes).toBe('Keep the handler small.\nPaginate at 50.\n')
  })

  it('removes a key whose patch value is null, with its inline comment', () => {
    const after = updateTaskText(handEditedTask, { assigned_to: null }, SOURCE)
    expectOnlyChange(handEditedTask, after, 'assigned_to: backend-1\n', '')
    expect(parseTask(after, SOURCE).assignedTo).toBeUndefined()
    // The type forbids removing status; plain JavaScript callers can still ask for it.
    const noStatus = updateTaskText(handEditedTask, { status: null } as unknown as TaskPatch, SOURCE)
    expectOnlyChange(handEditedTask, noStatus, 'status:    pending    # first try\n', '')
    expect(noStatus).toContain(
      '# The next line is rewritten by Tanuki; this comment stays.\n# Between status and priority.\n',
    )
  })

  it('ignores null for a key that is not there, and undefined values', () => {
    expect(updateTaskText(minimalTask, { failure: null, status: undefined }, SOURCE)).toBe(minimalTask)
  })

  it('replaces and removes block scalars without eating the next key', () => {
    const text = file([
      'id: a',
      'title: A',
      'failure: |',
      '  first',
      '  second',
      'status: failed',
      'completion: { signal: S }',
    ])
    const replaced = updateTaskText(text, { failure: 'again' }, SOURCE)
    expect(replaced).toBe(file(['id: a', 'title: A', 'failure: again', 'status: failed', 'completion: { signal: S }']))
    const removed = updateTaskText(text, { failure: null }, SOURCE)
    expect(removed).toBe(file(['id: a', 'title: A', 'status: failed', 'completion: { signal: S }']))
  })

  it('removes a key holding a block list, with all of its items', () => {
    const text = file([
      'id: a',
      'title: A',
      'failure:',
      '  - one',
      '  - two',
      'status: failed',
      'completion: { signal: S }',
    ])
    const removed = updateTaskText(text, { failure: null }, SOURCE)
    expect(removed).toBe(file(['id: a', 'title: A', 'status: failed', 'completion: { signal: S }']))
  })

  it('fills in a key written with no value, keeping its comment', () => {
    const text = file(['id: a', 'title: A', 'status:', 'assigned_to:   # who runs it', 'completion: { signal: S }'])
    const after = updateTaskText(text, { status: 'assigned', assigned_to: 'w-1' }, SOURCE)
    expect(after).toBe(
      file(['id: a', 'title: A', 'status: assigned', 'assigned_to: w-1   # who runs it', 'completion: { signal: S }']),
    )
    expect(parseTask(after, SOURCE)).toMatchObject({ status: 'assigned', assignedTo: 'w-1' })
  })

  it('quotes values that would not read back as the same string', () => {
    const awkward = [
      'verify failed: exit 1',
      'it said "no"',
      'line one\nline two',
      '# not a comment',
      'ends with:',
      'true',
      'null',
      '42',
      '- dash',
      "it's",
      '  padded  ',
      'tab\there',
      'back\\slash',
      'émoji 🦝',
      '',
    ]
    for (const failure of awkward) {
      const after = updateTaskText(handEditedTask, { failure }, SOURCE)
      expect(parseTask(after, SOURCE).extra.failure).toBe(failure)
      // And once more, replacing the value just written.
      const again = updateTaskText(after, { failure: `${failure}!` }, SOURCE)
      expect(parseTask(again, SOURCE).extra.failure).toBe(`${failure}!`)
      expect(again.slice(again.indexOf('\n---\n'))).toBe(handEditedTask.slice(handEditedTask.indexOf('\n---\n')))
    }
  })

  it('writes plain values plainly', () => {
    const after = updateTaskText(minimalTask, { assigned_to: 'backend-1', status: 'in_progress' }, SOURCE)
    expect(after).toContain('\nassigned_to: backend-1\nstatus: in_progress\n')
  })

  it('keeps CRLF line endings, also for appended keys', () => {
    const after = updateTaskText(crlfTask, { status: 'complete', iterations: 3 }, SOURCE)
    expect(after).toBe(
      crlfTask.replace('  signal: HELLO\r\n', '  signal: HELLO\r\nstatus: complete\r\niterations: 3\r\n'),
    )
    expect(after.replace(/\r\n/g, '')).not.toContain('\n')
    expect(parseTask(after, SOURCE).status).toBe('complete')
  })

  it('keeps the byte-order mark', () => {
    const after = updateTaskText(bomTask, { status: 'review' }, SOURCE)
    expect(after.charCodeAt(0)).toBe(0xfeff)
    expect(parseTask(after, SOURCE).status).toBe('review')
  })

  it('keeps a closing fence at the end of the file', () => {
    const text = '---\nid: a\ntitle: A\ncompletion: { signal: S }\n---'
    expect(updateTaskText(text, { status: 'complete' }, SOURCE)).toBe(
      '---\nid: a\ntitle: A\ncompletion: { signal: S }\nstatus: complete\n---',
    )
  })

  it('refuses to overwrite a key that holds a list or mapping', () => {
    const text = file(['id: a', 'title: A', 'failure: [x, y]', 'completion: { signal: S }'])
    const error = thrown(() => updateTaskText(text, { failure: 'z' }, SOURCE))
    expect(error.code).toBe('TANUKI_TASK_INVALID')
    expect(error.message).toContain(`${SOURCE}: field "failure"`)
  })

  it('refuses files it cannot parse, naming the source', () => {
    expect(thrown(() => updateTaskText('no front matter', { status: 'complete' }, SOURCE)).message).toContain(SOURCE)
    expect(thrown(() => updateTaskText('---\n- a\n---\n', { status: 'complete' }, SOURCE)).message).toContain('mapping')
    expect(thrown(() => updateTaskText('---\na: [\n---\n', { status: 'complete' }, SOURCE)).message).toContain(
      'malformed YAML',
    )
  })

  it('always produces a file that parses to the same task apart from the patch (randomized)', () => {
    let seed = 7
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    }
    const statuses = ['pending', 'assigned', 'in_progress', 'review', 'complete', 'failed', 'blocked'] as const
    const values = ['w-1', 'x: y', 'a "b"', '', 'multi\nline', '2025-01-01T00:00:00Z', null]
    const original = parseTask(handEditedTask, SOURCE)
    let text = handEditedTask
    for (let i = 0; i < 200; i++) {
      const status = statuses[random(statuses.length)]!
      const failure = values[random(values.length)]!
      const assigned = values[random(values.length)]!
      text = updateTaskText(text, { status, failure, assigned_to: assigned, iterations: i }, SOURCE)
      const task = parseTask(text, SOURCE)
      expect(task.status).toBe(status)
      expect(task.assignedTo).toBe(assigned === null ? undefined : assigned)
      expect(task.extra.failure).toBe(failure === null ? undefined : failure)
      expect(task.extra.iterations).toBe(i)
      expect(task.body).toBe(original.body)
      expect(task.completion).toEqual(original.completion)
      expect(task.dependsOn).toEqual(original.dependsOn)
    }
    // Comments survive every rewrite.
    for (const comment of [
      '# Owner: platform team.  Keep this comment.',
      '#   inline comment, odd spacing',
      '# Between status and priority.',
    ]) {
      expect(text).toContain(comment)
    }
  })
})

describe('updateTaskText: every style of front matter stays valid', () => {
  const styles: Record<string, string> = {
    'flow on one line': '---\n{id: F-1, title: Flow task, completion: {signal: DONE}}\n---\nBody.\n',
    'flow with spaces and a trailing comma':
      '---\n{ id: F-2 , title: Spaced , completion: { signal: DONE } , }\n---\nBody.\n',
    'flow over several lines, with a comment':
      '---\n{id: F-3,\n title: Lines,\n completion: {verify: "true"}}  # keep me\n---\nBody.\n',
    'flow with CRLF': '---\r\n{id: F-4, title: Windows, status: pending}\r\n---\r\nBody.\r\n',
    'indented block': '---\n  id: I-1\n  title: Indented\n  completion:\n    signal: DONE\n---\nBody.\n',
    'indented block ending in a block scalar':
      '---\n    id: I-2\n    title: Deep\n    notes: |\n      line one\n      line two\n---\nBody.\n',
  }

  for (const [name, original] of Object.entries(styles)) {
    it(`${name}: written, then restored, reads back each time and ends byte for byte as it began`, () => {
      const task = parseTask(original, SOURCE)
      const first = updateTaskText(
        original,
        { status: 'in_progress', assigned_to: 'web-1', started_at: '2025-01-01T00:00:00.000Z', iterations: 2 },
        SOURCE,
      )
      const during = parseTask(first, SOURCE)
      expect(during).toMatchObject({ id: task.id, title: task.title, status: 'in_progress', assignedTo: 'web-1' })
      expect(during.extra).toMatchObject({ started_at: '2025-01-01T00:00:00.000Z', iterations: 2 })
      expect(during.completion).toEqual(task.completion)
      expect(during.body).toBe(task.body)

      const second = updateTaskText(
        first,
        { status: 'failure' in task.extra ? 'failed' : 'complete', failure: 'a "quoted", odd: value' },
        SOURCE,
      )
      expect(parseTask(second, SOURCE).extra.failure).toBe('a "quoted", odd: value')

      const restored = updateTaskText(
        second,
        {
          status: task.status,
          assigned_to: null,
          started_at: null,
          iterations: null,
          failure: null,
        },
        SOURCE,
      )
      // Only the status Tanuki set stays; without it, the file is the one it started as.
      expect(restored).toBe(
        /status:/.test(original) ? original : updateTaskText(original, { status: task.status }, SOURCE),
      )
    })
  }

  it('keeps the indentation of indented front matter for keys it adds', () => {
    const after = updateTaskText(styles['indented block']!, { status: 'review' }, SOURCE)
    expect(after).toBe(
      '---\n  id: I-1\n  title: Indented\n  completion:\n    signal: DONE\n  status: review\n---\nBody.\n',
    )
  })

  it('adds keys inside the braces of flow front matter', () => {
    const after = updateTaskText(styles['flow on one line']!, { status: 'complete', iterations: 1 }, SOURCE)
    expect(after).toBe(
      '---\n{id: F-1, title: Flow task, completion: {signal: DONE}, status: complete, iterations: 1}\n---\nBody.\n',
    )
  })

  it('refuses, and returns nothing, when the result would not read back as the same fields', () => {
    // Not loadable (see below), but the file may have been edited into this shape since the load.
    const anchored = '---\nid: a\ntitle: A\nstatus: &s pending\nfailure: *s\n---\n'
    const error = thrown(() => updateTaskText(anchored, { status: 'complete' }, SOURCE))
    expect(error.code).toBe('TANUKI_TASK_UNWRITABLE')
    expect(error.message).toContain(SOURCE)
    expect(error.message).toContain('unchanged')
    const ended = '---\nid: a\ntitle: A\n...\n---\n'
    expect(thrown(() => updateTaskText(ended, { status: 'complete' }, SOURCE)).code).toBe('TANUKI_TASK_UNWRITABLE')
  })

  it('refuses at load what it could not write back: anchors, aliases and tags on its keys, content after the fields', () => {
    const cases: [string, string][] = [
      ['id: a\ntitle: A\nstatus: &s pending\nfailure: *s', 'field "status"'],
      ['id: a\ntitle: A\nbase: &b x\nfailure: *b', 'field "failure"'],
      ['id: a\ntitle: A\nstatus: !!str pending', 'field "status"'],
      ['id: a\ntitle: A\n...', 'more after its fields'],
    ]
    for (const [yaml, words] of cases) {
      const error = thrown(() => parseTask(`---\n${yaml}\n---\n`, SOURCE))
      expect(error.code).toBe('TANUKI_TASK_INVALID')
      expect(error.message, yaml).toContain(words)
    }
  })
})
