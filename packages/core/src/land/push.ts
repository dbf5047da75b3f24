import type { PushFailure } from './types.ts'

/**
 * What a person reads of a failed push of the target (`land.push`): that the branch is not on the
 * remote, what git said, and what to do. The console, the run's end, `tanuki project status` and
 * `tanuki land` say it alike.
 *
 * @example
 * notPushedNote({ remote: 'origin', branch: 'main', error: 'pre-receive hook declined' })
 * // 'main is not pushed to origin: pre-receive hook declined. Fix that, then `tanuki land` pushes it again (or `git push origin main`)'
 */
export function notPushedNote(failure: Pick<PushFailure, 'remote' | 'branch' | 'error'>): string {
  const { remote, branch } = failure
  const error = failure.error
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[.:;,]$/, '')
  return (
    `${branch} is not pushed to ${remote}: ${error || 'git push failed'}. ` +
    `Fix that, then \`tanuki land\` pushes it again (or \`git push ${remote} ${branch}\`)`
  )
}
