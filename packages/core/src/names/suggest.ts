/** Spelling of a key without case or separators: `dependsOn`, `depends-on` and `depends_on` are one word. */
function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_. ]/g, '')
}

/** Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`. */
function distance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i])
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, rows[i - 2]![j - 2]! + 1)
      rows[i]![j] = best
    }
  }
  return rows[a.length]![b.length]!
}

/** How loosely `closestName` matches. */
export interface ClosestNameOptions {
  /**
   * The candidates are a few words a person types by hand (a CLI's commands and options), not keys
   * of a file: a word of two or three letters may be one slip away too (`tsk` → `task`), and a word
   * of two letters or more may be the start of exactly one candidate (`--verb` → `--verbose`).
   */
  typed?: boolean
  /**
   * With `typed`, whether the start of exactly one candidate counts (default true). Off where a
   * short word is as likely a name of its own (a task's role: `be` beside `backend`).
   */
  beginnings?: boolean
}

/**
 * The candidate `name` is most likely a misspelling of, or undefined when none is close: the same
 * word in another case or with other separators, or a few typing slips away (one for short
 * words, two from six letters on; none for three letters or fewer, unless `typed`).
 *
 * @example
 * closestName('agnets', ['agents', 'tasks'])            // 'agents'
 * closestName('dependsOn', ['depends_on'])              // 'depends_on'
 * closestName('tsk', ['task', 'land'], { typed: true }) // 'task'
 */
export function closestName(
  name: string,
  candidates: Iterable<string>,
  options: ClosestNameOptions = {},
): string | undefined {
  const wanted = normalize(name)
  const short = options.typed && wanted.length >= 2 ? 1 : 0
  const allowed = wanted.length <= 3 ? short : wanted.length < 6 ? 1 : 2
  let best: { candidate: string; score: number } | undefined
  const starting: string[] = []
  for (const candidate of candidates) {
    if (candidate === name) return undefined
    const spelled = normalize(candidate)
    const score = distance(wanted, spelled)
    if (score <= allowed && (!best || score < best.score)) best = { candidate, score }
    if (options.typed && options.beginnings !== false && wanted.length >= 2 && spelled.startsWith(wanted))
      starting.push(candidate)
  }
  // A beginning names one candidate only when no other begins so: `re` is rerun or reset.
  return best?.candidate ?? (starting.length === 1 ? starting[0] : undefined)
}

/** ` (did you mean "x"?)` for a near miss, else an empty string: ready to append to a message. */
export function didYouMean(name: string, candidates: Iterable<string>, options: ClosestNameOptions = {}): string {
  const closest = closestName(name, candidates, options)
  return closest === undefined ? '' : ` (did you mean "${closest}"?)`
}
