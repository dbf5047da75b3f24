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

/**
 * The candidate `name` is most likely a misspelling of, or undefined when none is close: the same
 * word in another case or with other separators, or a few typing slips away (one for short
 * words, two from six letters on).
 *
 * @example
 * closestName('agnets', ['agents', 'tasks']) // 'agents'
 * closestName('dependsOn', ['depends_on'])   // 'depends_on'
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = normalize(name)
  const allowed = wanted.length <= 3 ? 0 : wanted.length < 6 ? 1 : 2
  let best: { candidate: string; score: number } | undefined
  for (const candidate of candidates) {
    if (candidate === name) return undefined
    const score = distance(wanted, normalize(candidate))
    if (score <= allowed && (!best || score < best.score)) best = { candidate, score }
  }
  return best?.candidate
}

/** ` (did you mean "x"?)` for a near miss, else an empty string: ready to append to a message. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const closest = closestName(name, candidates)
  return closest === undefined ? '' : ` (did you mean "${closest}"?)`
}
