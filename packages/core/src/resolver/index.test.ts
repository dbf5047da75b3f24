import { describe, expect, it } from 'vitest'
import { isTanukiError } from '../errors.ts'
import type { TaskStatus } from '../task/types.ts'
import { Resolver, cycleError, type GraphTask } from './index.ts'

function t(id: string, dependsOn: string[] = [], status: TaskStatus = 'pending'): GraphTask {
  return { id, dependsOn, status }
}

const sorted = (ids: Iterable<string>): string[] => [...ids].sort()

/** The error `fn` throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected an error, nothing was thrown')
}

/** a ← b, a ← c, {b, c} ← d: the diamond. */
const diamond = (): Resolver => new Resolver([t('a'), t('b', ['a']), t('c', ['a']), t('d', ['b', 'c'])])

describe('Resolver', () => {
  describe('ready', () => {
    it('lists pending tasks whose dependencies are all complete', () => {
      const graph = new Resolver([
        t('a', [], 'complete'),
        t('b', ['a']),
        t('c', ['b']),
        t('d'),
        t('e', [], 'failed'),
        t('f', ['a'], 'in_progress'),
      ])
      expect(sorted(graph.ready())).toEqual(['b', 'd'])
      expect(graph.isReady('b')).toBe(true)
      expect(graph.isReady('c')).toBe(false)
      expect(graph.isReady('f')).toBe(false)
      expect(graph.isReady('nope')).toBe(false)
    })

    it('is empty for an empty graph', () => {
      const graph = new Resolver()
      expect(graph.ready()).toEqual([])
      expect(graph.size).toBe(0)
      expect(graph.topologicalOrder()).toEqual([])
      expect(graph.findCycle()).toBeUndefined()
    })

    it('answers questions about single tasks', () => {
      const graph = new Resolver([t('a'), t('b', ['a', 'a'])])
      expect(graph.size).toBe(2)
      expect(graph.has('a')).toBe(true)
      expect(graph.has('z')).toBe(false)
      expect(sorted(graph.ids())).toEqual(['a', 'b'])
      expect(graph.status('a')).toBe('pending')
      expect(graph.status('z')).toBeUndefined()
      // Duplicate dependencies count once.
      expect(graph.dependencies('b')).toEqual(['a'])
      expect(graph.dependencies('z')).toEqual([])
    })
  })

  describe('setStatus', () => {
    it('returns exactly the tasks that became ready', () => {
      const graph = new Resolver([t('a'), t('b', ['a']), t('c', ['a']), t('d', ['b'])])
      expect(graph.setStatus('a', 'in_progress')).toEqual([])
      expect(sorted(graph.setStatus('a', 'complete'))).toEqual(['b', 'c'])
      expect(graph.setStatus('b', 'complete')).toEqual(['d'])
      // Completing again changes nothing.
      expect(graph.setStatus('b', 'complete')).toEqual([])
    })

    it('releases the bottom of a diamond only when both sides are complete', () => {
      const graph = diamond()
      expect(sorted(graph.setStatus('a', 'complete'))).toEqual(['b', 'c'])
      expect(graph.setStatus('b', 'complete')).toEqual([])
      expect(graph.isReady('d')).toBe(false)
      expect(graph.setStatus('c', 'complete')).toEqual(['d'])
      expect(graph.isReady('d')).toBe(true)
    })

    it('does not release dependents that are not pending', () => {
      const graph = new Resolver([t('a'), t('b', ['a'], 'review')])
      expect(graph.setStatus('a', 'complete')).toEqual([])
      // Once a person re-pends it, it is ready at once.
      expect(graph.setStatus('b', 'pending')).toEqual(['b'])
    })

    it('takes readiness back from dependents when a completed task is re-pended', () => {
      const graph = diamond()
      graph.setStatus('a', 'complete')
      graph.setStatus('b', 'complete')
      graph.setStatus('c', 'complete')
      expect(graph.isReady('d')).toBe(true)
      // Re-running b: b itself is ready again, d is not.
      expect(graph.setStatus('b', 'pending')).toEqual(['b'])
      expect(graph.isReady('d')).toBe(false)
      expect(graph.blockers('d')).toEqual([{ id: 'b', reason: 'incomplete', status: 'pending' }])
      expect(graph.setStatus('b', 'complete')).toEqual(['d'])
    })

    it('reports a task that goes back to pending with unmet dependencies as not ready', () => {
      const graph = new Resolver([t('a'), t('b', ['a'], 'failed')])
      expect(graph.setStatus('b', 'pending')).toEqual([])
      expect(graph.setStatus('a', 'complete')).toEqual(['b'])
    })

    it('returns nothing for pending → pending', () => {
      const graph = new Resolver([t('a')])
      expect(graph.setStatus('a', 'pending')).toEqual([])
    })

    it('throws TANUKI_TASK_NOT_FOUND for an unknown id', () => {
      const error = thrown(() => new Resolver().setStatus('ghost', 'complete'))
      expect(isTanukiError(error, 'TANUKI_TASK_NOT_FOUND')).toBe(true)
      expect((error as Error).message).toContain('"ghost"')
    })

    it('touches only the dependents of the task: 10,000 independent tasks', () => {
      const tasks = Array.from({ length: 10_000 }, (_, i) => t(`t${i}`))
      tasks.push(t('child', ['t5000']), t('grandchild', ['child']))
      const graph = new Resolver(tasks)
      expect(graph.ready()).toHaveLength(10_000)
      expect(graph.setStatus('t5000', 'complete')).toEqual(['child'])
      expect(graph.setStatus('t1', 'complete')).toEqual([])
      expect(graph.setStatus('child', 'complete')).toEqual(['grandchild'])
    })
  })

  describe('add and remove', () => {
    it('links a dependency that is added later', () => {
      const graph = new Resolver([t('b', ['a'])])
      expect(graph.blockers('b')).toEqual([{ id: 'a', reason: 'missing' }])
      expect(graph.missingDependencies()).toEqual([['b', 'a']])
      // Added pending: b still waits, and a is ready.
      expect(graph.add(t('a'))).toEqual(['a'])
      expect(graph.missingDependencies()).toEqual([])
      expect(graph.blockers('b')).toEqual([{ id: 'a', reason: 'incomplete', status: 'pending' }])
      expect(graph.setStatus('a', 'complete')).toEqual(['b'])
    })

    it('releases waiting dependents when the missing task arrives complete', () => {
      const graph = new Resolver([t('b', ['a']), t('c', ['a', 'b'])])
      expect(graph.add(t('a', [], 'complete'))).toEqual(['b'])
      expect(graph.setStatus('b', 'complete')).toEqual(['c'])
    })

    it('replaces a task with the same id, keeping its dependents consistent', () => {
      const graph = new Resolver([t('a', [], 'complete'), t('b', ['a'])])
      expect(graph.isReady('b')).toBe(true)
      // a is edited back to pending with a new dependency.
      expect(graph.add(t('a', ['z']))).toEqual([])
      expect(graph.isReady('b')).toBe(false)
      expect(graph.dependencies('a')).toEqual(['z'])
      expect(graph.add(t('a', [], 'complete'))).toEqual(['b'])
      expect(graph.dependents('z')).toEqual([])
    })

    it('counts a removed dependency as missing', () => {
      const graph = new Resolver([t('a', [], 'complete'), t('b', ['a'])])
      graph.remove('a')
      graph.remove('never-there')
      expect(graph.has('a')).toBe(false)
      expect(graph.isReady('b')).toBe(false)
      expect(graph.blockers('b')).toEqual([{ id: 'a', reason: 'missing' }])
      expect(graph.add(t('a', [], 'complete'))).toEqual(['b'])
    })
  })

  describe('retire', () => {
    it('keeps a completed task met for its dependents once it is gone', () => {
      const graph = new Resolver([t('a', [], 'complete'), t('b', ['a']), t('c', ['a'], 'blocked')])
      expect(graph.retire('a')).toEqual([])
      expect(graph.has('a')).toBe(false)
      expect(graph.retired('a')).toBe(true)
      expect(graph.isReady('b')).toBe(true)
      expect(graph.blockers('b')).toEqual([])
      expect(graph.missingDependencies()).toEqual([])
      expect(graph.toMermaid()).toContain('a (complete, task gone)')
    })

    it('meets a dependency on an id of no task that it retires (a record that outlived its file)', () => {
      const graph = new Resolver([t('b', ['gone', 'typo'])])
      expect(graph.retire('gone')).toEqual([])
      expect(graph.blockers('b')).toEqual([{ id: 'typo', reason: 'missing' }])
      graph.add(t('typo', [], 'complete'))
      expect(graph.isReady('b')).toBe(true)
      // Retired before its dependents were added: they count it met from the start.
      const later = new Resolver()
      later.retire('gone')
      later.addAll([t('c', ['gone'])])
      expect(later.ready()).toEqual(['c'])
    })

    it('only removes a task that is not complete: its dependents count it missing', () => {
      const graph = new Resolver([t('a'), t('b', ['a'])])
      graph.retire('a')
      expect(graph.retired('a')).toBe(false)
      expect(graph.blockers('b')).toEqual([{ id: 'a', reason: 'missing' }])
    })

    it('holds its dependents back again when it comes back not complete, and not when it comes back complete', () => {
      const graph = new Resolver([t('a', [], 'complete'), t('b', ['a'])])
      graph.retire('a')
      expect(graph.add(t('a', [], 'complete'))).toEqual([])
      expect(graph.isReady('b')).toBe(true)
      graph.retire('a')
      expect(graph.add(t('a'))).toEqual(['a'])
      expect(graph.retired('a')).toBe(false)
      expect(graph.isReady('b')).toBe(false)
      expect(graph.setStatus('a', 'complete')).toEqual(['b'])
    })
  })

  describe('blockers', () => {
    it('names each dependency that is not complete, and why', () => {
      const graph = new Resolver([
        t('done', [], 'complete'),
        t('broken', [], 'failed'),
        t('stuck', [], 'blocked'),
        t('running', [], 'in_progress'),
        t('x', ['done', 'broken', 'stuck', 'running', 'ghost']),
      ])
      expect(graph.blockers('x')).toEqual([
        { id: 'broken', reason: 'failed', status: 'failed' },
        { id: 'stuck', reason: 'failed', status: 'blocked' },
        { id: 'running', reason: 'incomplete', status: 'in_progress' },
        { id: 'ghost', reason: 'missing' },
      ])
      expect(graph.blockers('done')).toEqual([])
      expect(graph.blockers('unknown')).toEqual([])
    })
  })

  describe('dependents', () => {
    it('lists direct and transitive dependents', () => {
      const graph = new Resolver([t('a'), t('b', ['a']), t('c', ['a']), t('d', ['b', 'c']), t('e', ['d']), t('f')])
      expect(sorted(graph.dependents('a'))).toEqual(['b', 'c'])
      expect(graph.dependents('e')).toEqual([])
      expect(graph.dependents('unknown')).toEqual([])
      const all = graph.transitiveDependents('a')
      expect(sorted(all)).toEqual(['b', 'c', 'd', 'e'])
      // Breadth first: each task after the one that led to it, no repeats.
      expect(all.indexOf('d')).toBeGreaterThan(Math.max(all.indexOf('b'), all.indexOf('c')))
      expect(all.indexOf('e')).toBeGreaterThan(all.indexOf('d'))
      expect(graph.transitiveDependents('f')).toEqual([])
    })

    it('lists the dependents of a missing task', () => {
      const graph = new Resolver([t('b', ['ghost']), t('c', ['b'])])
      expect(graph.dependents('ghost')).toEqual(['b'])
      expect(graph.transitiveDependents('ghost')).toEqual(['b', 'c'])
    })

    it('terminates on a cycle', () => {
      const graph = new Resolver([t('a', ['c']), t('b', ['a']), t('c', ['b'])])
      expect(sorted(graph.transitiveDependents('a'))).toEqual(['b', 'c'])
    })
  })

  describe('findCycle', () => {
    /** Checks `path` closes and follows real edges. */
    function expectCycle(graph: Resolver, path: string[] | undefined, members: string[]): void {
      expect(path).toBeDefined()
      expect(path![0]).toBe(path![path!.length - 1])
      expect(sorted(new Set(path))).toEqual(sorted(members))
      expect(path!.length).toBe(members.length + 1)
      for (let i = 0; i + 1 < path!.length; i++) expect(graph.dependencies(path![i]!)).toContain(path![i + 1])
    }

    it('is undefined for a DAG, including with missing dependencies', () => {
      expect(diamond().findCycle()).toBeUndefined()
      expect(new Resolver([t('a', ['ghost']), t('b', ['a'])]).findCycle()).toBeUndefined()
    })

    it('finds a task that depends on itself (the parser refuses these; tasks built by hand may not)', () => {
      const graph = new Resolver([t('a', ['a']), t('b')])
      expect(graph.findCycle()).toEqual(['a', 'a'])
      expect(
        isTanukiError(
          thrown(() => graph.levels()),
          'TANUKI_DEPENDENCY_CYCLE',
        ),
      ).toBe(true)
    })

    it('finds a 2-cycle', () => {
      const graph = new Resolver([t('a', ['b']), t('b', ['a'])])
      const path = graph.findCycle()
      expect(path).toEqual(['a', 'b', 'a'])
      expectCycle(graph, path, ['a', 'b'])
    })

    it('finds a long cycle and returns only the cycle, not the path to it', () => {
      const ids = Array.from({ length: 50 }, (_, i) => `n${i}`)
      const tasks = ids.map((id, i) => t(id, [ids[(i + 1) % ids.length]!]))
      const graph = new Resolver([t('entry', ['n0']), ...tasks])
      expectCycle(graph, graph.findCycle(), ids)
    })

    it('finds a cycle not reachable from the first task', () => {
      const graph = new Resolver([t('a'), t('b', ['a']), t('c', ['b']), t('x', ['y']), t('y', ['z']), t('z', ['x'])])
      expectCycle(graph, graph.findCycle(), ['x', 'y', 'z'])
    })

    it('finds a cycle after a long path of finished branches', () => {
      const graph = new Resolver([t('root', ['l1', 'r1']), t('l1', ['l2']), t('l2'), t('r1', ['r2']), t('r2', ['r1'])])
      expectCycle(graph, graph.findCycle(), ['r1', 'r2'])
    })

    it('walks a chain of 100,000 tasks without overflowing the stack', () => {
      const n = 100_000
      const tasks = Array.from({ length: n }, (_, i) => t(`c${i}`, i + 1 < n ? [`c${i + 1}`] : []))
      const graph = new Resolver(tasks)
      expect(graph.findCycle()).toBeUndefined()
      const levels = graph.levels()
      expect(levels).toHaveLength(n)
      expect(levels[0]).toEqual([`c${n - 1}`])
      // Close the chain into one huge cycle.
      graph.add(t(`c${n - 1}`, ['c0']))
      const path = graph.findCycle()!
      expect(path).toHaveLength(n + 1)
      expect(path[0]).toBe(path[n])
      const error = thrown(() => graph.topologicalOrder())
      expect(isTanukiError(error, 'TANUKI_DEPENDENCY_CYCLE')).toBe(true)
    })
  }, 30_000)

  describe('levels and topologicalOrder', () => {
    it('groups tasks by depth', () => {
      const graph = new Resolver([t('d', ['b', 'c']), t('b', ['a']), t('c', ['a']), t('a'), t('e', ['ghost'])])
      const levels = graph.levels().map(sorted)
      // A missing dependency does not hold a task back from level 0.
      expect(levels).toEqual([['a', 'e'], ['b', 'c'], ['d']])
    })

    it('puts every task after all of its dependencies', () => {
      let seed = 11
      const random = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed % n
      }
      const tasks: GraphTask[] = []
      for (let i = 0; i < 2000; i++) {
        const deps = i === 0 ? [] : Array.from({ length: random(4) }, () => `k${random(i)}`)
        tasks.push(t(`k${i}`, deps))
      }
      // Shuffle so insertion order does not give the answer away.
      for (let i = tasks.length - 1; i > 0; i--) {
        const j = random(i + 1)
        ;[tasks[i], tasks[j]] = [tasks[j]!, tasks[i]!]
      }
      const graph = new Resolver(tasks)
      const order = graph.topologicalOrder()
      expect(order).toHaveLength(tasks.length)
      const position = new Map(order.map((id, i) => [id, i]))
      for (const task of tasks)
        for (const dep of task.dependsOn) expect(position.get(dep)!).toBeLessThan(position.get(task.id)!)
    })

    it('throws TANUKI_DEPENDENCY_CYCLE with the path in the message', () => {
      const graph = new Resolver([t('a'), t('b', ['a', 'c']), t('c', ['b'])])
      for (const fn of [() => graph.levels(), () => graph.topologicalOrder()]) {
        const error = thrown(fn)
        expect(isTanukiError(error, 'TANUKI_DEPENDENCY_CYCLE')).toBe(true)
        expect((error as Error).message).toMatch(/Dependency cycle: (b -> c -> b|c -> b -> c)\./)
        expect((error as Error).message).toContain('Remove one of these depends_on entries')
      }
    })
  })

  describe('cycleError', () => {
    it('names the path and keeps it in details', () => {
      const error = cycleError(['x', 'y', 'x'])
      expect(error.code).toBe('TANUKI_DEPENDENCY_CYCLE')
      expect(error.message).toContain('x -> y -> x')
      expect(error.details).toEqual({ cycle: ['x', 'y', 'x'] })
    })
  })

  describe('toMermaid', () => {
    it('has every node with its status and every edge, and marks missing dependencies', () => {
      const graph = new Resolver([
        t('a', [], 'complete'),
        t('b', ['a'], 'in_progress'),
        t('c', ['a', 'b']),
        t('d', ['ghost']),
        t('e', ['ghost']),
      ])
      const text = graph.toMermaid()
      const lines = text.split('\n')
      expect(lines[0]).toBe('flowchart TD')
      const nodes = new Map<string, string>()
      for (const line of lines) {
        const match = /^ {2}(t\d+)\["([^"]*)"\]:::(\w+)$/.exec(line)
        if (match) nodes.set(match[2]!, `${match[1]} ${match[3]}`)
      }
      expect(nodes.get('a')).toMatch(/ complete$/)
      expect(nodes.get('b')).toMatch(/ in_progress$/)
      expect(nodes.get('c')).toMatch(/ pending$/)
      expect(nodes.get('ghost (missing)')).toMatch(/ missing$/)
      const name = (label: string): string => nodes.get(label)!.split(' ')[0]!
      const edges = lines.filter((line) => line.includes('-->')).map((line) => line.trim())
      expect(sorted(edges)).toEqual(
        sorted([
          `${name('a')} --> ${name('b')}`,
          `${name('a')} --> ${name('c')}`,
          `${name('b')} --> ${name('c')}`,
          `${name('ghost (missing)')} --> ${name('d')}`,
          `${name('ghost (missing)')} --> ${name('e')}`,
        ]),
      )
      // The missing node is declared once, however many tasks wait for it.
      expect(lines.filter((line) => line.includes('(missing)'))).toHaveLength(1)
      expect(text).toContain('classDef missing')
    })

    it('uses the label function and escapes quotes', () => {
      const graph = new Resolver([t('a')])
      expect(graph.toMermaid(() => 'say "hi"')).toContain('t0["say #quot;hi#quot;"]:::pending')
    })
  })
})
