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
 * The task id a component of `taskRefs(project)/<component>/…` names: `refComponent` undone. An id
 * that itself reads `x-` and hex (`x-0a`) is taken for an encoded one: its refs were named so
 * before this was read back, and renaming them would lose the work they hold.
 */
export function taskIdOfRef(component: string): string {
  return /^x-(?:[0-9a-f]{2})+$/.test(component) ? Buffer.from(component.slice(2), 'hex').toString() : component
}
