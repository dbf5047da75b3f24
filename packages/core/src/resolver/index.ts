import { TanukiError } from '../errors.ts'
import type { TaskStatus } from '../task/types.ts'

/** The least the Resolver needs to know of a task. */
export interface GraphTask {
  id: string
  dependsOn: readonly string[]
  status: TaskStatus
}

/** Why a task cannot start: one entry per dependency that is not complete. */
export interface Blocker {
  /** The dependency's id. */
  id: string
  /** `missing`: no such task; `failed`: it failed or is itself blocked; `incomplete`: not done yet. */
  reason: 'missing' | 'failed' | 'incomplete'
  /** The dependency's status, when it exists. */
  status?: TaskStatus
}

interface Node {
  id: string
  deps: string[]
  status: TaskStatus
  /** Dependencies that are not `complete` (missing ones included). */
  unmet: number
}

/**
 * The dependency graph of a project's tasks. Incremental: a status change costs O(dependents of
 * the task), so completing a task never rescans the project.
 *
 * @example
 * const graph = new Resolver(tasks)
 * const nowReady = graph.setStatus('TASK-001', 'complete') // ids that just became ready
 */
export class Resolver {
  private readonly nodes = new Map<string, Node>()
  /** Reverse edges, kept even for ids that do not exist (yet), so adding one links its dependents. */
  private readonly dependentsOf = new Map<string, Set<string>>()
  /**
   * Ids of no task that count as complete (`retire`): tasks that completed and are gone since (a
   * person deleted the file of done work). A dependency on one is met, not missing.
   */
  private readonly retiredIds = new Set<string>()

  constructor(tasks: Iterable<GraphTask> = []) {
    this.addAll(tasks)
  }

  get size(): number {
    return this.nodes.size
  }

  has(id: string): boolean {
    return this.nodes.has(id)
  }

  ids(): IterableIterator<string> {
    return this.nodes.keys()
  }

  status(id: string): TaskStatus | undefined {
    return this.nodes.get(id)?.status
  }

  dependencies(id: string): readonly string[] {
    return this.nodes.get(id)?.deps ?? []
  }

  /**
   * Adds a task, or replaces one with the same id. Returns the ids that became ready: the task
   * itself, or tasks that were waiting for it as a missing dependency.
   */
  add(task: GraphTask): string[] {
    const ready: string[] = []
    this.insert(task, ready)
    return ready
  }

  /** Adds tasks as `add` does, without telling which became ready (`ready()` says, once). */
  addAll(tasks: Iterable<GraphTask>): void {
    for (const task of tasks) this.insert(task, undefined)
  }

  /**
   * `add`, collecting the ids that became ready into `ready` when given. Building the graph of a
   * big project (100,000 tasks, twice a start) made a set, two arrays and a lookup more per task.
   */
  private insert(task: GraphTask, ready: string[] | undefined): void {
    if (this.nodes.has(task.id)) this.remove(task.id)
    // Back after it was retired: its dependents counted it complete, so it releases none again,
    // and one that is not complete (any more) holds them back again.
    const wasRetired = this.retiredIds.delete(task.id)
    if (wasRetired && task.status !== 'complete') this.hold(task.id)
    const given = task.dependsOn
    const deps = given.length === 0 ? [] : given.length === 1 ? [given[0]!] : [...new Set(given)]
    let unmet = 0
    for (const dep of deps) {
      const other = this.nodes.get(dep)
      if (other ? other.status !== 'complete' : !this.retiredIds.has(dep)) unmet++
      let set = this.dependentsOf.get(dep)
      if (!set) this.dependentsOf.set(dep, (set = new Set()))
      set.add(task.id)
    }
    const node: Node = { id: task.id, deps, status: task.status, unmet }
    this.nodes.set(task.id, node)
    if (wasRetired) {
      if (ready && node.status === 'pending' && unmet === 0) ready.push(task.id)
      return
    }
    if (!ready) {
      if (task.status === 'complete' && this.dependentsOf.has(task.id)) this.release(task.id, [])
      return
    }
    if (node.status === 'pending' && unmet === 0) ready.push(task.id)
    if (task.status === 'complete') this.release(task.id, ready)
  }

  /** Forgets a task. Its dependents now count it as missing. */
  remove(id: string): void {
    const node = this.nodes.get(id)
    if (!node) return
    if (node.status === 'complete') this.hold(id)
    for (const dep of node.deps) this.dependentsOf.get(dep)?.delete(id)
    this.nodes.delete(id)
  }

