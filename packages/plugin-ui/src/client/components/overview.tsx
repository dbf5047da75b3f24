import type { NeedKind, NeedsYouItem } from '@tanuki/core'
import { useMemo, useRef, useState, useLayoutEffect } from 'preact/hooks'
import { STATUSES, type DashboardModel } from '../../model/index.ts'
import type { DashboardTask } from '../../types.ts'
import { STATUS_LABEL, iterationText, iterationTitle, relative, spendText } from '../format.ts'
import { Edges, MAX_NODES, clusterLayout, neighbourhood, taskLayout, type Layout } from '../graph.ts'
import { taskHref, useStore } from '../hooks.ts'
import { store } from '../store.ts'

const ROW = 30

type NotPushed = ReturnType<DashboardModel['notPushed']>

/** Which tasks the list shows. */
interface Filter {
  status?: string
  role?: string
  text: string
}

function matches(task: DashboardTask, filter: Filter): boolean {
  if (filter.status && task.status !== filter.status) return false
  if (filter.role && task.role !== filter.role) return false
  if (filter.text) {
    const text = filter.text.toLowerCase()
    return task.id.toLowerCase().includes(text) || task.title.toLowerCase().includes(text)
  }
  return true
}

const RANK = new Map(STATUSES.map((status, i) => [status, i]))

/** Counts by role and status: each cell filters the list. */
function Matrix({ filter, setFilter }: { filter: Filter; setFilter: (f: Filter) => void }) {
  const progress = store.model.progress()
  const roles = Object.keys(progress.byRole).sort()
  const pick = (status?: string, role?: string): void => {
    const same = filter.status === status && filter.role === role
    setFilter({ ...filter, ...(same ? { status: undefined, role: undefined } : { status, role }) })
  }
  return (
    <table class="matrix" data-testid="matrix">
      <thead>
        <tr>
          <th>role</th>
          {STATUSES.map((status) => (
            <th class={`h-${status}`} title={`tasks ${STATUS_LABEL[status]}, by role`}>
              {STATUS_LABEL[status]}
            </th>
          ))}
          <th>total</th>
        </tr>
      </thead>
      <tbody>
        {roles.map((role) => {
          const counts = progress.byRole[role]!
          return (
            <tr>
              <th>
                <button type="button" class="link" title={role} onClick={() => pick(undefined, role)}>
                  {role}
                </button>
              </th>
              {STATUSES.map((status) => (
                <td
                  class={counts[status] ? `c-${status} clickable` : 'zero'}
                  onClick={() => counts[status] && pick(status, role)}
                >
                  {counts[status] || ''}
                </td>
              ))}
              <td>{counts.total}</td>
            </tr>
          )
        })}
        <tr class="totals">
          <th>all</th>
          {STATUSES.map((status) => (
            <td class={progress.byStatus[status] ? `c-${status} clickable` : 'zero'} onClick={() => pick(status)}>
              {progress.byStatus[status] || ''}
            </td>
          ))}
          <td>{progress.total}</td>
        </tr>
      </tbody>
    </table>
  )
}

const NEED_LABEL: Record<NeedKind, string> = {
  failed: 'failed',
  review: 'in review',
  waits: 'waits',
  'not-landed': 'not landed',
}

/** Why a complete task's work is not landed: what holds it (each a link), or nothing but `tanuki land`. */
function NotLandedWhy({ item, target }: { item: NeedsYouItem; target?: string }) {
  const holds = item.holds ?? []
  if (holds.length === 0) return <>complete; its work is not on {target ?? 'the target'}</>
  return (
    <>
      complete; its landing waits for{' '}
      {holds.map((dep, i) => (
        <>
          {i > 0 && ', '}
          <a href={taskHref(dep.id)}>{dep.id}</a> (
          {dep.status === 'review' ? 'in review' : dep.status.replace('_', ' ')})
        </>
      ))}
      , which needs you first
    </>
  )
}

/** Text with its backquoted parts (commands) as code. */
function WithCode({ text }: { text: string }) {
  return <>{text.split('`').map((part, i) => (i % 2 === 1 ? <code>{part}</code> : part))}</>
}

