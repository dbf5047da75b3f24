// What a new user is told at the edges of a real repository, through the built CLI: the shapes a
// new user's repository has that Tanuki's own examples do not.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { TANUKI_BIN, cleanup, configFor, createProject, tanuki, taskText, type CliResult } from './helpers.ts'

afterEach(cleanup)

const git = (dir: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@tanuki.invalid', ...args], {
    cwd: dir,
    encoding: 'utf8',
  })

/** Runs the CLI in `cwd` with exactly these arguments (no `--cwd`), as a person in that folder would. */
function runIn(cwd: string, ...args: string[]): CliResult {
  const result = spawnSync(TANUKI_BIN, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } })
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr }
}

describe('a project folder git does not track yet', () => {
  it('validate and the run name the folder, why agents lack it, and the commit that fixes it', async () => {
    // A monorepo whose new service, with its Tanuki project, is not committed.
    const repo = createProject({ config: null, git: false, files: { 'README.md': 'monorepo\n' } })
    const top = realpathSync(repo.dir)
    git(top, 'init', '-q', '-b', 'main')
    git(top, 'add', 'README.md')
    git(top, 'commit', '-qm', 'init')
    const service = join(top, 'services', 'newapi')
    mkdirSync(join(service, '.tanuki', 'tasks'), { recursive: true })
    writeFileSync(join(service, 'tanuki.config.ts'), configFor())
    writeFileSync(join(service, '.tanuki', 'tasks', 'A.md'), taskText({ id: 'A', sh: 'echo a > a.txt' }))
    const cause = `the project folder ${service} is not committed: git tracks no file in it, and agents work in git worktrees made from commits, where it does not exist.`
    const fix = `Commit it (\`git add services/newapi && git commit\` in ${top})`

    const validate = await tanuki(service, 'task', 'validate')
    expect(validate.code, validate.stdout).toBe(1)
    // The folder's problem, not the config's: no `tanuki.config.ts:` before it.
    expect(validate.stderr).toContain(`tanuki: The ${cause.slice('the '.length)}`)
    expect(validate.stderr).toContain(fix)
    expect(validate.stderr).toContain('TANUKI_PROJECT_NOT_COMMITTED')

    const run = await tanuki(service, 'project', 'start')
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(cause)
    expect(run.stdout).toContain(fix)
    expect(run.stdout).not.toContain('does not exist. Its tasks wait')
    // One instruction: the commit, then the resume, not "Commit it (…); fix it, then …".
    expect(run.stdout).toContain(`${fix}, then \`tanuki project resume\``)
    expect(run.stdout).not.toContain('fix it, then')

    // Committed, the same folder runs and validates.
    git(top, 'add', 'services/newapi')
    git(top, 'commit', '-qm', 'newapi')
    const fixed = await tanuki(service, 'task', 'validate')
    expect(fixed.code, fixed.stderr).toBe(0)
  })
})

describe('a first run on a detached HEAD', () => {
  it("names the repository's own branches, the one HEAD is on first, not `main`", async () => {
    const project = createProject({ tasks: [{ id: 'A', sh: 'echo a > a.txt' }] })
    const dir = project.dir
    git(dir, 'branch', '-m', 'main', 'trunk')
    // Another branch, without HEAD's commit: it sorts first, but is not the likely one.
    git(dir, 'branch', 'alpha')
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'second')
    git(dir, 'checkout', '-q', '--detach', 'trunk')
    const advice =
      "Check out a branch (`git checkout trunk`), or set `land: { into: 'trunk' }` in tanuki.config.ts. Its branches: trunk, alpha."

    const validate = await tanuki(dir, 'task', 'validate')
    expect(validate.code).toBe(1)
    expect(validate.stderr).toContain('has no branch checked out (a detached HEAD)')
    expect(validate.stderr).toContain(advice)
    expect(validate.stderr).not.toContain("'main'")

    // Refused before the run loads: no run began, none is recorded.
    const run = await tanuki(dir, 'project', 'start')
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(advice)
    // Its code says what it is, not that a landing failed: none was tried.
    expect(validate.stderr).toContain('TANUKI_LAND_NO_TARGET')
    expect(run.stderr).toContain('TANUKI_LAND_NO_TARGET')
    expect(run.stderr).not.toContain('TANUKI_LAND_FAILED')
    expect(run.stdout).not.toContain('project loaded')
    expect(existsSync(join(dir, '.tanuki', 'journal.ndjson'))).toBe(false)
  })
})

describe('a config that is not tanuki.config.ts', () => {
  it('is the file advice names, and a second config file beside it is refused, naming both', async () => {
    const project = createProject({ config: null, tasks: [{ id: 'A', sh: 'echo a > a.txt' }] })
    const dir = project.dir
    writeFileSync(join(dir, 'tanuki.config.mjs'), configFor())
    git(dir, 'add', '-A')
    git(dir, 'commit', '-qm', 'config')
    git(dir, 'checkout', '-q', '--detach', 'main')

    const detached = await tanuki(dir, 'task', 'validate')
    expect(detached.code).toBe(1)
    expect(detached.stderr).toContain("set `land: { into: 'main' }` in tanuki.config.mjs.")
    expect(detached.stderr).not.toContain('tanuki.config.ts')

    // Advice followed literally, as it read before: a second file, which would be read instead.
    writeFileSync(join(dir, 'tanuki.config.ts'), configFor({ default: 1 }, "\n  land: { into: 'main' },"))
    const both =
      `tanuki.config.ts and tanuki.config.mjs are both in ${realpathSync(dir)}, and Tanuki reads only one: tanuki.config.ts ` +
      '(the first of tanuki.config.ts, tanuki.config.mts, tanuki.config.js, tanuki.config.mjs), so tanuki.config.mjs is ignored. ' +
      'Keep one config file: move what you need into it and delete the other.'
    for (const args of [
      ['task', 'validate'],
      ['project', 'start'],
    ]) {
      const result = await tanuki(dir, ...args)
      expect(result.code, result.stdout).toBe(1)
      expect(result.stderr).toContain(both)
      expect(result.stdout).not.toContain('project loaded')
    }
    expect(existsSync(join(dir, '.tanuki', 'journal.ndjson'))).toBe(false)
  })
})

