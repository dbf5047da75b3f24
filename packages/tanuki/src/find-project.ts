import { existsSync, readdirSync, type Dirent } from 'node:fs'
import { dirname, join, sep } from 'node:path'
import { CONFIG_NAMES } from './config.ts'
import { markdownFiles } from './lister.ts'

/**
 * What makes a folder a Tanuki project, as people see it (`tanuki.config.ts`, `.tanuki/tasks/`,
 * `tasks/`, `.tanuki/journal.ndjson`), or undefined. Only stats, as every command asks it of
 * its folder: `tasks/` counts when it exists, since that is where tasks are read from then.
 * Asked of a folder above (`above`), `tasks/` counts only with a Markdown file in it, as many
 * projects that are not Tanuki's have a `tasks/` (Ansible, Rake), and a wrong "there is a project
 * above" sends the person away from the right place; and not at all outside a git repository
 * (`outside`), where a `~/tasks/` of notes would claim every folder under it.
 */
export function projectMarker(dir: string, above: false | 'above' | 'outside' = false): string | undefined {
  const config = CONFIG_NAMES.find((name) => existsSync(join(dir, name)))
  if (config) return config
  if (existsSync(join(dir, '.tanuki', 'tasks'))) return '.tanuki/tasks/'
  const tasks = join(dir, 'tasks')
  if (
    above !== 'outside' &&
    existsSync(tasks) &&
    (!above || markdownFiles({ existsSync, readdirSync }, sep, tasks).length > 0)
  )
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

/** The top of the git repository `dir` is in (a `.git` folder or file), or undefined. */
function repositoryTop(dir: string): string | undefined {
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/**
 * The nearest project above `root` when `root` is none itself: the folders up to the top of the
 * git repository `root` is in (a folder above the repository is another work's), else up to the
 * file system's root, where only a config or a `.tanuki/` counts. A folder inside a project's own
 * `.tanuki/` (its tasks, its logs) is that project's, though its `tasks/` looks like one. Undefined
 * when `root` is a project, or none is above it.
 */
export function enclosingProject(root: string): EnclosingProject | undefined {
  const parts = root.split(sep)
  const state = parts.indexOf('.tanuki')
  if (state > 0) {
    const dir = parts.slice(0, state).join(sep) || sep
    return { dir, marker: projectMarker(dir) ?? '.tanuki/' }
  }
  if (projectMarker(root)) return undefined
  const top = repositoryTop(root)
  for (let dir = root; dir !== top; ) {
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
    const marker = projectMarker(dir, top === undefined ? 'outside' : 'above')
    if (marker) return { dir, marker }
  }
  return undefined
}

/** How deep below a folder `projectsBelow` looks (`services/api` is 2), and how many folders at most. */
const BELOW_DEPTH = 3
const BELOW_FOLDERS = 2000

/** Folders no project is looked for in: installed dependencies, and hidden ones (`.git`, `.tanuki`). */
const SKIPPED = new Set(['node_modules', 'vendor', 'dist', 'build', 'target'])

/**
 * The Tanuki projects in the folders below `root` (a monorepo's `services/api`), nearest first:
 * those with a config or a `.tanuki/tasks/` (a `tasks/` is too common to count), at most
 * `BELOW_DEPTH` folders down, looking at most at `BELOW_FOLDERS` folders, and not inside installed
 * dependencies or hidden folders. Only asked of a folder that is no project, to say where one is.
 */
export function projectsBelow(root: string): EnclosingProject[] {
  const found: EnclosingProject[] = []
  let level = [root]
  let seen = 0
  for (let depth = 1; depth <= BELOW_DEPTH && level.length > 0; depth++) {
    const next: string[] = []
    for (const dir of level) {
      let entries: Dirent[]
      try {
        entries = readdirSync(dir, { withFileTypes: true })
      } catch {
        continue
      }
      for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (!entry.isDirectory() || entry.name.startsWith('.') || SKIPPED.has(entry.name)) continue
        if (++seen > BELOW_FOLDERS) return found
        const child = join(dir, entry.name)
        const config = CONFIG_NAMES.find((name) => existsSync(join(child, name)))
        const marker = config ?? (existsSync(join(child, '.tanuki', 'tasks')) ? '.tanuki/tasks/' : undefined)
        if (marker) found.push({ dir: child, marker })
        // A project's own subfolders are its own: no second project is looked for in them.
        else next.push(child)
      }
    }
    level = next
  }
  return found
}
