import type { PushFailure } from './types.ts'

/**
 * What a person reads of a failed push of the target (`land.push`): that the branch is not on the
 * remote, what git said, and what to do. The console, the run's end, `tanuki project status` and
 * `tanuki land` say it alike.
 *
 * @example
 * notPushedNote({ remote: 'origin', branch: 'main', error: 'pre-receive hook declined' })
 * // 'main is not pushed to origin: pre-receive hook declined. Fix that, then `tanuki land` pushes it again (or `git push origin main`)'
 * notPushedNote({ remote: 'origin', branch: 'main', error: '[rejected] main -> main (fetch first)' })
 * // '… origin has commits main lacks: bring them in (`git pull --rebase --autostash origin main`, or merge them), then `tanuki land` …'
 */
export function notPushedNote(failure: Pick<PushFailure, 'remote' | 'branch' | 'error'>): string {
  const { remote, branch } = failure
  const error = failure.error
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[.:;,]$/, '')
  // Refused as no fast-forward: someone pushed first. git's hint (pull first) is the fix; the
  // landed work is then on the remote's commits, and `tanuki land` knows it there, not twice.
  if (/\((fetch first|non-fast-forward)\)/.test(error)) {
    return (
      `${branch} is not pushed to ${remote}: ${error}. ${remote} has commits ${branch} lacks: bring them in ` +
      `(\`git pull --rebase --autostash ${remote} ${branch}\`, or merge them), then \`tanuki land\` pushes it again (or \`git push ${remote} ${branch}\`)`
    )
  }
  return (
    `${branch} is not pushed to ${remote}: ${error || 'git push failed'}. ` +
    `Fix that, then \`tanuki land\` pushes it again (or \`git push ${remote} ${branch}\`)`
  )
}
