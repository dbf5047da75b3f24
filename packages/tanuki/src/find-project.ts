import { existsSync, readdirSync } from 'node:fs'
import { dirname, join, sep } from 'node:path'
import { CONFIG_NAMES } from './config.ts'
import { markdownFiles } from './lister.ts'

/**
 * What makes a folder a Tanuki project, as people see it (`tanuki.config.ts`, `.tanuki/tasks/`,
 * `tasks/`, `.tanuki/journal.ndjson`), or undefined. Only stats, as every command asks it of
 * its folder: `tasks/` counts when it exists, since that is where tasks are read from then.
 * `above` asks it of a folder above: there, `tasks/` counts only with a Markdown file in it, as
 * many projects that are not Tanuki's have a `tasks/` (Ansible, Rake), and a wrong "there is a
 * project above" sends the person away from the right place.
 */
export function projectMarker(dir: string, above = false): string | undefined {
  const config = CONFIG_NAMES.find((name) => existsSync(join(dir, name)))
  if (config) return config
  if (existsSync(join(dir, '.tanuki', 'tasks'))) return '.tanuki/tasks/'
  const tasks = join(dir, 'tasks')
  if (existsSync(tasks) && (!above || markdownFiles({ existsSync, readdirSync }, sep, tasks).length > 0))
    return 'tasks/'
  // A run's journal: a project whose task folder is gone still has its run to show and stop.
  if (existsSync(join(dir, '.tanuki', 'journal.ndjson'))) return '.tanuki/journal.ndjson'
  return undefined
}

/** A Tanuki project in a folder above another. */
export interface EnclosingProject {
  /** The project's folder. */
  dir: string
  /** What makes it one (`projectMarker`): `tanuki.config.ts`, `.tanuki/tasks/`, … */
  marker: string
}

/**
 * The nearest project above `root` when `root` is none itself: the folders up to the top of the
 * git repository `root` is in (a folder above the repository is another work's), else up to the
 * file system's root. Undefined when `root` is a project, or none is above it.
 */
export function enclosingProject(root: string): EnclosingProject | undefined {
  if (projectMarker(root)) return undefined
  for (let dir = root; ; ) {
    if (existsSync(join(dir, '.git'))) return undefined
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
    const marker = projectMarker(dir, true)
    if (marker) return { dir, marker }
  }
}
