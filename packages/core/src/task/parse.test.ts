import { describe, expect, it } from 'vitest'
import { bomTask, crlfTask, fullTask, handEditedTask, minimalTask } from '../../test/fixtures/tasks.ts'
import { SOURCE, file, thrown } from '../../test/support/task-text.ts'
import { isTanukiError } from '../errors.ts'
import { createTask, parseTask, taskFromFields } from './parse.ts'
import { DEFAULT_MAX_ITERATIONS } from './types.ts'

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
      // The id is good: it comes too, for the tasks that depend on this one.
      expect(error.details).toEqual({ source: SOURCE, field: 'priority', value: 'urgent', id: 'a' })
      const badId = thrown(() => parseTask(file(['id: a b', 'title: T', 'completion: { signal: S }']), SOURCE))
      expect(badId.details.field).toBe('id')
      expect(badId.details.id).toBeUndefined()
      // Good dependencies come too, for a check that names a missing one in the same pass.
      const deps = ['id: a', 'priority: urgent', 'depends_on: [b, c]', 'title: T', 'completion: { signal: S }']
      expect(thrown(() => parseTask(file(deps), SOURCE)).details.dependsOn).toEqual(['b', 'c'])
      const badDeps = ['id: a', 'priority: urgent', 'depends_on: [b, a]', 'title: T', 'completion: { signal: S }']
      expect(thrown(() => parseTask(file(badDeps), SOURCE)).details).not.toHaveProperty('dependsOn')
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
