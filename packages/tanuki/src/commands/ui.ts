import { defineCommand } from 'citty'
import { openProject } from '../project.ts'
import { dashboardBanner } from '../ui/banner.ts'
import { common, checkedProjectRoot } from './shared.ts'

import { parsePort, uiArgs } from './ui-args.ts'

export { parsePort, uiArgs }

export const uiCommand = defineCommand({
  meta: {
    name: 'ui',
    description: 'Serve the web dashboard of the project, while a run is on and after it (until Ctrl-C)',
  },
  args: { ...common, ...uiArgs },
  async run({ args }) {
    const project = await openProject(checkedProjectRoot(args))
    const port = parsePort(args.port)
    // The dashboard's modules (hono and its server) load only for this command.
    const [{ serveDashboard }, { createStateSource }] = await Promise.all([
      import('@tanuki/plugin-ui'),
      import('../ui/sources.ts'),
    ])
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
