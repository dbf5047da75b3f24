import { defineCommand } from 'citty'
import { TanukiError } from '@tanuki/core'
import { serveDashboard } from '@tanuki/plugin-ui'
import { openProject } from '../project.ts'
import { dashboardBanner } from '../ui/banner.ts'
import { createStateSource } from '../ui/sources.ts'
import { common, projectRoot } from './shared.ts'

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

export const uiCommand = defineCommand({
  meta: {
    name: 'ui',
    description: 'Serve the web dashboard of the project, while a run is on and after it (until Ctrl-C)',
  },
  args: { ...common, ...uiArgs },
  async run({ args }) {
    const project = await openProject(projectRoot(args))
    const port = parsePort(args.port)
    const server = await serveDashboard({
      source: createStateSource(project),
      ...(args.host ? { host: args.host } : {}),
      ...(port === undefined ? {} : { port }),
    })
    process.stdout.write(dashboardBanner(server.url, server.host))
    process.stdout.write('Press Ctrl-C to stop it.\n')
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    await server.close()
    return 0
  },
})
