import { TanukiError } from '@tanuki/core'
import type { DashboardSource, SourceListener, StatusDocument, TaskDetail } from '../src/types.ts'

/** A small real source: a status document in memory, events pushed by the test, actions recorded. */
export function memorySource(doc: StatusDocument, details: Record<string, TaskDetail> = {}) {
  const listeners = new Set<SourceListener>()
  const actions: string[] = []
  const source: DashboardSource & { emit: SourceListener; actions: string[]; doc: StatusDocument } = {
    doc,
    actions,
    status: () => structuredClone(source.doc),
    task: (id) => details[id],
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    emit: (name, event) => {
      for (const listener of listeners) listener(name, event)
    },
    async rerun(id, options) {
      if (!source.doc.tasks.some((task) => task.id === id))
        throw new TanukiError('TANUKI_TASK_NOT_FOUND', `No task "${id}".`)
      actions.push(`rerun ${id}${options?.withDependents ? ' with dependents' : ''}`)
    },
    async reset(id) {
      actions.push(`reset ${id}`)
    },
    async stop() {
      actions.push('stop')
    },
    async resume() {
      actions.push('resume')
    },
  }
  return source
}

/** A status document of `n` tasks in a chain, over `roles` roles. */
export function chainDoc(n: number, roles = 4): StatusDocument {
  return {
    status: 'running',
    updatedAt: new Date(0).toISOString(),
    tasks: Array.from({ length: n }, (_, i) => ({
      id: `T-${String(i).padStart(5, '0')}`,
      title: `Task number ${i}`,
      role: `role-${i % roles}`,
      priority: 'medium' as const,
      status: 'pending' as const,
      dependsOn: i === 0 ? [] : [`T-${String(Math.floor((i - 1) / 2)).padStart(5, '0')}`],
      iterations: 0,
    })),
    progress: {
      total: n,
      complete: 0,
      inProgress: 0,
      pending: n,
      failed: 0,
      review: 0,
      blocked: 0,
      percentage: 0,
      byStatus: {},
      byRole: {},
    },
    agents: [],
  }
}
