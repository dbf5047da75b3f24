import type { StatusDocument, TaskDetail } from '../types.ts'

/** An answer the server refused, with its code and message. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

async function read<T>(response: Response): Promise<T> {
  if (response.ok) return (await response.json()) as T
  const body = (await response.json().catch(() => undefined)) as
    | { error?: { code: string; message: string } }
    | undefined
  throw new ApiError(
    body?.error?.code ?? `HTTP_${response.status}`,
    body?.error?.message ?? `${response.status} ${response.statusText}`,
  )
}

/** The status document and the sequence number of the last event it includes. */
export function fetchStatus(): Promise<{ seq: number; doc: StatusDocument }> {
  return fetch('/api/status', { credentials: 'same-origin' }).then((r) => read(r))
}

/** A task's spec and iterations. */
export function fetchTask(id: string): Promise<TaskDetail> {
  return fetch(`/api/tasks/${encodeURIComponent(id)}`, { credentials: 'same-origin' }).then((r) => read(r))
}

/** An action: the browser adds the Origin header the server checks. */
export function post(path: string, body: unknown = {}): Promise<{ ok: true }> {
  return fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  }).then((r) => read(r))
}
