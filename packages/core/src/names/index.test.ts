import { describe, expect, it } from 'vitest'
import { isTanukiError } from '../errors.ts'
import { closestName, didYouMean, isValidName, nameProblem, pathName } from './index.ts'

describe('closestName', () => {
  const keys = ['id', 'title', 'role', 'priority', 'status', 'depends_on', 'completion', 'tags', 'agents']

  it.each([
    ['dependsOn', 'depends_on'],
    ['depends-on', 'depends_on'],
    ['DEPENDS_ON', 'depends_on'],
    ['titel', 'title'],
    ['prority', 'priority'],
    ['agnets', 'agents'],
  ])('%s → %s', (typo, meant) => {
    expect(closestName(typo, keys)).toBe(meant)
    expect(didYouMean(typo, keys)).toBe(` (did you mean "${meant}"?)`)
  })

  it.each(['owner', 'state', 'estimate', 'notes', 'dep', 'x'])('leaves %s alone: not close to any', (name) => {
    expect(closestName(name, keys)).toBeUndefined()
    expect(didYouMean(name, keys)).toBe('')
  })

  it('suggests nothing for a name that is itself a candidate', () => {
    expect(closestName('title', keys)).toBeUndefined()
  })

  describe('typed: a CLI’s commands and options', () => {
    const commands = ['init', 'project', 'task', 'land', 'logs', 'ui', 'worker']
    const options = ['--cwd', '--quiet', '--verbose', '--watch', '--json']

    it.each([
      ['tsk', commands, 'task'],
      ['lgs', commands, 'logs'],
      ['proj', commands, 'project'],
      ['--jsn', options, '--json'],
      ['--verb', options, '--verbose'],
      ['--cw', options, '--cwd'],
    ])('%s → %s', (typo, candidates, meant) => {
      expect(closestName(typo, candidates, { typed: true })).toBe(meant)
      expect(didYouMean(typo, candidates, { typed: true })).toBe(` (did you mean "${meant}"?)`)
      // Keys of a file are not typed so: a short word there is left alone.
      if (typo.replace(/^--/, '').length <= 3) expect(closestName(typo, candidates)).toBeUndefined()
    })

    it.each([
      ['xyz', commands],
      ['--jsn', ['--cwd', '--quiet', '--watch', '--ui', '--port']],
      ['re', ['rerun', 'reset', 'mark']],
      ['--w', options],
    ])('leaves %s alone: nothing close, or the start of more than one', (name, candidates) => {
      expect(closestName(name, candidates, { typed: true })).toBeUndefined()
    })
  })
})

describe('names that become paths', () => {
  it.each(['TASK-001', 'api.users-2', 'a_b', '1', '.hidden-id'])('accepts the task id %s', (id) => {
    expect(isValidName(id, 'task id')).toBe(true)
    expect(pathName(id, 'task id')).toBe(id)
  })

  it.each(['.', '..', '', '../x', 'a/b', 'a\\b', 'a b', '/abs', 'a\nb'])('refuses the task id %j', (id) => {
    expect(nameProblem(id, 'task id')).toBeDefined()
    try {
      pathName(id, 'task id')
      throw new Error('accepted')
    } catch (error) {
      expect(isTanukiError(error, 'TANUKI_NAME_INVALID')).toBe(true)
    }
  })

  it.each(['.hidden', '../../x', '..', '.', 'web team', 'a/b', ''])('refuses the role %j', (role) => {
    expect(isValidName(role, 'role')).toBe(false)
    expect(nameProblem(role, 'role')).toMatch(/role/)
  })

  it.each(['backend', 'qa-2', 'web.v2', '_x'])('accepts the role %s', (role) => {
    expect(isValidName(role, 'role')).toBe(true)
  })

  it('refuses what is not a string', () => {
    expect(nameProblem(42, 'agent name')).toContain('non-empty string')
  })
})
