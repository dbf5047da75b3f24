import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { enclosingProject, projectMarker } from './find-project.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A temp folder with these files (path → text; a path ending in `/` is an empty folder). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tanuki-find-'))
  dirs.push(root)
  for (const [path, text] of Object.entries(files)) {
    if (path.endsWith('/')) mkdirSync(join(root, path), { recursive: true })
    else {
      mkdirSync(dirname(join(root, path)), { recursive: true })
      writeFileSync(join(root, path), text)
    }
  }
  return root
}

describe('projectMarker', () => {
  it('names what makes a folder a project: a config, a task folder, a run', () => {
    expect(projectMarker(tree({ 'tanuki.config.mjs': 'export default {}\n' }))).toBe('tanuki.config.mjs')
    expect(projectMarker(tree({ '.tanuki/tasks/': '' }))).toBe('.tanuki/tasks/')
    expect(projectMarker(tree({ 'tasks/': '' }))).toBe('tasks/')
    expect(projectMarker(tree({ '.tanuki/journal.ndjson': '' }))).toBe('.tanuki/journal.ndjson')
    // What commands leave behind in any folder (a task cache, the state's .gitignore) is not a project.
    expect(projectMarker(tree({ '.tanuki/.gitignore': '*\n', '.tanuki/cache/tasks': '' }))).toBeUndefined()
  })

  it('above, counts a tasks/ folder only with Markdown in it', () => {
    expect(projectMarker(tree({ 'tasks/main.yml': '' }), 'above')).toBeUndefined()
    expect(projectMarker(tree({ 'tasks/api/T1.md': '' }), 'above')).toBe('tasks/')
    // Outside a git repository, not at all: a ~/tasks/ of notes is no project.
    expect(projectMarker(tree({ 'tasks/api/T1.md': '' }), 'outside')).toBeUndefined()
  })
})

describe('enclosingProject', () => {
  it('finds the nearest project above a folder that is none', () => {
    const root = tree({ '.git/HEAD': '', 'tanuki.config.ts': '', 'a/tasks/T.md': '', 'a/b/c/': '' })
    expect(enclosingProject(join(root, 'a', 'b', 'c'))).toEqual({ dir: join(root, 'a'), marker: 'tasks/' })
    expect(enclosingProject(join(root, 'a'))).toBeUndefined()
  })

  it('outside a git repository, counts a config or a .tanuki/ above, not a tasks/ folder', () => {
    const root = tree({ 'tanuki.config.ts': '', 'notes/tasks/T.md': '', 'notes/b/': '' })
    expect(enclosingProject(join(root, 'notes', 'b'))).toEqual({ dir: root, marker: 'tanuki.config.ts' })
    const home = tree({ 'tasks/groceries.md': '', 'new/': '' })
    expect(enclosingProject(join(home, 'new'))).toBeUndefined()
  })

  it("takes a folder inside a project's .tanuki/ for that project's, its tasks/ notwithstanding", () => {
    const root = tree({ '.git/HEAD': '', '.tanuki/tasks/api/T.md': '', '.tanuki/logs/tasks/T/': '' })
    for (const inside of [
      ['.tanuki'],
      ['.tanuki', 'tasks'],
      ['.tanuki', 'tasks', 'api'],
      ['.tanuki', 'logs', 'tasks', 'T'],
    ])
      expect(enclosingProject(join(root, ...inside))).toEqual({ dir: root, marker: '.tanuki/tasks/' })
  })

  it("stops at the git repository's top: a project above it is another work's", () => {
    const root = tree({ 'tanuki.config.ts': '', 'repo/.git/HEAD': '', 'repo/src/': '' })
    expect(enclosingProject(join(root, 'repo', 'src'))).toBeUndefined()
    expect(enclosingProject(join(root, 'repo'))).toBeUndefined()
    // The repository's top is looked at itself.
    const top = tree({ '.git/HEAD': '', 'tanuki.config.ts': '', 'src/': '' })
    expect(enclosingProject(join(top, 'src'))).toEqual({ dir: top, marker: 'tanuki.config.ts' })
  })

  it('passes over a tasks/ above that holds no Markdown', () => {
    const root = tree({ '.git/HEAD': '', 'roles/web/tasks/main.yml': '', 'roles/web/files/': '' })
    expect(enclosingProject(join(root, 'roles', 'web', 'files'))).toBeUndefined()
  })
})