/**
 * What needs a person, as `tanuki project status` lists it: the target not pushed to `land.push`'s
 * remote, then each task. Shown only while there is any.
 */
function NeedsYou({ items, notPushed }: { items: NeedsYouItem[]; notPushed: NotPushed | undefined }) {
  if (items.length === 0 && !notPushed) return null
  const settled = items.some((item) => item.kind === 'failed' || item.kind === 'review')
  return (
    <section class="panel needs-you" data-testid="needs-you">
      <h2>
        Needs you <span class="muted">{items.length + (notPushed ? 1 : 0)}</span>
      </h2>
      <ul class="needs">
        {notPushed && (
          <li class="need k-not-pushed" data-kind="not-pushed" data-testid="not-pushed">
            <span class="need-id">{notPushed.branch}</span>
            <span class="need-kind k-not-pushed">not pushed</span>
            <span class="need-why" data-testid="need-why">
              <WithCode text={notPushed.why} />
            </span>
            <code class="need-command">{notPushed.command}</code>
          </li>
        )}
        {items.map((item) => (
          <li class={`need k-${item.kind}`} data-task={item.taskId} data-kind={item.kind}>
            <a class="need-id" href={taskHref(item.taskId)}>
              {item.taskId}
            </a>
            <span class={`need-kind k-${item.kind}`}>{NEED_LABEL[item.kind]}</span>
            <span class="need-why" data-testid="need-why">
              {item.kind === 'not-landed' ? <NotLandedWhy item={item} target={store.model.target} /> : item.why}
            </span>
            {item.command && <code class="need-command">{item.command}</code>}
          </li>
        ))}
      </ul>
      {settled && (
        <p class="muted need-note">
          A failed or in-review task's page (or <code>tanuki task show ID</code>) has its tries, logs and work; then
          Rerun there (<code>tanuki task rerun ID</code>), or <code>tanuki task mark ID complete</code>: a run does not
          take it again by itself.
        </p>
      )}
    </section>
  )
}

/** Every agent as a lane: its task and iteration, parked until when. */
function Agents() {
  const agents = [...store.model.agents.values()].sort((a, b) => a.name.localeCompare(b.name))
  if (agents.length === 0) return <p class="muted">No agents yet.</p>
  return (
    <div class="lanes" data-testid="agents">
      {agents.map((agent) => {
        const task = agent.task ? store.model.tasks.get(agent.task) : undefined
        const parked = agent.parkedUntil && Date.parse(agent.parkedUntil) > Date.now() ? agent.parkedUntil : undefined
        return (
          <div class={`lane a-${parked ? 'parked' : agent.status}`} data-agent={agent.name}>
            <span class="lane-name">{agent.name}</span>
            <span class="lane-role">
              {agent.role} · {agent.backend}
            </span>
            <span class="lane-status">
              {parked ? `parked until ${new Date(parked).toLocaleTimeString()} (${relative(parked)})` : agent.status}
            </span>
            <span class="lane-task">
              {agent.task ? (
                <>
                  <a href={taskHref(agent.task)}>{agent.task}</a>
                  {task ? ` ${task.title}` : ''}
                  {agent.iteration !== undefined && (
                    <span
                      class="iter"
                      title={iterationTitle(task?.iterations ?? agent.iteration, agent.iteration, agent.maxIterations)}
                    >
                      {' '}
                      {iterationText(task?.iterations ?? agent.iteration, agent.iteration, agent.maxIterations)}
                    </span>
                  )}
                </>
              ) : (
                (agent.message ?? agent.parkReason ?? '')
              )}
            </span>
          </div>
        )
      })}
    </div>
  )
}

