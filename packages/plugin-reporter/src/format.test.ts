import { describe, expect, it } from 'vitest'
import { causeThenResume } from './format.ts'

describe('causeThenResume', () => {
  it('follows a cause that ends with its own fix with the resume, once, even with periods in its paths', () => {
    const cause =
      'the project folder /w/my.app/services/api.v2 is not committed: git tracks no file in it. ' +
      'Commit it (`git add services/api.v2 && git commit` in /w/my.app)'
    expect(causeThenResume(cause)).toEqual({ text: `${cause}, then \`tanuki project resume\``, ownFix: true })
  })

  it('leaves a cause without a fix of its own as it is', () => {
    expect(causeThenResume('claude exited 1.')).toEqual({ text: 'claude exited 1', ownFix: false })
  })
})
