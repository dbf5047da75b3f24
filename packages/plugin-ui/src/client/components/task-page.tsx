import { useEffect, useRef, useState } from 'preact/hooks'
import type { IterationRecord, TaskDetail } from '../../types.ts'
import { parseTranscript, type TranscriptEntry } from '../../transcript/parse.ts'
import { fetchTask } from '../api.ts'
import { STATUS_LABEL, count, iterationText, iterationTitle, money, spendText } from '../format.ts'
import { taskHref, useStore } from '../hooks.ts'
import { store } from '../store.ts'
import { useAction } from './header.tsx'

function Entry({ entry }: { entry: TranscriptEntry }) {
  switch (entry.kind) {
    case 'text':
      return <div class="t-text">{entry.text}</div>
    case 'thinking':
      return <div class="t-thinking">{entry.text}</div>
    case 'tool':
      return (
        <div class="t-tool">
          <span class="t-tool-name">{entry.name}</span> <code>{entry.detail}</code>
        </div>
      )
    case 'tool-result':
      return (
        <pre class={`t-result${entry.error ? ' t-error' : ''}`}>
          {entry.text}
          {entry.more > 0 && <span class="muted">{`\n… ${entry.more} more line${entry.more === 1 ? '' : 's'}`}</span>}
        </pre>
      )
    case 'result':
      return (
        <div class={`t-final${entry.error ? ' t-error' : ''}`}>
          <span class="t-final-label">{entry.error ? 'ended with an error' : 'result'}</span>
          {entry.detail && <span class="muted"> · {entry.detail}</span>}
          {entry.text && <div>{entry.text}</div>}
        </div>
      )
    case 'system':
      return <div class="t-system muted">{entry.text}</div>
    default:
      return <pre class="t-plain">{entry.text}</pre>
  }
}

function Iteration({ record, open }: { record: IterationRecord; open: boolean }) {
  const entries = parseTranscript(record.output)
  const outcome = record.outcome ?? 'running'
  return (
    <details class={`iteration o-${outcome}`} open={open} data-testid="iteration" data-outcome={outcome}>
      <summary>
        <span class="it-n" title={iterationTitle(record.number, record.iteration, record.maxIterations)}>
          {iterationText(record.number, record.iteration, record.maxIterations)}
        </span>
        <span class={`pill o-${outcome}`}>{outcome}</span>
        {record.agent && <span class="muted"> on {record.agent}</span>}
        {record.startedAt && <span class="muted"> · {new Date(record.startedAt).toLocaleString()}</span>}
        {record.usage?.costUsd !== undefined && <span class="muted"> · {money(record.usage.costUsd)}</span>}
        {record.usage?.inputTokens !== undefined && (
          <span class="muted">
            {' '}
            · {count((record.usage.inputTokens ?? 0) + (record.usage.outputTokens ?? 0))} tokens
          </span>
        )}
        {record.reason && <div class="it-reason">{record.reason}</div>}
      </summary>
      {record.failure && (
        <div class="failure">
          <b>{record.failure.class}</b>: {record.failure.cause}
        </div>
      )}
      {record.prompt && (
        <details class="prompt">
          <summary>prompt</summary>
          <pre>{record.prompt}</pre>
        </details>
      )}
      <div class="transcript" data-testid="transcript">
        {entries.length === 0 ? (
          <p class="muted">No output{record.outcome ? '' : ' yet'}.</p>
        ) : (
          entries.map((entry) => <Entry entry={entry} />)
        )}
      </div>
      {record.verify && (
        <div class={`verify${record.verify.exitCode === 0 ? ' ok' : ' bad'}`} data-testid="verify">
          <div>
            verify <code>{record.verify.command}</code> exited {record.verify.exitCode ?? 'without a code'}
            {record.verify.timedOut ? ' (timed out)' : ''}
          </div>
          {record.verify.output.trim() && <pre>{record.verify.output}</pre>}
        </div>
      )}
    </details>
  )
}

