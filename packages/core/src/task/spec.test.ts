import { describe, expect, it } from 'vitest'
import { createTask } from './parse.ts'
import { changedSince, specHashes } from './spec.ts'

const base = createTask({ id: 'a', title: 'A', body: 'Do it.', completion: { verify: 'true' } })

describe('specHashes', () => {
  it('names the fields an edit changed, and none when nothing did', () => {
    const ran = specHashes(base)
    expect(changedSince({ ...base }, ran)).toEqual([])
    expect(changedSince({ ...base, title: 'A2', completion: { ...base.completion, verify: 'false' } }, ran)).toEqual([
      'title',
      'verify',
    ])
    expect(changedSince({ ...base, dependsOn: ['b'], body: 'Do it again.' }, ran)).toEqual(['body', 'depends_on'])
    // The status is run state, not spec.
    expect(changedSince({ ...base, status: 'pending' }, ran)).toEqual([])
  })

  it('says nothing without the hashes of a run (a journal from before them)', () => {
    expect(changedSince({ ...base, title: 'other' }, undefined)).toEqual([])
  })
})