/** The task list: only the rows in view are in the page, so 10,000 tasks scroll as fast as 10. */
function TaskList({
  tasks,
  selected,
  select,
}: {
  tasks: DashboardTask[]
  selected?: string
  select: (id: string) => void
}) {
  const box = useRef<HTMLDivElement>(null)
  const [scroll, setScroll] = useState(0)
  const [height, setHeight] = useState(600)
  useLayoutEffect(() => {
    const el = box.current
    if (!el) return
    const observer = new ResizeObserver(() => setHeight(el.clientHeight))
    observer.observe(el)
    return () => observer.disconnect()
  }, [])
  const first = Math.max(0, Math.floor(scroll / ROW) - 10)
  const last = Math.min(tasks.length, Math.ceil((scroll + height) / ROW) + 10)
  return (
    <div
      class="list"
      ref={box}
      onScroll={(e) => setScroll((e.currentTarget as HTMLDivElement).scrollTop)}
      data-testid="task-list"
    >
      <div style={{ height: `${tasks.length * ROW}px`, position: 'relative' }}>
        {tasks.slice(first, last).map((task, i) => (
          <div
            class={`row${task.id === selected ? ' selected' : ''}`}
            style={{ top: `${(first + i) * ROW}px` }}
            data-task={task.id}
            data-status={task.status}
            onClick={() => select(task.id)}
            onDblClick={() => (location.hash = taskHref(task.id))}
          >
            <span class={`dot s-${task.status}`} title={task.status} />
            <a class="row-id" href={taskHref(task.id)} onClick={(e) => e.stopPropagation()}>
              {task.id}
            </a>
            <span class="row-title">{task.title}</span>
            <span class="row-role">{task.role}</span>
            <span class="row-status" data-testid={task.heldBack ? 'held-back' : undefined}>
              {task.heldBack ? `waiting for ${task.heldBack.target}` : (STATUS_LABEL[task.status] ?? task.status)}
            </span>
            <span
              class="row-iter"
              title={task.iterations ? iterationTitle(task.iterations, task.iteration, task.maxIterations) : undefined}
            >
              {task.iterations ? iterationText(task.iterations, task.iteration, task.maxIterations) : ''}
            </span>
          </div>
        ))}
      </div>
    </div>
  )
}

const edges = new Edges()

/** The graph: everything when small, else the selected task's neighbourhood, else roles as clusters. */
function Graph({
  selected,
  select,
  setRole,
}: {
  selected?: string
  select: (id: string) => void
  setRole: (role: string) => void
}) {
  const model = store.model
  edges.update(model)
  // Layout only when what is shown changes; colours follow every status change without it.
  const shownKey = selected && model.tasks.has(selected) ? `n:${selected}:${edges.size}` : `all:${edges.size}`
  const layout: Layout = useMemo(() => {
    if (selected && model.tasks.has(selected)) {
      const ids = neighbourhood(model, edges, selected)
      return taskLayout(model, ids, `${selected} and the tasks within two steps of it (${ids.length})`)
    }
    if (model.tasks.size <= MAX_NODES)
      return taskLayout(model, [...model.tasks.keys()], `all ${model.tasks.size} tasks`)
    return clusterLayout(model)
  }, [shownKey, model])
  if (layout.nodes.length === 0) return <p class="muted">No tasks yet.</p>
  return (
    <div class="graph" data-testid="graph">
      <div class="caption">{layout.caption}</div>
      <svg width={layout.width} height={layout.height} viewBox={`0 0 ${layout.width} ${layout.height}`}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">
            <path d="M0,0 L10,5 L0,10 z" class="arrow" />
          </marker>
        </defs>
        {layout.edges.map((edge) => (
          <g>
            <polyline
              class="edge"
              points={edge.points.map((p) => `${p.x},${p.y}`).join(' ')}
              marker-end="url(#arrow)"
            />
            {edge.label && edge.points.length > 0 && (
              <text
                class="edge-label"
                x={edge.points[Math.floor(edge.points.length / 2)]!.x}
                y={edge.points[Math.floor(edge.points.length / 2)]!.y - 4}
              >
                {edge.label}
              </text>
            )}
          </g>
        ))}
        {layout.nodes.map((node) => {
          const x = node.x - node.width / 2
          const y = node.y - node.height / 2
          if (node.kind === 'cluster') {
            const counts = model.byRole.get(node.label)
            const total = counts?.get('total') ?? 0
            let offset = 0
            return (
              <g class="node cluster" onClick={() => setRole(node.label)} data-node={node.id}>
                <rect x={x} y={y} width={node.width} height={node.height} rx="6" />
                <text x={x + 8} y={y + 18} class="node-id">
                  {node.label} · {total}
                </text>
                {STATUSES.map((status) => {
                  const n = counts?.get(status) ?? 0
                  if (n === 0) return null
                  const w = ((node.width - 16) * n) / Math.max(1, total)
                  const seg = <rect x={x + 8 + offset} y={y + 30} width={w} height={12} class={`fill-${status}`} />
                  offset += w
                  return seg
                })}
              </g>
            )
          }
          const status = model.tasks.get(node.id)?.status ?? 'pending'
          return (
            <g
              class={`node task fill-${status}${node.id === selected ? ' selected' : ''}`}
              data-node={node.id}
              data-status={status}
              onClick={() => select(node.id)}
              onDblClick={() => (location.hash = taskHref(node.id))}
            >
              <title>
                {node.id}: {node.sub} ({status})
              </title>
              <rect x={x} y={y} width={node.width} height={node.height} rx="5" />
              <text x={x + 8} y={y + 15} class="node-id">
                {node.label.length > 20 ? `${node.label.slice(0, 19)}…` : node.label}
              </text>
              <text x={x + 8} y={y + 30} class="node-title">
                {node.sub.length > 24 ? `${node.sub.slice(0, 23)}…` : node.sub}
              </text>
            </g>
          )
        })}
      </svg>
    </div>
  )
}

