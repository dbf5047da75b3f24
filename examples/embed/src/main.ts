/**
 * Embeds Tanuki's engine in a program of its own: no CLI, no task files, no processes.
 *
 * The program brings its own agent backend (a "scribe" whose agents write into a shared Map),
 * builds three tasks in code, runs them through the Orchestrator and prints progress from its
 * events. The `draft` task's verify fails on the first try, so the loop runs it again with the
 * verify output in the prompt, as it would for a real agent.
 *
 * Run: `pnpm --filter @tanuki/example-embed start` (or `npx tsx src/main.ts` here).
 */
import {
  createOrchestrator,
  defineConfig,
  type Agent,
  type AgentBackend,
  type ExecResult,
  type RunRequest,
  type RunResult,
} from '@tanuki/core'

/** The agents' shared workspace: path → content. A real backend would use a directory or a container. */
const files = new Map<string, string>()

/** What a scribe writes for each task. The first draft forgets its summary, as first drafts do. */
function write(request: RunRequest): RunResult {
  const { task, iteration } = request
  switch (task.id) {
    case 'outline':
      files.set('outline.md', '# Outline\n- why\n- how\n')
      return { output: 'Outline written. OUTLINE READY' }
    case 'draft':
      files.set('draft.md', `${files.get('outline.md')}\nSome prose.\n${iteration > 1 ? '\n## Summary\nShort.\n' : ''}`)
      return { output: iteration > 1 ? 'Added the summary the check asked for.' : 'Draft written.' }
    case 'review':
      return { output: files.get('draft.md')?.includes('## Summary') ? 'Looks good: LGTM' : 'Needs a summary.' }
    default:
      return { output: '', error: `a scribe does not know how to do ${task.id}` }
  }
}

/**
 * Runs a verify command in the workspace. A scribe understands one: `has <path> <text>`, which
 * passes when the file exists and contains the text.
 */
function exec(command: string): ExecResult {
  const match = /^has (\S+) (.+)$/.exec(command)
  if (!match) return { exitCode: 127, output: `scribe: unknown command: ${command}\n`, timedOut: false, durationMs: 0 }
  const [, path, text] = match as unknown as [string, string, string]
  const content = files.get(path)
  if (content === undefined) return { exitCode: 1, output: `${path}: no such file\n`, timedOut: false, durationMs: 0 }
  if (!content.includes(text))
    return { exitCode: 1, output: `${path} does not contain "${text}"\n`, timedOut: false, durationMs: 0 }
  return { exitCode: 0, output: '', timedOut: false, durationMs: 0 }
}

/** The whole backend contract: spawn agents that can run an iteration, run a command, and stop. */
const scribe: AgentBackend = {
  name: 'scribe',
  async spawn({ name, role }): Promise<Agent> {
    const listeners = new Set<(exit: { reason: string; expected: boolean }) => void>()
    const end = (reason: string): void => {
      for (const listener of listeners) listener({ reason, expected: true })
    }
    return {
      name,
      role,
      backend: 'scribe',
      workspace: 'memory',
      run: async (request) => write(request),
      exec: async (command) => exec(command),
      stop: async () => end('stopped'),
      remove: async () => end('removed'),
      onExit(listener) {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
    }
  },
}

const config = defineConfig({
  name: 'embed-example',
  agents: { writer: { backend: 'scribe' }, reviewer: { backend: 'scribe' } },
  // The scribe answers at once; a real agent would get a pause between tries.
  cooldownMs: 0,
  tasks: [
    {
      id: 'outline',
      title: 'Outline the note',
      role: 'writer',
      priority: 'high',
      completion: { signal: 'OUTLINE READY' },
    },
    {
      id: 'draft',
      title: 'Draft the note from the outline',
      role: 'writer',
      dependsOn: ['outline'],
      completion: { verify: 'has draft.md ## Summary', maxIterations: 3 },
    },
    { id: 'review', title: 'Review the draft', role: 'reviewer', dependsOn: ['draft'], completion: { signal: 'LGTM' } },
  ],
})

const orchestrator = createOrchestrator({ config, backends: [scribe] })
const { events } = orchestrator

events.on('task:assigned', ({ taskId, agent }) => console.log(`→ ${taskId} assigned to ${agent}`))
events.on('iteration:finished', ({ taskId, iteration, outcome, reason, verify }) => {
  const output = verify?.output.trim()
  console.log(
    `  ${taskId} #${iteration}: ${outcome} (${reason})${outcome === 'retry' && output ? ` — verify said: ${output}` : ''}`,
  )
})
events.on('task:completed', ({ taskId, iterations }) =>
  console.log(`✓ ${taskId} complete after ${iterations} iteration${iterations === 1 ? '' : 's'}`),
)
events.on('task:failed', ({ taskId, reason }) => console.log(`✗ ${taskId} failed: ${reason}`))
events.on('task:review', ({ taskId, reason }) => console.log(`? ${taskId} needs review: ${reason}`))

await orchestrator.start()
const summary = await orchestrator.done()
const { complete, total, percentage } = orchestrator.progress()

console.log(
  `\n${complete}/${total} tasks complete (${percentage}%), ${summary.allComplete ? 'all done' : 'not all done'}`,
)
console.log(`workspace: ${[...files.keys()].join(', ')}`)
if (!summary.allComplete) process.exitCode = 1
