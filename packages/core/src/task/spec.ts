import type { Task } from './types.ts'

/** The fields of a task's spec, as its front matter names them: what a run of it read. */
export const SPEC_FIELDS = [
  'title',
  'body',
  'role',
  'priority',
  'depends_on',
  'verify',
  'signal',
  'max_iterations',
] as const

export type SpecField = (typeof SPEC_FIELDS)[number]

/** A hash of each field of a task's spec, by field: what the journal keeps of the spec a task completed with. */
export type SpecHashes = Partial<Record<SpecField, string>>

const read: Record<SpecField, (task: Task) => unknown> = {
  title: (task) => task.title,
  body: (task) => task.body,
  role: (task) => task.role,
  priority: (task) => task.priority,
  depends_on: (task) => task.dependsOn,
  verify: (task) => task.completion.verify ?? null,
  signal: (task) => task.completion.signal ?? null,
  max_iterations: (task) => task.completion.maxIterations,
}

/**
 * FNV-1a over the UTF-16 code units, 32 bits, as hex: enough to tell an edit from none (the copy of
 * a spec a journal would otherwise keep is as long as its body), and the same on every runtime.
 */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(16).padStart(8, '0')
}

/** A hash of each field of a task's spec (`SpecHashes`). */
export function specHashes(task: Task): SpecHashes {
  const hashes: SpecHashes = {}
  for (const field of SPEC_FIELDS) hashes[field] = fnv1a(JSON.stringify(read[field](task)))
  return hashes
}

/**
 * The fields of a task's spec that differ from those it completed with (`ran`, from the journal),
 * in `SPEC_FIELDS` order; none when the journal kept no hashes (it completed before they were kept).
 */
export function changedSince(task: Task, ran: SpecHashes | undefined): SpecField[] {
  if (!ran) return []
  const now = specHashes(task)
  return SPEC_FIELDS.filter((field) => ran[field] !== undefined && ran[field] !== now[field])
}
