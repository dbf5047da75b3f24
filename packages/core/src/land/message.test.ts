import { describe, expect, it } from 'vitest'
import { TanukiError } from '../errors.ts'
import { createTask } from '../task/parse.ts'
import { landingMessage, landingMessageProblem } from './message.ts'

const trailers = ['Tanuki-Task: T-1', 'Tanuki-Work: abc']
const task = createTask({
  id: 'T-1',
  title: 'Add the login form',
  role: 'frontend',
  priority: 'high',
  tags: ['auth', 'ui'],
  body: '```\ncode first\n```\nShow a form with email and password.\n\nMore text.',
  extra: { ticket: 'APP-42' },
})

describe('landingMessage', () => {
  it('is the title, the first line of the body and the trailers by default', () => {
    expect(landingMessage(task, trailers)).toBe(
      'Add the login form\n\nShow a form with email and password.\n\nTanuki-Task: T-1\nTanuki-Work: abc',
    )
  })

  it('drops the paragraph {summary} leaves empty for a task without a body', () => {
    expect(landingMessage(createTask({ id: 'T-2', title: 'Bare' }), trailers)).toBe(
      'Bare\n\nTanuki-Task: T-1\nTanuki-Work: abc',
    )
  })

  it("fills a template's placeholders with the task's values", () => {
    expect(landingMessage(task, trailers, 'feat({role}): {title} [{id}, {priority}; {tags}]')).toBe(
      'feat(frontend): Add the login form [T-1, high; auth, ui]\n\nTanuki-Task: T-1\nTanuki-Work: abc',
    )
  })

  it("keeps the message's own trailers trailers: Tanuki's join their paragraph", () => {
    expect(landingMessage(task, trailers, '{title}\n\n{summary}\n\nRefs: #12\nSigned-off-by: A <a@b.c>')).toBe(
      'Add the login form\n\nShow a form with email and password.\n\n' +
        'Refs: #12\nSigned-off-by: A <a@b.c>\nTanuki-Task: T-1\nTanuki-Work: abc',
    )
  })

  it("takes a function's message, which sees the front matter's own keys", () => {
    expect(landingMessage(task, trailers, (t) => `fix: ${t.title}\n\nCloses ${String(t.extra.ticket)}`)).toBe(
      'fix: Add the login form\n\nCloses APP-42\n\nTanuki-Task: T-1\nTanuki-Work: abc',
    )
  })

  it('says which task and what to do when the function throws or returns no message', () => {
    const thrown = (() => {
      try {
        landingMessage(task, trailers, () => {
          throw new Error('no ticket')
        })
      } catch (error) {
        return error
      }
    })()
    expect(thrown).toBeInstanceOf(TanukiError)
    expect((thrown as TanukiError).message).toBe(
      'land.message failed for T-1: no ticket. Fix the function in your config, then `tanuki land`.',
    )
    expect(() => landingMessage(task, trailers, () => '  ')).toThrow(
      'land.message returned an empty message for T-1. Make it return the commit message, then `tanuki land`.',
    )
    expect(() => landingMessage(task, trailers, () => 7 as unknown as string)).toThrow(
      'land.message returned a number, not a string, for T-1.',
    )
  })
})

describe('landingMessageProblem', () => {
  it('accepts the known placeholders and text of its own', () => {
    expect(landingMessageProblem('feat({role}): {title}\n\n{summary} {tags} {id} {priority}')).toBeUndefined()
    expect(landingMessageProblem('chore: tanuki')).toBeUndefined()
  })

  it('names a placeholder it does not know, with the known ones and the way to a key of your own', () => {
    expect(landingMessageProblem('{title} ({ticket})')).toBe(
      'names {ticket}, which is no placeholder; known: {id}, {title}, {role}, {priority}, {tags}, {summary} ' +
        '(for a front-matter key of your own, write land.message as a function: (task) => `… ${task.extra.ticket}`)',
    )
  })

  it('refuses a template that can come out empty', () => {
    for (const template of ['', '  ', '{summary}', '{tags}\n\n{summary}'])
      expect(landingMessageProblem(template)).toMatch(/^must say something besides \{summary\} and \{tags\}/)
  })
})
