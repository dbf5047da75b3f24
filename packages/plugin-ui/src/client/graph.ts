import dagre from '@dagrejs/dagre'
import type { DashboardModel } from '../model/index.ts'

/** Most tasks the graph draws at once; beyond it, it shows clusters or a neighbourhood. */
export const MAX_NODES = 150

export interface GraphNode {
  id: string
  label: string
  sub: string
  /** A task's status, or, for a cluster, its counts by status. */
  status?: string
  counts?: Record<string, number>
  total?: number
  x: number
  y: number
  width: number
  height: number
  /** Where clicking takes you: a task, or a role's cluster. */
  kind: 'task' | 'cluster'
}

export interface GraphEdge {
  from: string
  to: string
  points: { x: number; y: number }[]
  label?: string
}

export interface Layout {
  nodes: GraphNode[]
  edges: GraphEdge[]
  width: number
  height: number
  /** What is shown, in words. */
  caption: string
}

/** Who depends on whom, both ways. Rebuilt when the task set changes (not on status changes). */
export class Edges {
  readonly dependents = new Map<string, string[]>()
  size = -1

  update(model: DashboardModel): void {
    if (model.tasks.size === this.size) return
    this.size = model.tasks.size
    this.dependents.clear()
    for (const task of model.tasks.values()) {
      for (const dep of task.dependsOn) {
        let list = this.dependents.get(dep)
        if (!list) this.dependents.set(dep, (list = []))
        list.push(task.id)
      }
    }
  }
}

/** The tasks within `depth` steps of `center`, both ways, nearest first, at most `max`. */
export function neighbourhood(
  model: DashboardModel,
  edges: Edges,
  center: string,
  depth = 2,
  max = MAX_NODES,
): string[] {
  const seen = new Set([center])
  let frontier = [center]
  for (let step = 0; step < depth && seen.size < max; step++) {
    const next: string[] = []
    for (const id of frontier) {
      const near = [...(model.tasks.get(id)?.dependsOn ?? []), ...(edges.dependents.get(id) ?? [])]
      for (const other of near) {
        if (seen.size >= max) break
        if (seen.has(other) || !model.tasks.has(other)) continue
        seen.add(other)
        next.push(other)
      }
    }
    frontier = next
  }
  return [...seen]
}

function layoutOf(
  nodes: Omit<GraphNode, 'x' | 'y'>[],
  links: { from: string; to: string; label?: string }[],
  caption: string,
): Layout {
  const g = new dagre.graphlib.Graph({ multigraph: false })
  g.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 50, marginx: 10, marginy: 10 })
  g.setDefaultEdgeLabel(() => ({}))
  for (const node of nodes) g.setNode(node.id, { width: node.width, height: node.height })
  for (const link of links) g.setEdge(link.from, link.to)
  dagre.layout(g)
  const graph = g.graph()
  return {
    nodes: nodes.map((node) => {
      const placed = g.node(node.id)
      return { ...node, x: placed.x, y: placed.y }
    }),
    edges: links.map((link) => ({
      ...link,
      points: ((g.edge(link.from, link.to)?.points ?? []) as { x: number; y: number }[]).map((p) => ({
        x: p.x,
        y: p.y,
      })),
    })),
    width: graph.width ?? 0,
    height: graph.height ?? 0,
    caption,
  }
}

/** The graph of some tasks: a node each, an edge from each dependency to its dependent. */
export function taskLayout(model: DashboardModel, ids: string[], caption: string): Layout {
  const shown = new Set(ids)
  const nodes = ids.map((id) => {
    const task = model.tasks.get(id)!
    return {
      id,
      label: id,
      sub: task.title,
      status: task.status,
      width: 150,
      height: 38,
      kind: 'task' as const,
    }
  })
  const links: { from: string; to: string }[] = []
  for (const id of ids) {
    for (const dep of model.tasks.get(id)!.dependsOn) if (shown.has(dep)) links.push({ from: dep, to: id })
  }
  return layoutOf(nodes, links, caption)
}

/** The project by role: a node per role with its counts by status, edges where roles depend on each other. */
export function clusterLayout(model: DashboardModel): Layout {
  const roles = new Map<string, Record<string, number>>()
  const links = new Map<string, number>()
  for (const task of model.tasks.values()) {
    let counts = roles.get(task.role)
    if (!counts) roles.set(task.role, (counts = {}))
    counts[task.status] = (counts[task.status] ?? 0) + 1
    for (const dep of task.dependsOn) {
      const other = model.tasks.get(dep)
      if (!other || other.role === task.role) continue
      const key = `${other.role}\u0000${task.role}`
      links.set(key, (links.get(key) ?? 0) + 1)
    }
  }
  const nodes = [...roles].map(([role, counts]) => ({
    id: `role:${role}`,
    label: role,
    sub: '',
    counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    width: 190,
    height: 52,
    kind: 'cluster' as const,
  }))
  const edges = [...links].map(([key, count]) => {
    const [from, to] = key.split('\u0000') as [string, string]
    return { from: `role:${from}`, to: `role:${to}`, label: `${count}` }
  })
  return layoutOf(nodes, edges, `${model.tasks.size} tasks by role: pick a task to see its neighbourhood`)
}
