/** Where a task stands. Public API: these strings appear in task files and `status --json`. */
export type TaskStatus = 'pending' | 'assigned' | 'in_progress' | 'review' | 'complete' | 'failed' | 'blocked'

export const TASK_STATUSES: readonly TaskStatus[] = [
  'pending',
  'assigned',
  'in_progress',
  'review',
  'complete',
  'failed',
  'blocked',
]

export type TaskPriority = 'critical' | 'high' | 'medium' | 'low'

export const TASK_PRIORITIES: readonly TaskPriority[] = ['critical', 'high', 'medium', 'low']

/** Statuses that end a task's run: nothing more happens to it unless a person changes it. */
export const SETTLED_STATUSES: ReadonlySet<TaskStatus> = new Set(['complete', 'failed', 'review', 'blocked'])

/**
 * How Tanuki decides a task is done. With neither `verify` nor `signal` (a task without
 * `completion`), a person decides: the task goes to `review` after an agent run without an error.
 */
export interface CompletionCriteria {
  /** Shell command run where the agent worked; exit code 0 means done. */
  verify?: string
  /** Text that must appear in the agent's output. */
  signal?: string
  /** Tries before the task goes to `review`. Default 30, at most 1000. */
  maxIterations: number
}

export const DEFAULT_MAX_ITERATIONS = 30
/** The most tries a task may ask for: more is a typo, or a loop that should be a person's call. */
export const MAX_ITERATIONS_LIMIT = 1000

/** A task as parsed from its file (or built in code). */
export interface Task {
  id: string
  title: string
  /** Which agent pool takes it. Default `default`. */
  role: string
  priority: TaskPriority
  status: TaskStatus
  dependsOn: string[]
  assignedTo?: string
  completion: CompletionCriteria
  tags: string[]
  /** The Markdown body: the agent's instructions. */
  body: string
  /** Where it came from (a file path, or a name for tasks built in code); used in error messages. */
  source?: string
  /** Front-matter keys Tanuki does not know, kept as they were. */
  extra: Record<string, unknown>
}

/** What `createTask` and the parser accept: only `id` and `title` are required. */
export interface TaskInput {
  id: string
  title: string
  role?: string
  priority?: TaskPriority
  status?: TaskStatus
  dependsOn?: string[]
  assignedTo?: string
  completion?: Partial<CompletionCriteria>
  tags?: string[]
  body?: string
  source?: string
  extra?: Record<string, unknown>
}

/**
 * The front-matter keys Tanuki writes back. `null` removes a key. Anything else in the file stays
 * byte for byte.
 */
export interface TaskPatch {
  status?: TaskStatus
  assigned_to?: string | null
  started_at?: string | null
  completed_at?: string | null
  failure?: string | null
  iterations?: number | null
}
