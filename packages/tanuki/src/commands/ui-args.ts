import { TanukiError } from '@tanuki/core'

// Apart from ui.ts, which the dashboard's sources tie into a cycle with project.ts: bundled, the
// options were read before they were defined, and `project start` lost --port and --host.

/** `--port` as a number, or a clear refusal. */
export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TanukiError(
      'TANUKI_UI_LISTEN',
      `--port is "${value}"; give a whole number from 0 to 65535 (0: any free port).`,
    )
  }
  return port
}

/** Options `project start` and `ui` share. */
export const uiArgs = {
  port: { type: 'string', description: 'Port of the dashboard (default: a free one)', valueHint: 'N' },
  host: {
    type: 'string',
    description: 'Address the dashboard listens on (default 127.0.0.1; anything else lets other machines in)',
    valueHint: 'H',
  },
} as const