  /**
   * Forgets a task that completed, or an id of no task that did (its record outlived it): its
   * dependents count it complete, not missing, until a task with its id is added again. Returns the
   * ids that became ready (tasks that waited for it as a missing dependency). A task that is not
   * complete is only removed.
   */
  retire(id: string): string[] {
    const node = this.nodes.get(id)
    if (node && node.status !== 'complete') {
      this.remove(id)
      return []
    }
    if (node) {
      for (const dep of node.deps) this.dependentsOf.get(dep)?.delete(id)
      this.nodes.delete(id)
      this.retiredIds.add(id)
      return []
    }
    if (this.retiredIds.has(id)) return []
    this.retiredIds.add(id)
    const ready: string[] = []
    this.release(id, ready)
    return ready
  }

  /** Whether `id` was retired: no task has it, and its dependents count it complete. */
  retired(id: string): boolean {
    return this.retiredIds.has(id)
  }

  /** Its dependents count `id` as not complete again. */
  private hold(id: string): void {
    for (const dependent of this.dependentsOf.get(id) ?? []) {
      const other = this.nodes.get(dependent)
      if (other) other.unmet++
    }
  }

  /** Records a status change. Returns the ids that became ready because of it. */
  setStatus(id: string, status: TaskStatus): string[] {
    const node = this.nodes.get(id)
    if (!node) throw new TanukiError('TANUKI_TASK_NOT_FOUND', `No task with id "${id}" in the graph`)
    const before = node.status
    node.status = status
    const ready: string[] = []
    if (before !== 'complete' && status === 'complete') this.release(id, ready)
    else if (before === 'complete' && status !== 'complete') this.hold(id)
    if (status === 'pending' && before !== 'pending' && node.unmet === 0) ready.push(id)
    return ready
  }

  private release(id: string, ready: string[]): void {
    for (const dependent of this.dependentsOf.get(id) ?? []) {
      const other = this.nodes.get(dependent)
      if (!other) continue
      other.unmet--
      if (other.unmet === 0 && other.status === 'pending') ready.push(dependent)
    }
  }

  /** True when the task is pending and every dependency is complete. */
  isReady(id: string): boolean {
    const node = this.nodes.get(id)
    return node !== undefined && node.status === 'pending' && node.unmet === 0
  }

  /** Every ready task. O(n): use at start-up, then rely on what `setStatus` returns. */
  ready(): string[] {
    const ready: string[] = []
    for (const node of this.nodes.values()) if (node.status === 'pending' && node.unmet === 0) ready.push(node.id)
    return ready
  }

  /** What stands between a task and its start: each dependency that is not complete, and why. */
  blockers(id: string): Blocker[] {
    const node = this.nodes.get(id)
    if (!node || node.unmet === 0) return []
    const blockers: Blocker[] = []
    for (const dep of node.deps) {
      const other = this.nodes.get(dep)
      if (!other) {
        if (!this.retiredIds.has(dep)) blockers.push({ id: dep, reason: 'missing' })
      } else if (other.status === 'failed' || other.status === 'blocked') {
        blockers.push({ id: dep, reason: 'failed', status: other.status })
      } else if (other.status !== 'complete') blockers.push({ id: dep, reason: 'incomplete', status: other.status })
    }
    return blockers
  }

  /** The tasks that list `id` among their dependencies. */
  dependents(id: string): string[] {
    const ids: string[] = []
    for (const dependent of this.dependentsOf.get(id) ?? []) if (this.nodes.has(dependent)) ids.push(dependent)
    return ids
  }

  /** Every task that depends on `id`, directly or through others, in breadth-first order. */
  transitiveDependents(id: string): string[] {
    const seen = new Set<string>([id])
    const order: string[] = []
    const queue = [id]
    for (let i = 0; i < queue.length; i++) {
      for (const dependent of this.dependents(queue[i]!)) {
        if (seen.has(dependent)) continue
        seen.add(dependent)
        order.push(dependent)
        queue.push(dependent)
      }
    }
    return order
  }

  /** Dependencies that name no known task, as `[task, missing dependency]` pairs. */
  missingDependencies(): [string, string][] {
    const missing: [string, string][] = []
    for (const node of this.nodes.values()) {
      for (const dep of node.deps) if (!this.nodes.has(dep) && !this.retiredIds.has(dep)) missing.push([node.id, dep])
    }
    return missing
  }

