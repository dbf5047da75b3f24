import { TanukiError, type Task } from '@tanuki/core'
import { statusPhrase } from '@tanuki/plugin-reporter'

/** `tanuki land ID…`: which of the complete work lands when a person names tasks. */

export interface LandOptions {
  /** The branch to land on (`--into`). */
  into?: string
  /** Say what would land, change nothing (`--dry-run`). */
  dryRun?: boolean
  /**
   * Land only these tasks (`tanuki land ID…`), and the complete work they depend on that has not
   * landed, which lands first. Each must be complete; the rest of the complete work waits.
   */
  only?: readonly string[]
}

/**
 * Refuses, before anything moves, a task named that is not there (`notFound`) or not complete:
 * only complete work lands.
 */
export function checkNamed(
  only: readonly string[],
  tasks: readonly Task[],
  notFound: (id: string) => TanukiError,
): void {
  const byId = new Map(tasks.map((task) => [task.id, task]))
  for (const id of only) {
    const task = byId.get(id)
    if (!task) throw notFound(id)
    if (task.status === 'complete') continue
    throw new TanukiError(
      'TANUKI_TASK_STATUS',
      `${id} is ${statusPhrase(task.status)}, not complete: only complete work lands. ` +
        `\`tanuki task show ${id}\` says why; \`tanuki task mark ${id} complete\` accepts its work as it is.`,
      { details: { id, status: task.status } },
    )
  }
}

/**
 * Of the landing order, the tasks a person named (each complete: `checkNamed`) and the complete
 * work they depend on that has not landed (their dependencies land first). `notes` says what lands
 * with them, what landed already, and what complete work still waits.
 */
export function onlyThese(
  order: readonly Task[],
  only: readonly string[],
  known: {
    facts: ReadonlyMap<string, { landed?: { commit: string } }>
    target: string
    /** Complete work that waits for another branch than the target: that branch. */
    waitsElsewhere: (id: string) => string | undefined
  },
): { order: Task[]; notes: string[] } {
  const inOrder = new Map(order.map((task) => [task.id, task]))
  const notes: string[] = []
  const wanted = new Set<string>()
  for (const id of new Set(only)) {
    const landed = known.facts.get(id)?.landed
    if (landed) {
      notes.push(
        landed.commit === 'by hand'
          ? `${id} is on ${known.target} already: a person landed it by hand.`
          : `${id} landed already, as ${landed.commit.slice(0, 12)}.`,
      )
      continue
    }
    const elsewhere = known.waitsElsewhere(id)
    if (elsewhere !== undefined) {
      notes.push(
        `${id} was done for ${elsewhere} and waits for it: \`tanuki land --into ${elsewhere} ${id}\` lands it there.`,
      )
      continue
    }
    // Not in the order: it waits on a dependency that cannot land now, as the report says.
    if (inOrder.has(id)) wanted.add(id)
  }
  // The work they build on that has not landed: it lands first, said once per task named.
  const named = new Set(wanted)
  const pull = (id: string, asker: string): void => {
    for (const dep of inOrder.get(id)?.dependsOn ?? []) {
      if (!inOrder.has(dep) || wanted.has(dep)) continue
      wanted.add(dep)
      notes.push(`${dep} lands too, first: ${asker} depends on it, and its work has not landed.`)
      pull(dep, asker)
    }
  }
  for (const id of named) pull(id, id)
  const left = order.filter((task) => !wanted.has(task.id)).map((task) => task.id)
  if (left.length > 0) {
    notes.push(
      `${left.length === 1 ? 'complete work still waits to land' : `${left.length} complete tasks still wait to land`}: ` +
        `${left.join(', ')} (\`tanuki land\` lands ${left.length === 1 ? 'it' : 'them'}).`,
    )
  }
  return { order: order.filter((task) => wanted.has(task.id)), notes }
}