export function TaskPage({ id }: { id: string }) {
  useStore()
  const [detail, setDetail] = useState<TaskDetail>()
  const [error, setError] = useState<string>()
  const [busy, message, run] = useAction()
  const task = store.model.tasks.get(id)
  const loading = useRef(false)
  const again = useRef(false)

  // Follow this task's output, and read its detail again when its iterations move (at most twice a second).
  useEffect(() => {
    store.watch(id)
    return () => store.watch(undefined)
  }, [id])
  const load = (): void => {
    if (loading.current) {
      again.current = true
      return
    }
    loading.current = true
    fetchTask(id)
      .then((d) => {
        setDetail(d)
        setError(undefined)
      })
      .catch((e: Error) => setError(e.message))
      .finally(() => {
        setTimeout(() => {
          loading.current = false
          if (again.current) {
            again.current = false
            load()
          }
        }, 500)
      })
  }
  const stamp = `${task?.status}:${task?.iterations}:${task?.iteration}:${store.output.length}:${task?.landed?.commit}:${task?.heldBack?.commit}`
  useEffect(load, [id, stamp])

  if (error && !detail) {
    return (
      <main class="task-page">
        <p>
          <a href="#/">← overview</a>
        </p>
        <p class="error-banner">{error}</p>
      </main>
    )
  }
  const spec = detail?.spec
  const status = task?.status ?? spec?.status
  const iterations = detail?.iterations ?? []
  return (
    <main class="task-page" data-testid="task-page">
      <p>
        <a href="#/">← overview</a>
      </p>
      <h1>
        <span class={`pill s-${status}`} data-testid="task-status">
          {STATUS_LABEL[status ?? ''] ?? status}
        </span>{' '}
        {id} <span class="title">{spec?.title ?? task?.title}</span>
      </h1>
      <div class="task-actions">
        <button
          type="button"
          disabled={busy}
          onClick={() => run(`/api/tasks/${encodeURIComponent(id)}/rerun`)}
          data-testid="rerun"
        >
          Rerun
        </button>
        <button
          type="button"
          disabled={busy}
          onClick={() => run(`/api/tasks/${encodeURIComponent(id)}/rerun`, { withDependents: true })}
        >
          Rerun with dependents
        </button>
        <button
          type="button"
          disabled={busy}
          onClick={() => run(`/api/tasks/${encodeURIComponent(id)}/reset`)}
          data-testid="reset"
        >
          Reset
        </button>
        {message && (
          <span class="error-banner" role="alert">
            {message}
          </span>
        )}
      </div>
      <dl class="spec">
        <dt>role</dt>
        <dd>{spec?.role ?? task?.role}</dd>
        <dt>priority</dt>
        <dd>{spec?.priority ?? task?.priority}</dd>
        <dt>depends on</dt>
        <dd>
          {(spec?.dependsOn ?? task?.dependsOn ?? []).length === 0
            ? '–'
            : (spec?.dependsOn ?? task?.dependsOn ?? []).map((dep) => (
                <>
                  <a href={taskHref(dep)}>{dep}</a>{' '}
                  <span class={`pill s-${store.model.tasks.get(dep)?.status}`}>
                    {store.model.tasks.get(dep)?.status ?? '?'}
                  </span>{' '}
                </>
              ))}
        </dd>
        <dt>completion</dt>
        <dd>
          {spec?.completion.verify && (
            <>
              verify <code>{spec.completion.verify}</code>{' '}
            </>
          )}
          {spec?.completion.signal && (
            <>
              signal <code>{spec.completion.signal}</code>{' '}
            </>
          )}
          {spec && <>at most {spec.completion.maxIterations} iterations</>}
        </dd>
        <dt>agent</dt>
        <dd>{task?.assignedTo ?? '–'}</dd>
        <dt>iterations</dt>
        <dd data-testid="iterations">
          {task?.iterations ?? iterations.length}
          {task?.iteration !== undefined &&
            ` (now ${iterationText(task.iterations, task.iteration, task.maxIterations)})`}
        </dd>
        <dt>spend</dt>
        <dd>{spendText(task?.spend)}</dd>
        {spec?.source && (
          <>
            <dt>file</dt>
            <dd>
              <code>{spec.source}</code>
            </dd>
          </>
        )}
        {task?.reason && (
          <>
            <dt>reason</dt>
            <dd data-testid="reason">{task.reason}</dd>
          </>
        )}
        {task?.lastError && (
          <>
            <dt>failure</dt>
            <dd class="failure" data-testid="last-error">
              <b>{task.lastError.class}</b>: {task.lastError.cause}
              {task.lastError.iteration !== undefined && (
                <span class="muted"> (iteration {task.lastError.iteration})</span>
              )}
            </dd>
          </>
        )}
        {task?.blockers && task.blockers.length > 0 && (
          <>
            <dt>blocked by</dt>
            <dd>
              {task.blockers.map((b) => (
                <>
                  <a href={taskHref(b.id)}>{b.id}</a> ({b.reason}){' '}
                </>
              ))}
            </dd>
          </>
        )}
        {task?.landed?.empty && (
          <>
            <dt>landed</dt>
            <dd data-testid="landed">
              nothing to land ({task.landed.empty === 'no-work' ? 'no work was recorded' : 'its work was already there'}
              )
            </dd>
          </>
        )}
        {task?.landed && !task.landed.empty && (
          <>
            <dt>landed</dt>
            <dd data-testid="landed">
              <code>{task.landed.commit.slice(0, 12)}</code> at {new Date(task.landed.at).toLocaleString()}
            </dd>
          </>
        )}
        {task?.accepted && (
          <>
            <dt>accepted</dt>
            <dd data-testid="accepted">
              by hand (<code>tanuki task mark {task.id} complete</code>): its landing does not run its verify again,
              only <code>land.verify</code> if the config sets one
            </dd>
          </>
        )}
        {task?.heldBack && (
          <>
            <dt>waiting for {task.heldBack.target}</dt>
            <dd data-testid="held-back">
              landed on the integration branch as <code>{task.heldBack.commit.slice(0, 12)}</code> at{' '}
              {new Date(task.heldBack.at).toLocaleString()}; {task.heldBack.target} has not moved to it.{' '}
              {task.heldBack.note}
            </dd>
          </>
        )}
        {task?.landFailed && (
          <>
            <dt>last landing</dt>
            <dd class="failure" data-testid="land-failed">
              <code>{task.landFailed.command}</code> exited {task.landFailed.exitCode ?? 'without a code'} on the
              combined work{task.landFailed.at ? ` at ${new Date(task.landFailed.at).toLocaleString()}` : ''}: its work
              did not land
              <pre>{task.landFailed.output || '(no output)'}</pre>
            </dd>
          </>
        )}
        {task?.conflict && (
          <>
            <dt>conflict</dt>
            <dd class="failure" data-testid="conflict">
              landing conflicted in {task.conflict.files.join(', ')}
            </dd>
          </>
        )}
      </dl>
      {spec?.body.trim() && (
        <details class="body" open>
          <summary>instructions</summary>
          <pre>{spec.body.trim()}</pre>
        </details>
      )}
      <h2>Iterations ({iterations.length})</h2>
      {iterations.length === 0 && <p class="muted">It has not run yet.</p>}
      {iterations.map((record, i) => (
        <Iteration record={record} open={i === iterations.length - 1} />
      ))}
    </main>
  )
}