  /**
   * A dependency cycle, as the path that closes it (`['a', 'b', 'c', 'a']`: a depends on b…), or
   * `undefined` when the graph has none. Iterative, so deep graphs cannot overflow the stack.
   */
  findCycle(): string[] | undefined {
    const state = new Map<string, 1 | 2>() // 1: on the current path, 2: done
    // One path and stack for every walk: each ends empty. A task without dependencies is done at
    // once (most of a big project's: the check runs at every start, over every task).
    const path: string[] = []
    const stack: { id: string; next: number }[] = []
    for (const [start, node] of this.nodes) {
      if (node.deps.length === 0 || state.has(start)) continue
      stack.push({ id: start, next: 0 })
      state.set(start, 1)
      path.push(start)
      while (stack.length > 0) {
        const frame = stack[stack.length - 1]!
        const deps = this.nodes.get(frame.id)!.deps
        if (frame.next < deps.length) {
          const dep = deps[frame.next++]!
          if (!this.nodes.has(dep)) continue
          const seen = state.get(dep)
          if (seen === 1) return [...path.slice(path.indexOf(dep)), dep]
          if (seen === undefined) {
            state.set(dep, 1)
            path.push(dep)
            stack.push({ id: dep, next: 0 })
          }
        } else {
          state.set(frame.id, 2)
          path.pop()
          stack.pop()
        }
      }
    }
    return undefined
  }

  /**
   * Tasks grouped by depth: level 0 has no (known) dependencies, level n depends on level n-1 at
   * most. Throws `TANUKI_DEPENDENCY_CYCLE` with the cycle's path when there is one.
   */
  levels(): string[][] {
    const indegree = new Map<string, number>()
    for (const node of this.nodes.values()) {
      indegree.set(node.id, node.deps.filter((dep) => this.nodes.has(dep)).length)
    }
    let current = [...indegree].filter(([, degree]) => degree === 0).map(([id]) => id)
    const levels: string[][] = []
    let placed = 0
    while (current.length > 0) {
      levels.push(current)
      placed += current.length
      const next: string[] = []
      for (const id of current) {
        for (const dependent of this.dependents(id)) {
          const degree = indegree.get(dependent)! - 1
          indegree.set(dependent, degree)
          if (degree === 0) next.push(dependent)
        }
      }
      current = next
    }
    if (placed < this.nodes.size) throw cycleError(this.findCycle() ?? [])
    return levels
  }

  /** Every task after all of its dependencies. Throws `TANUKI_DEPENDENCY_CYCLE` on a cycle. */
  topologicalOrder(): string[] {
    return this.levels().flat()
  }

  /**
   * The graph as Mermaid flowchart text, each node styled by its status.
   *
   * @param label text shown in a node (default: the id)
   */
  toMermaid(label: (id: string) => string = (id) => id): string {
    const names = new Map<string, string>()
    let n = 0
    const name = (id: string): string => {
      let value = names.get(id)
      if (!value) names.set(id, (value = `t${n++}`))
      return value
    }
    const escape = (text: string): string => text.replace(/"/g, '#quot;')
    const lines = ['flowchart TD']
    for (const node of this.nodes.values())
      lines.push(`  ${name(node.id)}["${escape(label(node.id))}"]:::${node.status}`)
    for (const node of this.nodes.values()) {
      for (const dep of node.deps) {
        if (!this.nodes.has(dep) && !names.has(dep)) {
          lines.push(
            this.retiredIds.has(dep)
              ? `  ${name(dep)}["${escape(dep)} (complete, task gone)"]:::complete`
              : `  ${name(dep)}["${escape(dep)} (missing)"]:::missing`,
          )
        }
        lines.push(`  ${name(dep)} --> ${name(node.id)}`)
      }
    }
    lines.push(
      '  classDef complete fill:#d4edda,stroke:#28a745',
      '  classDef failed fill:#f8d7da,stroke:#dc3545',
      '  classDef blocked fill:#fff3cd,stroke:#ffc107',
      '  classDef review fill:#e2d9f3,stroke:#6f42c1',
      '  classDef in_progress fill:#cce5ff,stroke:#007bff',
      '  classDef missing stroke-dasharray:4 2',
    )
    return lines.join('\n')
  }
}

/** The error for a dependency cycle, naming its path. */
export function cycleError(path: readonly string[]): TanukiError {
  return new TanukiError(
    'TANUKI_DEPENDENCY_CYCLE',
    `Dependency cycle: ${path.join(' -> ')}. Remove one of these depends_on entries to break it.`,
    { details: { cycle: path } },
  )
}
