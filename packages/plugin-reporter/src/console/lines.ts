import type { TanukiEventName, TanukiEvents } from '@tanuki/core'
import {
  causeThenResume,
  clause,
  emptyWhy,
  formatDuration,
  formatTime,
  iterationsTaken,
  plural,
  someOf,
  waitsForLine,
  type Colors,
} from '../format.ts'
import type { RunModel } from '../model/index.ts'

/**
 * How much an event matters: `failure` lines show even with `quiet`; `info` lines are the normal
 * log; `detail` lines (every iteration, agent output) only with `verbose`.
 */
export type LineLevel = 'failure' | 'info' | 'detail'

export interface EventLine {
  /** How much it matters. */
  level: LineLevel
  /** The line, without timestamp or newline. */
  text: string
}

/** What a setup created that git would have taken, and what to do about it. */
export function leftOutLine(e: { role: string; command: string; leftOut?: string[] }): string {
  const paths = e.leftOut ?? []
  const named = paths.length > 10 ? `${paths.slice(0, 10).join(', ')} and ${paths.length - 10} more` : paths.join(', ')
  return (
    `setup \`${e.command}\` of role "${e.role}" created ${named}, which git neither tracks nor ignores: ` +
    "left out of the tasks' commits. Add them to the project's .gitignore"
  )
}

/**
 * Tasks new to the project whose files said they were settled (`fromFile`): taken as they are, so
 * they do not run. A file copied from a finished task's carries its `status: complete`.
 */
function takenFromFileLine(tasks: readonly { id: string; status: string }[], c: Colors): string {
  const [first] = tasks
  if (tasks.length === 1 && first)
    return (
      `${c.yellow('!')} ${c.bold(first.id)} is new and its file says \`status: ${first.status}\`: taken as it is, not run. ` +
      `A copy of another task's file? \`tanuki task rerun ${first.id}\` runs it.`
    )
  return (
    `${c.yellow('!')} ${tasks.length} new tasks' files give them a settled status, taken as it is: they do not run ` +
    `(${someOf(tasks.map((t) => `${t.id} ${t.status}`))}). Copies of other tasks' files? \`tanuki task rerun ID\` runs one.`
  )
}

/**
 * Task files whose `status` the journal overruled and the mirror wrote back, and the command for
 * what a person meant. One file is told in full; more at once (a checkout, stash or pull) in one
 * sentence with an example, since git's doing is no one's mistake. `written`: whether the file was
 * written back (a run does; `tanuki task validate` only reads).
 */
export function restoredText(
  tasks: TanukiEvents['task:status-restored']['tasks'],
  c: { bold(text: string): string } = { bold: (text) => text },
  written = true,
): string {
  const [first] = tasks
  if (!first) return ''
  if (tasks.length === 1) {
    const id = first.taskId
    const todo =
      first.fileStatus === 'pending'
        ? `To run ${id} again: \`tanuki task rerun ${id}\` (\`tanuki task reset ${id}\` also clears its tries).`
        : first.fileStatus === 'complete' || first.fileStatus === 'failed'
          ? `To settle it by hand: \`tanuki task mark ${id} ${first.fileStatus}\`.`
          : `To change it: \`tanuki task rerun|reset|mark ${id}\`.`
    return (
      `${first.file ?? `the file of ${id}`} ${written ? 'said' : 'says'} ${c.bold(id)} is ${first.fileStatus}, ` +
      `but the journal has it ${first.status}, and a run goes by the journal: a task file's status only mirrors it, ` +
      `${written ? 'so the file was written back' : 'and a run writes the file back'}. ${todo}`
    )
  }
  return (
    `${tasks.length} task files ${written ? 'said' : 'say'} another status than the journal has ` +
    `(${first.file ?? first.taskId}: ${first.fileStatus}, the journal ${first.status}; ${tasks.length - 1} more), ` +
    `${written ? 'and were written back' : 'which a run writes back'}: a task file's status only mirrors the journal, ` +
    'so a checkout, stash or pull changes no run state. To change a status: `tanuki task rerun|reset|mark ID`.'
  )
}

/**
 * `↻ A: verify changed; the new one judges its tries from now on`: an edit of a running task's
 * file, taken without waiting for its run to end.
 */
