import { useState } from 'preact/hooks'
import { post } from '../api.ts'
import { spendText } from '../format.ts'
import { useStore } from '../hooks.ts'
import { store } from '../store.ts'
import { STATUSES } from '../../model/index.ts'

/** Runs an action, showing what the server answered. */
export function useAction(): [busy: boolean, message: string | undefined, run: (path: string, body?: unknown) => void] {
  const [busy, setBusy] = useState(false)
  const [message, setMessage] = useState<string>()
  const run = (path: string, body?: unknown): void => {
    setBusy(true)
    setMessage(undefined)
    post(path, body)
      .then(() => setMessage(undefined))
      .catch((error: Error) => setMessage(error.message))
      .finally(() => setBusy(false))
  }
  return [busy, message, run]
}

export function Header() {
  useStore()
  const { model, connection } = store
  const progress = model.progress()
  const spend = model.spend()
  const [busy, message, run] = useAction()
  const running = model.status === 'running' || model.status === 'starting'
  return (
    <header class="header">
      <a class="brand" href="#/">
        Tanuki
      </a>
      <span class={`state state-${model.status.split(' ')[0]}`} data-testid="run-state">
        {model.status}
      </span>
      <div class="progress" title={`${progress.complete} of ${progress.total} complete`}>
        <div class="bar">
          {STATUSES.map((status) => {
            const n = progress.byStatus[status] ?? 0
            return n > 0 ? (
              <span class={`seg s-${status}`} style={{ width: `${(n * 100) / Math.max(1, progress.total)}%` }} />
            ) : null
          })}
        </div>
        <span class="progress-text" data-testid="progress">
          {progress.complete}/{progress.total} complete · {progress.percentage}%
          {progress.landed !== undefined ? ` · ${progress.landed} landed` : ''}
          {progress.nothingToLand ? ` · ${progress.nothingToLand} with nothing to land` : ''}
          {progress.heldBack ? ` · ${progress.heldBack} waiting for the target` : ''}
        </span>
      </div>
      <span class="spend" data-testid="spend">
        {spendText(spend)}
      </span>
      <span class={`conn conn-${connection}`} title="the link to the dashboard's server">
        {connection}
      </span>
      <div class="actions">
        {running ? (
          <button type="button" disabled={busy} onClick={() => run('/api/run/stop')} data-testid="stop">
            Stop run
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={() => run('/api/run/resume')} data-testid="resume">
            Resume
          </button>
        )}
      </div>
      {message && (
        <div class="error-banner" role="alert">
          {message}
        </div>
      )}
    </header>
  )
}
