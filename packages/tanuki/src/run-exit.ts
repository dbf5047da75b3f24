import { notPushedNote, type RunSummary } from '@tanuki/core'
import { settledAdvice, waitsForLine } from '@tanuki/plugin-reporter'

/** Exit codes of `project start` and `resume`: documented in the README. */
export const EXIT = { complete: 0, notComplete: 1, budget: 3 } as const

/**
 * What a finished run says on stderr, and its exit code: what is left, what stopped it (a role
 * paused by its configuration, a verify that cannot run where the agents work, the run's budget),
 * what of the work is not on the target branch, and what to do.
 */
export function runExit(
  summary: RunSummary,
  write: (text: string) => void = (t) => process.stderr.write(t),
  /** The project's config file, to name where `budget` is raised. */
  configFile?: string,
): number {
  const { progress, spend } = summary
  for (const problem of summary.problems) write(`tanuki: ${problem}\n`)
  // Tasks that wait, unharmed, for a verify no agent can make pass: which, and where to fix it.
  for (const blocked of summary.verifyBlocked ?? []) {
    write(`tanuki: ${blocked.cause}.\n`)
    const files = blocked.sources.length > 0 ? `; their task files: ${someOf(blocked.sources)}` : ''
    write(`tanuki: waiting for it: ${someOf(blocked.tasks)}${files}.\n`)
  }
  // Complete is not delivered: work that could not land is not on the person's branch.
  if (summary.landingStopped) write(`tanuki: landing stopped: ${summary.landingStopped}\n`)
  // Nor is work that waits on the integration branch for a target that could not move.
  const held = summary.heldBack
  if (held)
    write(`tanuki: not on ${held.target} yet: ${someOf(held.tasks)}, landed on the integration branch: ${held.note}\n`)
  // Nor is complete work whose landing never came (the run stopped first) or failed.
  const unlanded = summary.unlanded ?? []
  if (unlanded.length > 0)
    write(
      `tanuki: not landed: ${someOf(unlanded)}, complete, but ` +
        (summary.reason === 'settled'
          ? 'landing it failed (see above); `tanuki land` tries again.\n'
          : `the run ended before ${unlanded.length === 1 ? 'its' : 'their'} work landed; \`tanuki land\` (or \`tanuki project resume\`) lands it.\n`),
    )
  // Nor is complete work left for a person to land (`land: { auto: false }`), though that is asked for.
  const toLand = summary.toLand ?? []
  if (toLand.length > 0)
    write(
      `tanuki: not landed: ${someOf(toLand)}, complete; landing is left to you (\`land: { auto: false }\`): ` +
        `\`tanuki land\` puts ${toLand.length === 1 ? 'its' : 'their'} work on your branch.\n`,
    )
  // Nor is work an earlier run did for another branch: it waits for that one, untouched.
  for (const { target, tasks } of summary.elsewhere ?? []) write(`tanuki: ${waitsForLine(target, tasks)}\n`)
  const elsewhere = (summary.elsewhere ?? []).length > 0
  // Nor is landed work that the remote the config pushes to (`land.push`) lacks.
  const unpushed = summary.pushFailed
  if (unpushed) write(`tanuki: ${notPushedNote(unpushed)}.\n`)
  if (summary.allComplete)
    return summary.landingStopped || held || unlanded.length > 0 || elsewhere || unpushed
      ? EXIT.notComplete
      : EXIT.complete
  const notDone = progress.total - progress.complete
  const left = `${notDone} of ${progress.total} task${progress.total === 1 ? ' is' : 's are'} not complete`
  if (summary.reason === 'budget') {
    const spent = [spend.usd > 0 ? `$${spend.usd.toFixed(2)}` : '', spend.tokens > 0 ? `${spend.tokens} tokens` : '']
      .filter(Boolean)
      .join(', ')
    write(
      `tanuki: the run's budget is spent${spent ? ` (${spent})` : ''}: ${left}; they wait, unharmed. ` +
        `Raise \`budget\` in ${configFile ?? 'your Tanuki config (tanuki.config.*)'}, then \`tanuki project resume\`.\n`,
    )
    return EXIT.budget
  }
  const paused = summary.problems.some((problem) => /^role ".*" is paused/.test(problem))
  const verify = (summary.verifyBlocked ?? []).length > 0
  // Failed and review tasks are settled: a resume leaves them be, and a person who expects it to
  // try them again waits for nothing. Say what does.
  // Which, by name: a person who marked one failed long ago sees it at every run's end.
  const named = summary.settled ?? { failed: [], review: [] }
  const settled = (['failed', 'review'] as const)
    .filter((status) => progress[status] > 0)
    .map((status) => {
      const ids = named[status]
      if (ids.length === 0) return `${progress[status]} ${status}`
      return ids.length === 1 ? `${ids[0]} ${status}` : `${ids.length} ${status} (${someOf(ids)})`
    })
  const all = [...named.failed, ...named.review]
  const id = all.length === 1 && progress.failed + progress.review === 1 ? all[0] : 'ID'
  write(
    `tanuki: ${left}` +
      (summary.reason === 'stopped' ? ' (stopped; `tanuki project resume` continues)' : '') +
      (paused ? ' (fix the paused role above, then `tanuki project resume`)' : '') +
      (verify ? ' (fix the verify above, then `tanuki project resume`)' : '') +
      (settled.length > 0
        ? `: ${settled.join(', ')}, which \`tanuki project resume\` does not run again. ` +
          `\`tanuki task show ${id}\` says why; then ${settledAdvice(id)}`
        : '') +
      '. See `tanuki project status`.\n',
  )
  return EXIT.notComplete
}

/** Ids for a line: the first 20 of a long list, and how many more (a run may leave 1,000). */
function someOf(ids: readonly string[]): string {
  return ids.length > 20 ? `${ids.slice(0, 20).join(', ')} and ${ids.length - 20} more` : ids.join(', ')
}
