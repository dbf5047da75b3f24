import type { ProjectInfo } from '@tanuki/core'

/** Agent and project names become branch and directory names: keep them to safe characters. */
export function safeName(agent: string): string {
  return agent.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '') || 'agent'
}

/** The namespace of a project's task refs: `refs/tanuki/<project>/tasks`. */
export function taskRefs(project: ProjectInfo): string {
  return `refs/tanuki/${safeName(project.name)}/tasks`
}

/** A task's refs: `base` (where its attempt started), `tip` (its last iteration), `work` (its change as one commit on `base`). */
export function taskRef(project: ProjectInfo, taskId: string, which: 'base' | 'tip' | 'work'): string {
  return `${taskRefs(project)}/${refComponent(taskId)}/${which}`
}

/** A task id as one component of a ref name: as it is when git allows it, else hex. */
function refComponent(id: string): string {
  return /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(id) && !id.includes('..') && !id.endsWith('.lock')
    ? id
    : `x-${Buffer.from(id).toString('hex')}`
}

/**
 * The task id a component of `taskRefs(project)/<component>/…` names: `refComponent` undone. A
 * component reads as encoded only when what it decodes to is a task id that `refComponent` encodes
 * to it: an id that is itself `x-` and hex (`x-12`, `x-cafe`) stays as it is.
 */
export function taskIdOfRef(component: string): string {
  if (!/^x-(?:[0-9a-f]{2})+$/.test(component)) return component
  const decoded = Buffer.from(component.slice(2), 'hex').toString()
  const isTaskId = /^[A-Za-z0-9._-]+$/.test(decoded) && decoded !== '.' && decoded !== '..'
  return isTaskId && refComponent(decoded) === component ? decoded : component
}
