import { describe, expect, it } from 'vitest'
import { TanukiError, combineErrors, errorMessage, isTanukiError } from './errors.ts'

describe('TanukiError', () => {
  it('carries a code, details and a cause', () => {
    const cause = new Error('EACCES')
    const error = new TanukiError('TANUKI_LOCKED', 'Another orchestrator runs here', { cause, details: { pid: 42 } })
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('TanukiError')
    expect(error.code).toBe('TANUKI_LOCKED')
    expect(error.message).toBe('Another orchestrator runs here')
    expect(error.details).toEqual({ pid: 42 })
    expect(error.cause).toBe(cause)
    const bare = new TanukiError('TANUKI_NO_TASKS', 'No tasks')
    expect(bare.details).toEqual({})
    expect('cause' in bare).toBe(false)
  })
})

describe('isTanukiError', () => {
  it('recognises TanukiErrors by name and code, also from another copy of the package', () => {
    const error = new TanukiError('TANUKI_ABORTED', 'stop')
    expect(isTanukiError(error)).toBe(true)
    expect(isTanukiError(error, 'TANUKI_ABORTED')).toBe(true)
    expect(isTanukiError(error, 'TANUKI_LOCKED')).toBe(false)
    const lookalike = { name: 'TanukiError', code: 'TANUKI_LOCKED', message: 'x' }
    expect(isTanukiError(lookalike, 'TANUKI_LOCKED')).toBe(true)
    expect(isTanukiError(new Error('x'))).toBe(false)
    expect(isTanukiError(null)).toBe(false)
    expect(isTanukiError('TanukiError')).toBe(false)
  })
})

describe('errorMessage', () => {
  it('gives the message of an error, or the text of anything else', () => {
    expect(errorMessage(new TypeError('bad type'))).toBe('bad type')
    expect(errorMessage('plain')).toBe('plain')
    expect(errorMessage(42)).toBe('42')
    expect(errorMessage(undefined)).toBe('undefined')
  })
})

describe('combineErrors', () => {
  it('lists each problem, its further lines indented under it and its blank lines left empty', () => {
    const framed = new TanukiError('TANUKI_CONFIG_INVALID', 'a.ts:2:1: syntax error\n\n> 2 | }\n    | ^\n')
    const other = new TanukiError('TANUKI_TASK_INVALID', 'b.md: field "id" is missing')
    const error = combineErrors([framed, other], 'in the project')
    expect(error.code).toBe('TANUKI_PROJECT_INVALID')
    expect(error.message).toBe(
      '2 problems in the project:\n' +
        '  - a.ts:2:1: syntax error\n\n    > 2 | }\n        | ^\n\n' +
        '  - b.md: field "id" is missing',
    )
    expect(error.details.problems).toEqual([framed.message, other.message])
    expect(combineErrors([other], 'here')).toBe(other)
  })
})
