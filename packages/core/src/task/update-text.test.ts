import { describe, expect, it } from 'vitest'
import { bomTask, crlfTask, fullTask, handEditedTask, minimalTask } from '../../test/fixtures/tasks.ts'
import { SOURCE, file, thrown } from '../../test/support/task-text.ts'
import { parseTask, updateTask, updateTaskText } from './parse.ts'
import type { TaskPatch } from './types.ts'

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

describe('updateTask', () => {
  it('gives the task the new text reads as, the same as parsing it', () => {
    const patches: TaskPatch[] = [
      { status: 'in_progress', assigned_to: 'api-1', started_at: '2026-11-29T10:00:00Z' },
      { status: 'complete', assigned_to: null, completed_at: '2026-11-29T10:05:00Z', iterations: 3 },
      { status: 'failed', failure: 'verify failed: exit 1' },
    ]
    for (const text of [fullTask, minimalTask, handEditedTask, crlfTask, bomTask]) {
      for (const patch of patches) {
        const { text: updated, task } = updateTask(text, patch, SOURCE)
        expect(updated).toBe(updateTaskText(text, patch, SOURCE))
        expect(task).toEqual(parseTask(updated, SOURCE))
        expect(task?.status).toBe(patch.status)
      }
    }
  })

  it('still writes a file that is not a valid task, and gives no task for it', () => {
    const text = '---\nid: a\ntitle: A\npriority: urgent\n---\n'
    expect(() => parseTask(text, SOURCE)).toThrow(/priority/)
    const { text: updated, task } = updateTask(text, { status: 'complete' }, SOURCE)
    expect(updated).toContain('status: complete')
    expect(task).toBeUndefined()
  })
})