export function Overview() {
  useStore()
  const model = store.model
  const [filter, setFilter] = useState<Filter>({ text: '' })
  const [selected, setSelected] = useState<string>()
  // Sorting 10,000 tasks is cheap next to drawing them; it runs once per frame at most.
  const tasks = useMemo(
    () =>
      [...model.tasks.values()]
        .filter((task) => matches(task, filter))
        .sort((a, b) => (RANK.get(a.status) ?? 9) - (RANK.get(b.status) ?? 9) || a.id.localeCompare(b.id)),
    [store.version, filter, model],
  )
  const needs = useMemo(() => model.needsYou(), [store.version, model])
  const notPushed = model.notPushed()
  const selectedTask = selected ? model.tasks.get(selected) : undefined
  return (
    <main class="overview">
      <NeedsYou items={needs} notPushed={notPushed} />
      <section class="panel graph-panel">
        <h2>
          Dependency graph
          {selected && (
            <button type="button" class="link" onClick={() => setSelected(undefined)}>
              show all
            </button>
          )}
        </h2>
        <Graph
          selected={selected}
          select={setSelected}
          setRole={(role) => setFilter({ ...filter, role, status: undefined })}
        />
        {selectedTask && (
          <div class="selection">
            <a href={taskHref(selectedTask.id)} data-testid="open-selected">
              {selectedTask.id}
            </a>{' '}
            {selectedTask.title} ·{' '}
            <span class={`pill s-${selectedTask.status}`}>{STATUS_LABEL[selectedTask.status]}</span> ·{' '}
            {spendText(selectedTask.spend)}
          </div>
        )}
      </section>
      <section class="panel">
        <h2>Tasks by role and status</h2>
        <div class="matrix-box">
          <Matrix filter={filter} setFilter={setFilter} />
        </div>
      </section>
      <section class="panel">
        <h2>Agents</h2>
        <Agents />
      </section>
      <section class="panel list-panel">
        <h2>
          Tasks{' '}
          <span class="muted">
            {tasks.length === model.tasks.size ? tasks.length : `${tasks.length} of ${model.tasks.size}`}
          </span>
          {(filter.status || filter.role) && (
            <button type="button" class="link" onClick={() => setFilter({ text: filter.text })}>
              clear filter ({[filter.role, filter.status && STATUS_LABEL[filter.status]].filter(Boolean).join(', ')})
            </button>
          )}
          <input
            type="search"
            placeholder="filter by id or title"
            value={filter.text}
            onInput={(e) => setFilter({ ...filter, text: (e.currentTarget as HTMLInputElement).value })}
          />
        </h2>
        <TaskList tasks={tasks} selected={selected} select={setSelected} />
      </section>
    </main>
  )
}
