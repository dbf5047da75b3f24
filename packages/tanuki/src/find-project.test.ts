import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { enclosingProject, projectMarker, projectsBelow } from './find-project.ts'

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

describe('projectsBelow', () => {
  it("finds the projects in a monorepo's folders, nearest first, not inside one another", () => {
    const root = tree({
      '.git/HEAD': '',
      'services/web/.tanuki/tasks/A.md': '',
      'services/api/tanuki.config.ts': '',
      'services/api/sub/tanuki.config.ts': '',
      'tools/tanuki.config.mjs': '',
      'lib/tasks/A.md': '',
    })
    expect(projectsBelow(root)).toEqual([
      { dir: join(root, 'tools'), marker: 'tanuki.config.mjs' },
      { dir: join(root, 'services', 'api'), marker: 'tanuki.config.ts' },
      { dir: join(root, 'services', 'web'), marker: '.tanuki/tasks/' },
    ])
  })

  it('looks three folders down at most, and not in installed dependencies or hidden folders', () => {
    const root = tree({
      'a/b/c/d/tanuki.config.ts': '',
      'node_modules/pkg/tanuki.config.ts': '',
      '.cache/x/tanuki.config.ts': '',
      'x/y/z/tanuki.config.ts': '',
    })
    expect(projectsBelow(root)).toEqual([{ dir: join(root, 'x', 'y', 'z'), marker: 'tanuki.config.ts' }])
    expect(projectsBelow(join(root, 'node_modules', 'pkg', 'x'))).toEqual([])
  })
})
