import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { defineCommand } from 'citty'
import { TanukiError } from '@tanuki/core'
import { readConfigFile } from '../config.ts'
import { enclosingProject, projectMarker, projectsBelow } from '../find-project.ts'
import { STATE_GITIGNORE } from '../paths.ts'
import { taskFileCount, taskFolders } from '../task-folders.ts'
import { common, projectRoot, shellWord } from './shared.ts'

const SAMPLE_TASK = `---
id: TASK-001
title: Write a hello file
role: default
priority: medium
completion:
  verify: "test -f hello.txt"
  max_iterations: 5
---
Create a file named \`hello.txt\` in the project root containing a friendly greeting.
`

const SAMPLE_CONFIG = `import { defineConfig } from 'tanuki'

// Every role gets one agent unless it is listed here. The default agent is Claude Code
// (\`claude -p … --output-format stream-json\`), run as a local process in a git worktree.
export default defineConfig({
  // Worktrees have none of your installed dependencies: install them before each task and landing.
  // defaults: { setup: 'npm install --prefer-offline --no-audit --no-fund' },
  agents: {
    default: { count: 1, kind: 'claude' },
    // backend: { count: 2, kind: 'claude', model: 'sonnet', systemPrompt: 'You write TypeScript.' },
    // qa: { kind: 'command', command: ['my-agent', '--prompt', '{prompt}'] },
  },
})
`

/** What `tanuki init` does about a project's tasks. */
export interface TaskPlan {
  /** The folder the tasks are read from, before init and after it: init never changes it. */
  dir: string
  /** Where the sample task goes; undefined when the project has task files already. */
  sample?: string
  /** What the person should know about their tasks: where they are, why no sample, what is hidden. */
  notes: string[]
}

/**
 * Where a project's tasks are read from and whether `tanuki init` adds its sample there. The
 * sample goes only into a project with no task files, into the folder tasks are read from:
 * creating `.tanuki/tasks` beside a `tasks/` would take its place and hide the person's tasks
 * (`resolveTasksDir`), and a sample task in a real backlog is one more task for agents to run.
 */
export function planTasks(root: string, config: { tasksDir?: string; file?: string } = {}): TaskPlan {
  const { tasksDir } = config
  const file = config.file ?? 'tanuki.config.ts'
  const { dir, own, unread, notes: hidden } = taskFolders(root, config)
  const notes: string[] = []
  if (own > 0) {
    const plain = join(root, 'tasks')
    const why = tasksDir ? ` (\`tasksDir\` in ${file})` : dir === plain ? ' (there is no .tanuki/tasks/)' : ''
    const spared =
      !tasksDir && dir === plain ? ', and no .tanuki/tasks/, which would come before tasks/ and hide them' : ''
    notes.push(
      `Tasks: ${taskFileCount(own)} in ${relative(root, dir)}/${why}; Tanuki reads them from there. Wrote no sample task${spared}.`,
    )
  }
  // Task files in a default folder that is not the one read are named, never moved.
  notes.push(...hidden)
  if (own === 0 && unread > 0) notes.push('Wrote no sample task: the project has task files already.')
  return { dir, ...(own === 0 && unread === 0 ? { sample: join(dir, 'TASK-001.md') } : {}), notes }
}

export const initCommand = defineCommand({
  meta: {
    name: 'init',
    description: 'Write a tanuki.config.ts, and a sample task in .tanuki/tasks/ unless the project has tasks',
  },
  args: {
    ...common,
    nested: {
      type: 'boolean',
      description: 'Start a project here though a folder above or below has one (its commands will not see that one)',
    },
  },
  async run({ args }) {
    const root = projectRoot(args)
    // Refused, not warned of after the fact: the files written would make this folder a project,
    // and every later command here would use it, blind to the tasks of the one above.
    const above = args.nested ? undefined : enclosingProject(root)
    if (above) {
      const cwd = shellWord(above.dir)
      throw new TanukiError(
        'TANUKI_NESTED_PROJECT',
        `${root} is inside the Tanuki project in ${above.dir} (${above.marker}); a project here would be another one, whose commands do not see its tasks. Run Tanuki there (cd ${cwd}, or --cwd ${cwd}); to start a separate project here anyway, run \`tanuki init --nested\`.`,
        { details: { root, project: above.dir, marker: above.marker } },
      )
    }
    // A project below (a monorepo's root, above `services/api`): refused too, for the same reason
    // and the same way out. A warning would come after a sample task a run would spend agents on.
    const below = args.nested || projectMarker(root) ? [] : projectsBelow(root)
    if (below[0]) {
      const cwd = shellWord(args.cwd === undefined ? relative(root, below[0].dir) : below[0].dir)
      throw new TanukiError(
        'TANUKI_NESTED_PROJECT',
        `${below[0].dir} below ${root} is a Tanuki project (${below[0].marker}); a project here would be another one, whose commands do not see its tasks. Run Tanuki there (cd ${cwd}, or --cwd ${cwd}); to start a separate project here anyway, run \`tanuki init --nested\`.`,
        { details: { root, project: below[0].dir, marker: below[0].marker } },
      )
    }
    // The config says where the tasks are (`tasksDir`): one that cannot be read is refused, as
    // every command refuses it, before anything is written.
    const config = await readConfigFile(root)
    const tasksDir =
      typeof config.user.tasksDir === 'string' && config.user.tasksDir !== '' ? config.user.tasksDir : undefined
    const plan = planTasks(root, { ...(tasksDir ? { tasksDir } : {}), ...(config.file ? { file: config.file } : {}) })
    const wrote: string[] = []
    const kept: string[] = []
    const write = (path: string, text: string): void => {
      if (existsSync(path)) kept.push(relative(root, path))
      else {
        mkdirSync(dirname(path), { recursive: true })
        writeFileSync(path, text)
        wrote.push(relative(root, path))
      }
    }
    write(join(root, '.tanuki', '.gitignore'), STATE_GITIGNORE)
    if (plan.sample) write(plan.sample, SAMPLE_TASK)
    if (config.file) kept.push(config.file)
    else write(join(root, 'tanuki.config.ts'), SAMPLE_CONFIG)
    for (const file of wrote) process.stdout.write(`wrote ${file}\n`)
    for (const file of kept) process.stdout.write(`kept  ${file} (already there)\n`)
    for (const note of plan.notes) process.stdout.write(`\n${note}\n`)
    process.stdout.write(
      `\nNext: ${plan.sample ? 'edit the tasks, then ' : ''}\`tanuki task validate\` and \`tanuki project start\`.\n`,
    )
    return 0
  },
})