describe("at a monorepo's root, above its project", () => {
  /** A repository whose Tanuki project is `services/api`, and nothing at its root. */
  const monorepo = (): { top: string; api: string } => {
    const repo = createProject({
      config: null,
      files: { 'README.md': 'monorepo\n', 'services/api/tanuki.config.ts': configFor() },
      tasks: [],
    })
    const top = realpathSync(repo.dir)
    return { top, api: join(top, 'services', 'api') }
  }

  it('project status and the other commands name the project below, and how to get there', async () => {
    const { top, api } = monorepo()
    for (const args of [
      ['project', 'status'],
      ['project', 'status', '--json'],
      ['task', 'list'],
      ['task', 'validate'],
    ]) {
      const result = runIn(top, ...args)
      const what = `tanuki ${args.join(' ')}: ${result.stdout}${result.stderr}`
      expect(result.code, what).toBe(1)
      expect(result.stderr, what).toContain(
        `no Tanuki project here (${top}): it has no tanuki.config.*, .tanuki/tasks/ or tasks/. ${api} has one (tanuki.config.ts): cd services/api, or pass --cwd services/api.`,
      )
    }
    const pointed = runIn(tmpdir(), 'project', 'status', '--cwd', top)
    expect(pointed.stderr).toContain(`${api} has one (tanuki.config.ts): pass --cwd ${api} instead.`)
    expect(runIn(api, 'project', 'status').code).toBe(0)
  })

  it('project status in an empty folder says there is no project, as the other commands do', async () => {
    const empty = createProject({ config: null, git: false })
    const status = runIn(empty.dir, 'project', 'status')
    expect(status.code).toBe(1)
    expect(status.stdout).not.toContain('Project not started')
    expect(status.stderr).toContain(`no Tanuki project here (${empty.dir}): it has no tanuki.config.*`)
    expect(status.stderr).toContain('start one here with `tanuki init`')
    expect(status.stderr).toContain('TANUKI_NO_PROJECT')
  })

  it('init there refuses to make a second project above it, unless --nested', async () => {
    const { top, api } = monorepo()
    const init = runIn(top, 'init')
    expect(init.code).toBe(1)
    expect(init.stderr).toContain(
      `${api} below ${top} is a Tanuki project (tanuki.config.ts); a project here would be another one, whose commands do not see its tasks. Run Tanuki there (cd services/api, or --cwd services/api); to start a separate project here anyway, run \`tanuki init --nested\`.`,
    )
    expect(existsSync(join(top, 'tanuki.config.ts'))).toBe(false)
    expect(existsSync(join(top, '.tanuki'))).toBe(false)
    const nested = runIn(top, 'init', '--nested')
    expect(nested.code, nested.stderr).toBe(0)
    expect(existsSync(join(top, 'tanuki.config.ts'))).toBe(true)
  })
})

describe('a folder that is no git repository, or one with no commit', () => {
  it('the run says once, as it starts, that agents work in the folder itself and nothing lands; status too', async () => {
    const project = createProject({ git: false, tasks: [{ id: 'A', sh: 'echo a > a.txt' }] })
    const none = `· ${project.dir} is not a git repository: agents work in the folder itself (workspace "shared"), each seeing the others' changes, and nothing lands.`
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout.split(none).length - 1).toBe(1)
    expect(run.stdout.indexOf(none)).toBeLessThan(run.stdout.indexOf('A complete'))
    const status = await tanuki(project.dir, 'project', 'status')
    expect(status.stdout).toContain(none)
    // --json keeps its format: the note is for people.
    expect((await tanuki(project.dir, 'project', 'status', '--json')).stdout).not.toContain('not a git repository')

    git(project.dir, 'init', '-q')
    const noCommit = await tanuki(project.dir, 'project', 'status')
    expect(noCommit.stdout).toContain(
      `· the git repository of ${project.dir} has no commit yet: agents work in the folder itself (workspace "shared")`,
    )
    git(project.dir, 'add', '-A')
    git(project.dir, 'commit', '-qm', 'init')
    expect((await tanuki(project.dir, 'project', 'status')).stdout).not.toContain('agents work in the folder itself')
  })

  it('says that land.verify and land.push set in the config do not apply there: nothing lands', async () => {
    const project = createProject({
      git: false,
      tasks: [{ id: 'A', sh: 'echo a > a.txt' }],
      config: configFor({ default: 1 }, "\n  land: { verify: 'npm test', push: 'origin' },"),
    })
    const unused =
      '`land.verify` and `land.push` in tanuki.config.ts do not apply: nothing lands, so nothing is gated or pushed.'
    const validate = await tanuki(project.dir, 'task', 'validate')
    expect(validate.code, validate.stderr).toBe(0)
    expect(validate.stdout + validate.stderr).toContain(
      `${project.dir} is not a git repository with a commit: ${unused}`,
    )
    const run = await tanuki(project.dir, 'project', 'start')
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain(`and nothing lands. \`git init\``)
    expect(run.stdout).toContain(`a commit. ${unused}`)
  })
})