export function takenWhileRunningLine(id: string, changed: readonly string[], c: Colors): string {
  const judged = changed.filter((field) => field === 'verify' || field === 'signal')
  const prompt = changed.filter((field) => field === 'title' || field === 'body')
  const what: string[] = []
  if (judged.length > 0)
    what.push(
      `the new ${judged.join(' and ')} ${judged.length > 1 ? 'judge' : 'judges'} its tries from now on, the one under way too if it is not judged yet`,
    )
  if (prompt.length > 0) what.push(`its next prompt has the new ${prompt.join(' and ')}`)
  if (changed.includes('max_iterations')) what.push('its tries are counted against the new max_iterations')
  return `${c.cyan('↻')} ${c.bold(id)}: ${changed.join(', ')} changed while it runs; ${what.join('; ')}`
}

/** `⇢ landing A: running the gate \`npm test\`…`: a landing's gate command, as it starts. */
export function landGateText(
  e: Pick<TanukiEvents['task:land-gate'], 'taskId' | 'command' | 'setup'>,
  c: Colors,
): string {
  return `${c.cyan('⇢')} landing ${c.bold(e.taskId)}: running ${e.setup ? 'the setup' : 'the gate'} \`${e.command}\`…`
}

/**
 * What a log said of parks so far, so that a park is one line however many agents share its
 * account, and "every agent is parked" is said again only when the time changes. Pass the same
 * one to every `describeEvent` call of a log; without it, each event is described on its own.
 */
export class ParksSaid {
  /** Per account: the `until` said, and whether its resume was said since. */
  readonly accounts = new Map<string, { until: number; resumed: boolean }>()
  /** When "every agent is parked" last said work resumes, while every agent still is. */
  everyUntil: number | undefined
}

/** Longest cause a park line quotes: an API's message can run to a paragraph. */
const PARK_CAUSE_MAX = 160

/** An agent's cause for a park, in a line: its first sentence, or cut at a word, at most `max` characters. */
export function shortCause(text: string, max = PARK_CAUSE_MAX): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  if (flat.length <= max) return flat
  const sentence = /^.{20,}?[.!?](?= )/.exec(flat.slice(0, max + 1))?.[0]
  if (sentence) return sentence
  // Room for the ellipsis: what is left is at most `max` long.
  const head = flat.slice(0, max)
  const space = head.lastIndexOf(' ')
  return `${(space > max / 2 ? head.slice(0, space) : head.slice(0, max - 1)).replace(/[\s,;:·-]+$/, '')}…`
}

/**
 * The log line an event deserves, if any. Reads the model for what the event itself lacks (a
 * task's title, the agent's backend), so the model must already include the event.
 */
