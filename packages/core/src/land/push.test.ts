import { describe, expect, it } from 'vitest'
import { notPushedNote } from './push.ts'

describe('notPushedNote', () => {
  it('says what to do when the remote refused the push as no fast-forward: bring its commits in, then tanuki land', () => {
    for (const error of ['[rejected] main -> main (fetch first)', '[rejected] main -> main (non-fast-forward)']) {
      expect(notPushedNote({ remote: 'origin', branch: 'main', error })).toBe(
        `main is not pushed to origin: ${error}. origin has commits main lacks: bring them in ` +
          '(`git pull --rebase --autostash origin main`, or merge them), then `tanuki land` pushes it again (or `git push origin main`)',
      )
    }
  })

  it('leaves the fix to the person for any other refusal (a hook), naming what git said', () => {
    expect(
      notPushedNote({
        remote: 'up',
        branch: 'trunk',
        error: '[remote rejected] trunk -> trunk (pre-receive hook declined);',
      }),
    ).toBe(
      'trunk is not pushed to up: [remote rejected] trunk -> trunk (pre-receive hook declined). ' +
        'Fix that, then `tanuki land` pushes it again (or `git push up trunk`)',
    )
  })
})
