import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isTanukiError, type TanukiError } from '@tanuki/core'
import { checkProject } from './check.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tanuki-check-'))
  dirs.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

async function refused(root: string): Promise<TanukiError> {
  try {
    await checkProject(root)
  } catch (error) {
    if (isTanukiError(error)) return error
    throw error
  }
  throw new Error('the project was accepted')
}

const task = (id: string, lines: string[] = []) =>
  `---\nid: ${id}\ntitle: Task ${id}\n${lines.join('\n')}${lines.length ? '\n' : ''}---\nDo ${id}.\n`

describe('checkProject', () => {
  it('lists the config’s problems and every task file’s, in one pass', async () => {
    const root = project({
      'tanuki.config.mjs': 'export default { agnets: {}, iterationTimeoutMs: 0 }\n',
      '.tanuki/tasks/a.md': task('A', ['priority: urgent']),
      '.tanuki/tasks/b.md': task('B', ['depends_on: [GHOST]']),
    })
    const error = await refused(root)
    expect(error.code).toBe('TANUKI_PROJECT_INVALID')
    expect(error.details.problems).toEqual([
      expect.stringMatching(/^tanuki\.config\.mjs: config key "iterationTimeoutMs"/),
      expect.stringMatching(
        /^tanuki\.config\.mjs: config key "agnets" is not a config key \(did you mean "agents"\?\)/,
      ),
      expect.stringMatching(/^\.tanuki\/tasks\/a\.md: field "priority": is "urgent"/),
      expect.stringMatching(/^\.tanuki\/tasks\/b\.md: field "depends_on" names "GHOST"/),
    ])
    expect(error.message.split('\n')[0]).toBe('4 problems in the project:')
  })

  it('says a dependency on an invalid task file is that file’s problem, not a missing id', async () => {
    const root = project({
      '.tanuki/tasks/a.md': task('A', ['priority: urgent']),
      '.tanuki/tasks/b.md': task('B', ['depends_on: [A, GHOST]']),
    })
    const error = await refused(root)
    expect(error.details.problems).toEqual([
      expect.stringMatching(/^\.tanuki\/tasks\/a\.md: field "priority": is "urgent"/),
      '.tanuki/tasks/b.md: field "depends_on" names "A", whose file .tanuki/tasks/a.md is invalid (its problem is listed too). Fix that file.',
      expect.stringMatching(/^\.tanuki\/tasks\/b\.md: field "depends_on" names "GHOST", but no task has that id/),
    ])
  })

  it("names an invalid file's missing dependency in the same pass as its field's problem", async () => {
    const root = project({
      '.tanuki/tasks/a.md': task('A', ['priority: urgent', 'depends_on: [GHOST, B]']),
      '.tanuki/tasks/b.md': task('B'),
      // A depends_on that is itself wrong is that field's problem alone.
      '.tanuki/tasks/c.md': task('C', ['depends_on: {x: 1}']),
    })
    const error = await refused(root)
    expect(error.details.problems).toEqual([
      expect.stringMatching(/^\.tanuki\/tasks\/a\.md: field "priority": is "urgent"/),
      expect.stringMatching(/^\.tanuki\/tasks\/c\.md: field "depends_on"/),
      '.tanuki/tasks/a.md: field "depends_on" names "GHOST", but no task has that id. Fix the id or add the task.',
    ])
  })

  it('says which task files a folder that comes first hides, rather than sending the person to init', async () => {
    const hidden = project({ 'tasks/T1.md': task('T1') })
    mkdirSync(join(hidden, '.tanuki', 'tasks'), { recursive: true })
    const error = await refused(hidden)
    expect(error.code).toBe('TANUKI_NO_TASKS')
    expect(error.message).toBe(
      "No task files in .tanuki/tasks. tasks/ has 1 task file that Tanuki does not read: .tanuki/tasks/ exists and comes first (it has no task files). To use them, move them into .tanuki/tasks/, remove .tanuki/tasks/, or set `tasksDir: 'tasks'` in tanuki.config.ts.",
    )
    // With tasks where they are read, the others are a note of `task validate`.
    const both = project({ '.tanuki/tasks/A.md': task('A'), 'tasks/B.md': task('B') })
    const { tasks, notes } = await checkProject(both)
    expect(tasks.map((t) => t.id)).toEqual(['A'])
    expect(notes).toContain(
      "tasks/ has 1 task file that Tanuki does not read: .tanuki/tasks/ exists and comes first. To use them, move them into .tanuki/tasks/, or set `tasksDir: 'tasks'` in tanuki.config.ts.",
    )
  })

  it('names the id a missing dependency most likely meant', async () => {
    const root = project({
      '.tanuki/tasks/a.md': task('TASK-001'),
      '.tanuki/tasks/p.md': task('P'),
      '.tanuki/tasks/b.md': task('B', ['depends_on: [TASK-01, p, ZZZ]']),
    })
    const error = await refused(root)
    expect(error.details.problems).toEqual([
      '.tanuki/tasks/b.md: field "depends_on" names "TASK-01", but no task has that id (did you mean "TASK-001"?). Fix the id or add the task.',
      '.tanuki/tasks/b.md: field "depends_on" names "p", but no task has that id (did you mean "P"?). Fix the id or add the task.',
      '.tanuki/tasks/b.md: field "depends_on" names "ZZZ", but no task has that id. Fix the id or add the task.',
    ])
  })

  it("asks the backends about every role, the tasks' roles included, along with the tasks' problems", async () => {
    const root = project({
      'tanuki.config.mjs':
        "export default { defaults: { kind: 'shell' }, agents: { qa: { kind: 'command' } }, balancer: 'fastest' }\n",
      '.tanuki/tasks/a.md': task('A', ['role: docs', 'completion:', '  verify: 1']),
      '.tanuki/tasks/b.md': task('B', ['role: qa']),
    })
    const error = await refused(root)
    expect(error.details.problems).toEqual([
      expect.stringMatching(/^\.tanuki\/tasks\/a\.md: field "completion\.verify": must be a string, got 1/),
      expect.stringMatching(/^tanuki\.config\.mjs: agents\.qa: kind "command" needs "command"/),
      expect.stringMatching(/^tanuki\.config\.mjs: config key "balancer" is "fastest"/),
    ])
    // Checking spawned nothing and wrote no state.
    expect(existsSync(join(root, '.tanuki', 'worktrees'))).toBe(false)
    expect(readdirSync(join(root, '.tanuki'))).toEqual(['tasks'])
  })

  it('asks the backends about the roles when the config has problems of its own too, in the same pass', async () => {
    const root = project({
      'tanuki.config.mjs':
        "export default { agnets: {}, cooldownMs: -1, agents: { qa: { kind: 'cluade', count: -1 }, web: { kind: 'shell' } } }\n",
      '.tanuki/tasks/a.md': task('A', ['role: qa']),
    })
    const error = await refused(root)
    expect(error.code).toBe('TANUKI_CONFIG_INVALID')
    expect(error.details.problems).toEqual([
      'tanuki.config.mjs: config key "agents.qa.count" must be a whole number ≥ 0, got -1',
      'tanuki.config.mjs: config key "cooldownMs" must be a number of milliseconds ≥ 0, got -1',
      expect.stringMatching(
        /^tanuki\.config\.mjs: config key "agnets" is not a config key \(did you mean "agents"\?\)/,
      ),
      expect.stringMatching(
        /^tanuki\.config\.mjs: agents\.qa: "kind" is "cluade", not an agent kind \(did you mean "claude"\?\)/,
      ),
    ])
    expect(error.message.split('\n')[0]).toBe('4 problems in the project:')
  })

  it.each([
    [
      '`agents` is not an object',
      "agents: ['qa'], defaults: { kind: 'cluade' }",
      'config key "agents" must map role names',
    ],
    [
      '`defaults` is not an object',
      // A backend that needs an image, which `defaults` was meant to give every role.
      "plugins: [{ name: 'acme:box', setup(ctx) { ctx.registerBackend({ name: 'box', spawn() {}, validateRole({ options }) { if (!options.image) throw new Error('needs an image') } }) } }], " +
        "defaults: ['image'], agents: { qa: { backend: 'box' } }",
      'config key "defaults" must be an object',
    ],
    [
      "a role's entry is not an object",
      "defaults: { kind: 'command' }, agents: { qa: 'shell' }",
      'config key "agents.qa" must be an object',
    ],
    [
      "a role's backend is wrong",
      "agents: { qa: { backend: '', kind: 'x' } }",
      'config key "agents.qa.backend" must be a backend name',
    ],
    [
      '`defaults.backend` is wrong, for the roles without their own',
      "defaults: { backend: 7, kind: 'x' }, agents: { qa: {} }",
      'config key "defaults.backend" must be a backend name',
    ],
    [
      'a plugin is wrong: the backends are not known',
      "plugins: [{ setup() {} }], agents: { qa: { backend: 'docker', kind: 'shell' } }",
      'config key "plugins[0]" must be a plugin object with a name',
    ],
    [
      '`remote` is wrong: the remote backend is not known',
      "remote: { redis: 'http://x' }, agents: { qa: { backend: 'remote' } }",
      'config key "remote.redis" must be a redis:// or rediss:// URL',
    ],
  ])('says nothing more of the roles when %s', async (_, keys, problem) => {
    const root = project({
      'tanuki.config.mjs': `export default { ${keys}, balancer: 'fastest' }\n`,
      '.tanuki/tasks/a.md': task('A', ['role: qa', 'completion:', '  verify: "true"']),
    })
    const error = await refused(root)
    const problems = error.details.problems as string[]
    expect(problems[0]).toContain(`tanuki.config.mjs: ${problem}`)
    // The balancer is not a role's: it is judged whenever the backends are known.
    const known = !/plugin|remote/.test(problem)
    expect(problems.slice(1)).toEqual(
      known ? [expect.stringMatching(/^tanuki\.config\.mjs: config key "balancer" is "fastest"/)] : [],
    )
  })

  it('names a cycle by its path, through tasks with and without dependencies around it', async () => {
    const root = project({
      'tanuki.config.mjs': 'export default {}\n',
      '.tanuki/tasks/0.md': task('FREE'),
      '.tanuki/tasks/1.md': task('C-1', ['depends_on: [LEAF, C-3]']),
      '.tanuki/tasks/2.md': task('C-2', ['depends_on: [C-1]']),
      '.tanuki/tasks/3.md': task('C-3', ['depends_on: [LEAF, C-2]']),
      '.tanuki/tasks/4.md': task('LEAF'),
      '.tanuki/tasks/5.md': task('AFTER', ['depends_on: [C-2, FREE]']),
    })
    const error = await refused(root)
    expect(error.code).toBe('TANUKI_DEPENDENCY_CYCLE')
    expect(error.details.cycle).toEqual(['C-1', 'C-3', 'C-2', 'C-1'])
  })

  it('names every cycle that shares no task with another, in one pass', async () => {
    const root = project({
      'tanuki.config.mjs': 'export default {}\n',
      '.tanuki/tasks/1.md': task('N-3', ['depends_on: [N-4]']),
      '.tanuki/tasks/2.md': task('N-4', ['depends_on: [N-3]']),
      '.tanuki/tasks/3.md': task('F', ['depends_on: [G]']),
      '.tanuki/tasks/4.md': task('G', ['depends_on: [F, N-3]']),
    })
    const error = await refused(root)
    expect(error.details.problems).toEqual([
      expect.stringContaining('Dependency cycle: N-3 -> N-4 -> N-3.'),
      expect.stringContaining('Dependency cycle: F -> G -> F.'),
    ])
  })

  it('checks the tasks in the config like task files', async () => {
    const root = project({
      'tanuki.config.mjs': "export default { tasks: [{ id: '..', title: 'x' }, { id: 'A', title: 'dup' }] }\n",
      '.tanuki/tasks/a.md': task('A'),
    })
    const error = await refused(root)
    expect(error.details.problems).toEqual([
      expect.stringMatching(/^tanuki\.config\.mjs \(tasks\[0\]\): field "id": is ".."/),
      expect.stringMatching(
        /^Task id "A" is used twice: \.tanuki\/tasks\/a\.md and tanuki\.config\.mjs \(tasks\[1\]\)/,
      ),
    ])
  })

  it('notes the tasks a person will review', async () => {
    const root = project({
      'tanuki.config.mjs': "export default { defaults: { kind: 'shell' } }\n",
      '.tanuki/tasks/a.md': task('A'),
      '.tanuki/tasks/b.md': task('B', ['completion:', '  verify: "true"']),
      '.tanuki/tasks/c.md': task('C'),
    })
    const checked = await checkProject(root)
    expect(checked.tasks.map((t) => t.id)).toEqual(['A', 'B', 'C'])
    expect(checked.notes).toEqual([
      '2 tasks without completion criteria, reviewed by a person after one agent run without an error: A, C',
    ])
  })

  it('refuses a usd budget over a codex role without a price, which would never count its spend', async () => {
    const config = (extra: string, role = "{ kind: 'codex' }", head = '') =>
      `${head}export default { defaults: { kind: 'shell' }, agents: { coder: ${role}, ci: {} }${extra} }\n`
    const files = { '.tanuki/tasks/a.md': task('A', ['role: coder']), '.tanuki/tasks/b.md': task('B', ['role: ci']) }
    // The run's budget in dollars.
    const run = await refused(project({ ...files, 'tanuki.config.mjs': config(', budget: { usd: 5 }') }))
    expect(run.details.key).toBe('agents.coder.price')
    expect(run.message).toBe(
      "tanuki.config.mjs: agents.coder: the run's budget.usd would not count this role's spend: its agents report tokens, not dollars. " +
        "Set agents.coder.price to the model's USD per million tokens ({ input, output, cachedInput }), or budget it in tokens only.",
    )
    // The role's own, and a task's; a role that exists through `defaults` only is named so.
    const role = await refused(
      project({ ...files, 'tanuki.config.mjs': config('', "{ kind: 'codex', budget: { usd: 1 } }") }),
    )
    expect(role.message).toContain('agents.coder: agents.coder.budget.usd would not count')
    const byTask = await refused(
      project({
        'tanuki.config.mjs': "export default { defaults: { kind: 'codex' } }\n",
        '.tanuki/tasks/a.md': task('A', ['budget: { usd: 0.5 }']),
      }),
    )
    expect(byTask.message).toContain(
      'role "default" (from defaults): the budget.usd of task A, in .tanuki/tasks/a.md, would not count',
    )
    expect(byTask.details.key).toBe('defaults.price')
    // A price, from the role or from the backend's plugin, or a budget of tokens: all is well. So
    // is a budget in `defaults`, which core does not apply.
    const accepted = async (text: string) =>
      (await checkProject(project({ ...files, 'tanuki.config.mjs': text }))).tasks.map((t) => t.id)
    expect(
      await accepted(config(', budget: { usd: 5 }', "{ kind: 'codex', price: { input: 1.25, output: 10 } }")),
    ).toEqual(['A', 'B'])
    expect(
      await accepted(
        config(
          ', budget: { usd: 5 }, plugins: [processAgents({ price: { input: 1, output: 2 } })]',
          undefined,
          "import { processAgents } from 'tanuki'\n",
        ),
      ),
    ).toEqual(['A', 'B'])
    expect(await accepted(config(', budget: { tokens: 100000 }'))).toEqual(['A', 'B'])
    expect(
      await accepted("export default { defaults: { kind: 'codex', budget: { usd: 1 } }, agents: { coder: {} } }\n"),
    ).toEqual(['A', 'B'])
    // A backend of another name, from the same plugin, is asked all the same.
    const renamed = await refused(
      project({
        ...files,
        'tanuki.config.mjs': config(
          ", budget: { usd: 5 }, plugins: [processAgents({ name: 'box' })]",
          "{ backend: 'box', kind: 'codex' }",
          "import { processAgents } from 'tanuki'\n",
        ),
      }),
    )
    expect(renamed.message).toContain("agents.coder: the run's budget.usd would not count")
  })

  it('refuses a task role that is a near miss of a listed one, which would get the defaults’ (paid) agents', async () => {
    const error = await refused(
      project({
        'tanuki.config.mjs': "export default { agents: { writer: { kind: 'shell' } } }\n",
        '.tanuki/tasks/a.md': task('A', ['role: writter', 'completion:', '  verify: "true"']),
        '.tanuki/tasks/b.md': task('B', ['role: writter', 'completion:', '  verify: "true"']),
      }),
    )
    expect(error.message).toBe(
      '.tanuki/tasks/a.md: field "role": "writter" is not a role in agents (did you mean "writer"?). ' +
        'Its tasks would get agents of `defaults` instead. Fix the role, or add agents.writter to the config.',
    )
    // A role far from every listed one is served by `defaults`, as documented.
    const other = await checkProject(
      project({
        'tanuki.config.mjs': "export default { defaults: { kind: 'shell' }, agents: { writer: {} } }\n",
        '.tanuki/tasks/a.md': task('A', ['role: reviewer', 'completion:', '  verify: "true"']),
      }),
    )
    expect(other.tasks.map((t) => t.role)).toEqual(['reviewer'])
    // Short roles are words people type: one slip, or the start of a listed one, is a near miss.
    const short = await refused(
      project({
        'tanuki.config.mjs': "export default { agents: { docs: { kind: 'shell' }, qa: { kind: 'shell' } } }\n",
        '.tanuki/tasks/a.md': task('A', ['role: doc', 'completion:', '  verify: "true"']),
        '.tanuki/tasks/b.md': task('B', ['role: qe', 'completion:', '  verify: "true"']),
      }),
    )
    expect(short.message).toContain(
      '.tanuki/tasks/a.md: field "role": "doc" is not a role in agents (did you mean "docs"?)',
    )
    expect(short.message).toContain(
      '.tanuki/tasks/b.md: field "role": "qe" is not a role in agents (did you mean "qa"?)',
    )
    const far = await checkProject(
      project({
        'tanuki.config.mjs': "export default { defaults: { kind: 'shell' }, agents: { qa: {}, backend: {} } }\n",
        '.tanuki/tasks/a.md': task('A', ['role: ui', 'completion:', '  verify: "true"']),
        '.tanuki/tasks/b.md': task('B', ['role: be', 'completion:', '  verify: "true"']),
      }),
    )
    expect(far.tasks.map((t) => t.role)).toEqual(['ui', 'be'])
  })

  it('names the import and plugin call for the Docker backend when the config lacks its plugin', async () => {
    const error = await refused(
      project({
        'tanuki.config.mjs': "export default { agents: { qa: { backend: 'docker', image: 'x' } } }\n",
        '.tanuki/tasks/a.md': task('A', ['role: qa', 'completion:', '  verify: "true"']),
      }),
    )
    expect(error.message).toContain('config key "agents.qa.backend" is "docker", but no plugin registered that backend')
    expect(error.message).toContain(
      "The docker backend comes with @tanuki/plugin-agent-docker: add `import { dockerAgents } from '@tanuki/plugin-agent-docker'` " +
        'to the config and `dockerAgents()` to its `plugins`.',
    )
  })

  it('refuses a project with no tasks, once everything else is fine', async () => {
    const error = await refused(project({ 'tanuki.config.mjs': 'export default {}\n' }))
    expect(error.code).toBe('TANUKI_NO_TASKS')
  })
})