export function describeEvent<E extends TanukiEventName>(
  name: E,
  payload: TanukiEvents[E],
  model: RunModel,
  c: Colors,
  parks: ParksSaid = new ParksSaid(),
): EventLine[] {
  switch (name) {
    case 'project:loaded': {
      const e = payload as TanukiEvents['project:loaded']
      const recovered = e.recovered.length > 0 ? `, ${e.recovered.length} recovered from an earlier run` : ''
      const lines: EventLine[] = [
        { level: 'info', text: `project loaded: ${plural(e.total, 'task')}, ${e.ready} ready${recovered}` },
      ]
      const fromFile = e.tasks.filter((t) => t.fromFile)
      if (fromFile.length > 0) lines.push({ level: 'failure', text: takenFromFileLine(fromFile, c) })
      return lines
    }
    case 'task:added': {
      const e = payload as TanukiEvents['task:added']
      if (e.fromFile) return [{ level: 'failure', text: takenFromFileLine([{ id: e.taskId, status: e.status }], c) }]
      // Older cores sent the id only: the line says what it has.
      const title = e.title ? `: ${e.title}` : ''
      return [
        {
          level: 'info',
          text: `${c.cyan('+')} ${c.bold(e.taskId)} added${title}${e.role ? ` ${c.dim(`(${e.role})`)}` : ''}`,
        },
      ]
    }
    case 'task:status-restored': {
      const e = payload as TanukiEvents['task:status-restored']
      return e.tasks.length > 0 ? [{ level: 'failure', text: `${c.yellow('!')} ${restoredText(e.tasks, c)}` }] : []
    }
    case 'task:redefined': {
      const e = payload as TanukiEvents['task:redefined']
      if (e.sinceComplete?.length) {
        // A person who edited a finished task may expect it to run again: it does not, on its own.
        return [
          {
            level: 'failure',
            text:
              `${c.yellow('!')} ${e.taskId} is complete, and its ${e.sinceComplete.join(', ')} changed since it ran: ` +
              `the edit does not run it again. To run it as it is now: \`tanuki task rerun ${e.taskId}\``,
          },
        ]
      }
      return e.whileRunning?.length ? [{ level: 'info', text: takenWhileRunningLine(e.taskId, e.whileRunning, c) }] : []
    }
    case 'project:target': {
      const e = payload as TanukiEvents['project:target']
      const lines: EventLine[] = []
      // A fresh start follows the branch checked out: news when an earlier run landed elsewhere.
      if (e.previous)
        lines.push({
          level: 'info',
          text: `${c.dim('·')} landing on ${c.bold(e.target)} ${c.dim(`(the last run landed on ${e.previous})`)}`,
        })
      if (e.notice) lines.push({ level: 'failure', text: `${c.yellow('!')} ${e.notice}` })
      for (const { target, tasks } of e.elsewhere)
        lines.push({ level: 'failure', text: `${c.yellow('!')} ${waitsForLine(target, tasks)}` })
      return lines
    }
    case 'project:settled':
      return [{ level: 'failure', text: settledLine(model, c) }]
    case 'orchestrator:error': {
      const e = payload as TanukiEvents['orchestrator:error']
      return [{ level: 'failure', text: `${c.red('✗ error')} ${e.context}: ${e.message}` }]
    }
    case 'orchestrator:finishing': {
      const e = payload as TanukiEvents['orchestrator:finishing']
      const what =
        e.tasks.length === 0
          ? 'stopping: no try is under way'
          : `stopping once the tries under way end (${someOf(e.tasks)}): no task starts, no new try begins; \`tanuki project stop\` stops now`
      return [{ level: 'failure', text: `${c.yellow('⏸')} ${what}` }]
    }
    case 'task:assigned': {
      const e = payload as TanukiEvents['task:assigned']
      return [
        { level: 'info', text: `${c.cyan('▸')} ${c.bold(e.taskId)} assigned to ${e.agent} ${c.dim(`(${e.role})`)}` },
      ]
    }
    case 'task:completed': {
      const e = payload as TanukiEvents['task:completed']
      return [
        {
          level: 'info',
          text: `${c.green('✓')} ${c.bold(e.taskId)} complete after ${iterationsTaken(e.iterations, model.tasks.get(e.taskId)?.attemptIteration, model.tasks.get(e.taskId)?.againTries)} in ${formatDuration(e.durationMs)} ${c.dim(`(${e.agent})`)}`,
        },
      ]
    }
    case 'task:failed': {
      const e = payload as TanukiEvents['task:failed']
      return [
        {
          level: 'failure',
          text: `${c.red('✗')} ${c.bold(e.taskId)} ${c.red('failed')} after ${iterationsTaken(e.iterations, model.tasks.get(e.taskId)?.attemptIteration, model.tasks.get(e.taskId)?.againTries)}: ${e.reason}`,
        },
      ]
    }
    case 'task:review': {
      const e = payload as TanukiEvents['task:review']
      return [
        {
          level: 'failure',
          text: `${c.yellow('!')} ${c.bold(e.taskId)} ${c.yellow('needs review')} after ${iterationsTaken(e.iterations, model.tasks.get(e.taskId)?.attemptIteration, model.tasks.get(e.taskId)?.againTries)}: ${e.reason}`,
        },
      ]
    }
    case 'task:landed': {
      const e = payload as TanukiEvents['task:landed']
      const lines: EventLine[] = [
        {
          level: 'info',
          text: e.empty
            ? // Counted as landed so its dependents land, but nothing of it reached any branch.
              `${c.dim('·')} nothing to land for ${c.bold(e.taskId)} ${c.dim(`(${emptyWhy(e.empty, e.target)})`)}`
            : e.commit === 'by hand'
              ? `${c.green('⇡')} ${c.bold(e.taskId)} landed by hand`
              : // Which branch: a resume lands where its run did, not where a person is now.
                `${c.green('⇡')} ${c.bold(e.taskId)} landed${e.moved && e.target ? ` on ${e.target}` : ''} as ${e.commit.slice(0, 10)}` +
                (e.moved ? '' : c.yellow(` (not on ${e.target ?? 'your branch'} yet)`)),
        },
      ]
      // An empty landing the target did not reach: the landings before it said why.
      if (e.note && !(e.empty && !e.moved))
        lines.push({ level: e.moved ? 'info' : 'failure', text: `${c.yellow('!')} ${c.bold(e.taskId)}: ${e.note}` })
      return lines
    }
    case 'task:conflict': {
      const e = payload as TanukiEvents['task:conflict']
      const files = e.files.join(', ')
      return [
        {
          level: 'failure',
          text: e.landing
            ? `${c.yellow('⚡')} ${c.bold(e.taskId)} did not land: ${c.yellow('conflict')} in ${files} with ${e.what}; an agent resolves it`
            : `${c.yellow('⚡')} ${c.bold(e.taskId)} ${c.yellow('conflict')} in ${files} bringing in ${e.what}: an agent resolves it`,
        },
      ]
    }
    case 'task:land-gate': {
      // Only when verbose: a gate that runs long is said without it too (the console reporter's
      // timer), and the live view shows it while it runs.
      const e = payload as TanukiEvents['task:land-gate']
      return [{ level: 'detail', text: landGateText(e, c) }]
    }
    case 'task:setup': {
      // One line per setup, only when verbose: its output is in the task's log; a failure is said
      // by the role's pause.
      const e = payload as TanukiEvents['task:setup']
      const how = e.timedOut
        ? 'timed out'
        : e.exitCode === 0
          ? `done in ${formatDuration(e.durationMs)}`
          : `exited ${e.exitCode ?? 'without a code'}`
      const lines: EventLine[] = [
        { level: 'detail', text: `${c.dim('·')} ${c.bold(e.taskId)} setup \`${e.command}\` on ${e.agent}: ${how}` },
      ]
      // Worth acting on, and on a live terminal too: the project's .gitignore lacks them.
      if (e.leftOut?.length) lines.push({ level: 'failure', text: `${c.yellow('!')} ${leftOutLine(e)}` })
      return lines
    }
    case 'task:land-failed': {
      const e = payload as TanukiEvents['task:land-failed']
      return [
        {
          level: 'failure',
          // What it printed is long and goes to the task's next prompt: a person is told where to read it.
          text: `${c.red('✗')} ${c.bold(e.taskId)} did not land: \`${e.command}\` exited ${e.exitCode ?? 'without a code'} on the combined work ${c.dim(`(\`tanuki task show ${e.taskId}\` has what it printed)`)}`,
        },
      ]
    }
    case 'agent:parked': {
      const e = payload as TanukiEvents['agent:parked']
      const lines: EventLine[] = []
      // A park is said once, whichever of the account's agents it holds (each gets an event).
      const said = parks.accounts.get(e.account)
      if (!said || said.resumed || said.until !== e.until) {
        parks.accounts.set(e.account, { until: e.until, resumed: false })
        const who = e.account === e.agent ? `agent ${e.agent}` : `agents on ${e.account}`
        lines.push({
          level: 'failure',
          text: `${c.yellow('⏸')} ${who} parked until ${formatTime(e.until)}: ${shortCause(e.reason)}`,
        })
      }
      const agents = [...model.agents.values()].filter((a) => a.status !== 'crashed' && a.status !== 'stopped')
      if (agents.length > 0 && agents.every((a) => a.parkedUntil !== undefined)) {
        const resume = Math.min(...agents.map((a) => a.parkedUntil!))
        if (parks.everyUntil !== resume) {
          parks.everyUntil = resume
          lines.push({
            level: 'failure',
            text: `${c.yellow('⏸')} every agent is parked; work resumes at ${formatTime(resume)}`,
          })
        }
      }
      return lines
    }
    case 'agent:resumed': {
      const e = payload as TanukiEvents['agent:resumed']
      parks.everyUntil = undefined
      const said = parks.accounts.get(e.account)
      if (said?.resumed) return []
      parks.accounts.set(e.account, { until: said?.until ?? e.at, resumed: true })
      const who = e.account === e.agent ? `agent ${e.agent}` : `agents on ${e.account}`
      return [{ level: 'info', text: `${c.green('▶')} ${who} resumed` }]
    }
    case 'role:paused': {
      const e = payload as TanukiEvents['role:paused']
      const { text, ownFix } = causeThenResume(e.cause)
      return [
        {
          level: 'failure',
          text: ownFix
            ? `${c.red('✗')} role ${c.bold(e.role)} ${c.red('paused')}: ${text}. Its tasks wait.`
            : `${c.red('✗')} role ${c.bold(e.role)} ${c.red('paused')}: ${text}. Its tasks wait; fix it, then \`tanuki project resume\`.`,
        },
      ]
    }
    case 'verify:blocked': {
      const e = payload as TanukiEvents['verify:blocked']
      return [
        {
          level: 'failure',
          text: `${c.red('✗')} ${clause(e.cause)}. ${c.bold(e.taskId)} and the other tasks of role ${c.bold(e.role)} with this verify ${c.red('wait')}, unharmed; the rest go on.`,
        },
      ]
    }
    case 'verify:unblocked': {
      const e = payload as TanukiEvents['verify:unblocked']
      const others = e.tasks.length > 0 ? `; queued again: ${e.tasks.join(', ')}` : ''
      return [
        {
          level: 'info',
          text: `${c.cyan('↻')} verify \`${e.command}\` runs again for role ${c.bold(e.role)} (tried before ${c.bold(e.taskId)}'s agent worked)${others}`,
        },
      ]
    }
    case 'task:blocked': {
      const e = payload as TanukiEvents['task:blocked']
      const why = e.blockers
        .map((b) => (b.reason === 'missing' ? `${b.id} does not exist` : `${b.id} is ${b.status ?? b.reason}`))
        .join(', ')
      return [{ level: 'info', text: `${c.magenta('⊘')} ${c.bold(e.taskId)} blocked: ${why}` }]
    }
    case 'task:requeued': {
      const e = payload as TanukiEvents['task:requeued']
      return [
        { level: 'info', text: `${c.yellow('↻')} ${c.bold(e.taskId)} requeued (attempt ${e.attempt}): ${e.reason}` },
      ]
    }
    case 'agent:spawned': {
      const e = payload as TanukiEvents['agent:spawned']
      return [{ level: 'info', text: `${c.cyan('+')} agent ${e.agent} started ${c.dim(`(${e.role}, ${e.backend})`)}` }]
    }
    case 'agent:spawn-failed': {
      const e = payload as TanukiEvents['agent:spawn-failed']
      // The role's pause, said next, names the same cause and what to do: one line, not two.
      if (e.pausesRole) return []
      return [
        {
          level: 'failure',
          text: `${c.red('✗')} agent ${e.agent} could not start ${c.dim(`(${e.role}, ${e.backend})`)}: ${e.message}`,
        },
      ]
    }
    case 'agent:crashed': {
      const e = payload as TanukiEvents['agent:crashed']
      const task = e.taskId ? ` while on ${e.taskId}` : ''
      return [{ level: 'failure', text: `${c.red('✗')} agent ${e.agent} crashed${task}: ${e.reason}` }]
    }
    case 'iteration:started': {
      const e = payload as TanukiEvents['iteration:started']
      // Its last try once more, numbered as that try: said, or "try 3/3" twice reads as a bug.
      const again = e.again
        ? [
            {
              level: 'info' as const,
              text: `${c.yellow('↻')} ${c.bold(e.taskId)}: ${againText(e.again, e.iteration, e.maxIterations)}`,
            },
          ]
        : []
      return [
        ...again,
        {
          level: 'detail',
          text: `${c.dim('…')} ${c.bold(e.taskId)} iteration ${e.iteration}/${e.maxIterations} starting on ${e.agent}`,
        },
      ]
    }
    case 'iteration:finished': {
      const e = payload as TanukiEvents['iteration:finished']
      const kind = e.failure ? ` ${c.yellow(`[${e.failure.class}]`)}` : ''
      // Nothing ran: no iteration to speak of, whatever number the runner gave the try.
      const text =
        e.failure?.class === 'could-not-start'
          ? `${c.dim('…')} ${c.bold(e.taskId)}: agent ${e.agent} could not start, no iteration ran${kind} — ${e.reason} ${c.dim(`(${formatDuration(e.durationMs)})`)}`
          : `${c.dim('…')} ${c.bold(e.taskId)} iteration ${e.iteration}/${e.maxIterations}: ${e.outcome}${kind} — ${e.reason} ${c.dim(`(${formatDuration(e.durationMs)})`)}`
      // A retry is news (the task did not pass yet); the other outcomes have their own task event.
      // A try a limit cut short is said by its park (once, however many agents met the limit).
      const news = e.outcome === 'retry' && e.failure?.class !== 'rate-limited'
      return [{ level: news ? 'info' : 'detail', text }]
    }
    case 'iteration:output': {
      const e = payload as TanukiEvents['iteration:output']
      const prefix = c.dim(`  ${e.taskId}#${e.iteration}${e.stream === 'stderr' ? ' (stderr)' : ''} │`)
      return e.text
        .replace(/\n$/, '')
        .split('\n')
        .map((line) => ({ level: 'detail' as const, text: `${prefix} ${line}` }))
    }
    default:
      return []
  }
}

/** One line on how the run ended. */
export function settledLine(model: RunModel, c: Colors, stopped = false): string {
  const counts = model.counts()
  const total = model.settled?.progress.total ?? model.total
  const took =
    model.startedAt !== undefined && model.endedAt !== undefined
      ? ` in ${formatDuration(model.endedAt - model.startedAt)}`
      : ''
  const landed = model.landedCount()
  const empty = model.nothingToLandCount()
  const held = model.heldBack()
  // Work that waits on the integration branch is not on the person's branch: never "landed"; nor
  // is a task that had nothing to land.
  const lands =
    (landed > 0 ? `, ${landed} landed` : '') +
    (empty > 0 ? `, ${empty} with nothing to land` : '') +
    (held ? `, ${held.tasks.length} waiting for ${held.target ?? 'the target'} (${someOf(held.tasks)})` : '') +
    // Work an earlier run did for another branch: not on it, nor landed here (the start said why).
    model.elsewhere.map(({ target, tasks }) => `, ${tasks.length} waiting for ${target} (${someOf(tasks)})`).join('')
  // Landed, but the remote the config pushes to lacks it (the run's end says what to do).
  const push = model.pushFailed
  const why =
    (held?.note ? `: ${held.note}` : '') +
    (push ? `${held?.note ? ' ' : '; '}${push.branch} not pushed to ${push.remote}` : '')
  if (!stopped && counts.complete === total && total > 0) {
    return held || model.elsewhere.length > 0 || push
      ? `${c.yellow('!')} ${c.bold(`all ${plural(total, 'task')} complete`)}${lands}${took}${why}`
      : `${c.green('✓')} ${c.bold(`all ${plural(total, 'task')} complete`)}${lands}${took}`
  }
  const rest = (['failed', 'review', 'blocked', 'pending', 'in_progress', 'assigned'] as const)
    .filter((status) => counts[status] > 0)
    .map((status) => `${counts[status]} ${status === 'in_progress' ? 'in progress' : status}`)
  const head = stopped ? c.yellow('■ run stopped') : c.red('✗ not all complete')
  return `${head}: ${counts.complete}/${total} complete${lands}${rest.length > 0 ? `, ${rest.join(', ')}` : ''}${took}${why}`
}

/** Why a task runs its last try once more: `its last try (3/3) was cut off (…); running it once more`. */
function againText(
  how: NonNullable<TanukiEvents['iteration:started']['again']>,
  iteration: number,
  max: number,
): string {
  const last = `its last try (${iteration}/${max})`
  const why = {
    crash: `${last} was cut off (the run crashed or was killed)`,
    lost: `${last} was cut off (its agent was lost)`,
    held: `${last} could not be checked (its verify could not run)`,
    unjudged: `${last} had no verdict`,
  }[how]
  return `${why}; running it once more`
}
