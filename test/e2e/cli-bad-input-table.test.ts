// Bad input of every kind — task files, configs, command lines — run through the real CLI: each is
// refused with a non-zero exit, one message naming the file (or id, or command) and the field (or
// key, or option), a stable error code and no stack trace; and not one file of the project changes.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { engineProblem } from '../../packages/plugin-agent-docker/test/helpers.ts'
import { TANUKI_BIN, cleanup, configFor, createProject, snapshotFiles, taskText, type CliResult } from './helpers.ts'

// The cases run a few at a time (each in a project of its own, each CLI run awaited): cleaned up at the end.
afterAll(cleanup)

/** Runs the CLI with exactly these arguments (no `--cwd` added), from `cwd`. */
function run(cwd: string, args: string[]): Promise<CliResult> {
  const child = spawn(TANUKI_BIN, args, {
    cwd,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })))
}

const fm = (yaml: string, body = 'Do it.\n'): string => `---\n${yaml}\n---\n${body}`
const ok = (id: string, lines: string[] = []): string =>
  fm([`id: ${id}`, `title: Task ${id}`, ...lines, 'completion:', '  verify: "true"'].join('\n'))
const good = taskText({ id: 'OK-1', sh: 'touch ok.txt', verify: 'test -f ok.txt' })
const T = '.tanuki/tasks'
const config = (body: string, imports = ''): string =>
  `import { defineConfig } from 'tanuki'\n${imports}\nexport default defineConfig(${body})\n`
const shell = "defaults: { backend: 'process', kind: 'shell' }"

interface BadInput {
  name: string
  /** Files of the project (besides a good task), by path from its root. */
  files?: Record<string, string | Buffer>
  /** The config file's text; default: shell agents. */
  config?: string
  /** Command lines run from the project folder; each must be refused. Default: validate and start. */
  runs?: string[][]
  /** Every one must appear in the message. */
  mentions: string[]
  /** None may appear in it: follow-ons of a problem already named. */
  lacks?: string[]
  /** Needs a reachable Docker engine. */
  docker?: boolean
}

const validateAndStart = [
  ['task', 'validate'],
  ['project', 'start'],
]

const taskFiles: BadInput[] = [
  {
    name: 'malformed YAML',
    files: { [`${T}/a.md`]: fm('id: [A\ntitle: A') },
    mentions: [`${T}/a.md`, 'YAML', '(line 3)'],
  },
  { name: 'no id', files: { [`${T}/a.md`]: fm('title: A') }, mentions: [`${T}/a.md`, 'field "id"', 'missing'] },
  { name: 'id "."', files: { [`${T}/a.md`]: fm('id: "."\ntitle: A') }, mentions: [`${T}/a.md`, 'field "id"', '"."'] },
  {
    name: 'id ".."',
    files: { [`${T}/a.md`]: fm('id: ".."\ntitle: A') },
    mentions: [`${T}/a.md`, 'field "id"', '".."'],
  },
  {
    name: 'id with a path',
    files: { [`${T}/a.md`]: fm('id: ../escape\ntitle: A') },
    mentions: [`${T}/a.md`, 'field "id"', '"../escape"'],
  },
  {
    name: 'id with a space',
    files: { [`${T}/a.md`]: fm('id: my task\ntitle: A') },
    mentions: [`${T}/a.md`, 'field "id"', 'no spaces'],
  },
  { name: 'no title', files: { [`${T}/a.md`]: fm('id: A') }, mentions: [`${T}/a.md`, 'field "title"', 'missing'] },
  {
    name: 'title as a mapping',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: { x: 1 }') },
    mentions: [`${T}/a.md`, 'field "title"', '{"x":1}'],
  },
  {
    name: 'unknown priority',
    files: { [`${T}/a.md`]: ok('A', ['priority: urgent']) },
    mentions: [`${T}/a.md`, 'field "priority"', '"urgent"', 'allowed: critical, high, medium, low'],
  },
  {
    name: 'unknown status',
    files: { [`${T}/a.md`]: ok('A', ['status: done']) },
    mentions: [`${T}/a.md`, 'field "status"', '"done"'],
  },
  {
    name: 'role that climbs out of its folder',
    files: { [`${T}/a.md`]: ok('A', ['role: ../../x']) },
    mentions: [`${T}/a.md`, 'field "role"', '"../../x"'],
  },
  {
    name: 'role starting with a dot',
    files: { [`${T}/a.md`]: ok('A', ['role: .hidden']) },
    mentions: [`${T}/a.md`, 'field "role"', '".hidden"'],
  },
  {
    name: 'role with a space',
    files: { [`${T}/a.md`]: ok('A', ['role: web team']) },
    mentions: [`${T}/a.md`, 'field "role"', '"web team"'],
  },
  {
    name: 'depends-on',
    files: { [`${T}/a.md`]: ok('A', ['depends-on: [OK-1]']) },
    mentions: [`${T}/a.md`, 'field "depends-on"', 'did you mean "depends_on"?'],
  },
  {
    name: 'dependsOn',
    files: { [`${T}/a.md`]: ok('A', ['dependsOn: [OK-1]']) },
    mentions: [`${T}/a.md`, 'field "dependsOn"', 'did you mean "depends_on"?'],
  },
  {
    name: 'titel',
    files: { [`${T}/a.md`]: ok('A', ['titel: A']) },
    mentions: [`${T}/a.md`, 'field "titel"', 'did you mean "title"?'],
  },
  {
    name: 'prority',
    files: { [`${T}/a.md`]: ok('A', ['prority: high']) },
    mentions: [`${T}/a.md`, 'field "prority"', 'did you mean "priority"?'],
  },
  {
    name: 'completion.max_iteration',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion:\n  verify: "true"\n  max_iteration: 3') },
    mentions: [`${T}/a.md`, 'field "completion.max_iteration"', 'did you mean "completion.max_iterations"?'],
  },
  {
    name: 'completion.verfy',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion:\n  signal: S\n  verfy: make') },
    mentions: [`${T}/a.md`, 'field "completion.verfy"', 'did you mean "completion.verify"?'],
  },
  {
    name: 'verify as a number',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion:\n  verify: 0') },
    mentions: [`${T}/a.md`, 'field "completion.verify"', 'must be a string, got 0'],
  },
  {
    name: 'signal as a number',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion:\n  signal: 42') },
    mentions: [`${T}/a.md`, 'field "completion.signal"', 'must be a string, got 42'],
  },
  {
    name: 'signal as a boolean',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion:\n  signal: true') },
    mentions: [`${T}/a.md`, 'field "completion.signal"', 'must be a string, got true'],
  },
  {
    name: 'max_iterations 0',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion:\n  signal: S\n  max_iterations: 0') },
    mentions: [`${T}/a.md`, 'field "completion.max_iterations"', 'is 0'],
  },
  {
    name: 'max_iterations 1001',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion:\n  signal: S\n  max_iterations: 1001') },
    mentions: [`${T}/a.md`, 'field "completion.max_iterations"', 'up to 1000'],
  },
  {
    name: 'max_iterations .inf',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion:\n  signal: S\n  max_iterations: .inf') },
    mentions: [`${T}/a.md`, 'field "completion.max_iterations"', 'infinite (.inf)'],
  },
  {
    name: 'max_iterations .nan',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion:\n  signal: S\n  max_iterations: .nan') },
    mentions: [`${T}/a.md`, 'field "completion.max_iterations"', 'not a number (.nan)'],
  },
  {
    name: 'max_iterations as text',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion:\n  signal: S\n  max_iterations: "5"') },
    mentions: [`${T}/a.md`, 'field "completion.max_iterations"', 'is "5"'],
  },
  {
    name: 'completion as a string',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion: make test') },
    mentions: [`${T}/a.md`, 'field "completion"', '"make test"'],
  },
  {
    name: 'completion with neither verify nor signal',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion:\n  max_iterations: 3') },
    mentions: [`${T}/a.md`, 'field "completion"', 'neither "verify" nor "signal"'],
  },
  {
    name: 'depends_on as a mapping',
    files: { [`${T}/a.md`]: ok('A', ['depends_on: { OK-1: true }']) },
    mentions: [`${T}/a.md`, 'field "depends_on"', 'list of strings'],
  },
  {
    name: 'depends_on naming the task itself',
    files: { [`${T}/a.md`]: ok('A', ['depends_on: [A]']) },
    mentions: [`${T}/a.md`, 'field "depends_on"', 'the task itself (A)'],
  },
  {
    name: 'an unknown dependency',
    files: { [`${T}/a.md`]: ok('A', ['depends_on: [GHOST-9]']) },
    mentions: [`${T}/a.md`, 'field "depends_on"', '"GHOST-9"'],
  },
  {
    name: 'a duplicate id',
    files: { [`${T}/a.md`]: ok('DUP'), [`${T}/deep/b.md`]: ok('DUP') },
    mentions: ['"DUP"', `${T}/a.md`, `${T}/deep/b.md`],
  },
  {
    name: 'a cycle',
    files: {
      [`${T}/c1.md`]: ok('CYC-1', ['depends_on: [CYC-2]']),
      [`${T}/c2.md`]: ok('CYC-2', ['depends_on: [CYC-1]']),
    },
    mentions: ['cycle', 'CYC-1', 'CYC-2', 'depends_on'],
  },
  {
    name: 'tags not strings',
    files: { [`${T}/a.md`]: ok('A', ['tags: [[x]]']) },
    mentions: [`${T}/a.md`, 'field "tags"', 'list of strings'],
  },
  {
    name: 'budget as a number',
    files: { [`${T}/a.md`]: ok('A', ['budget: 5']) },
    mentions: [`${T}/a.md`, 'field "budget"', 'usd, tokens'],
  },
  {
    name: 'budget.usd below 0',
    files: { [`${T}/a.md`]: ok('A', ['budget: { usd: -1 }']) },
    mentions: [`${T}/a.md`, 'field "budget.usd"', '-1'],
  },
  {
    name: 'budget.token',
    files: { [`${T}/a.md`]: ok('A', ['budget: { token: 5 }']) },
    mentions: [`${T}/a.md`, 'field "budget.token"', 'did you mean "budget.tokens"?'],
  },
  {
    name: 'iterations below 0',
    files: { [`${T}/a.md`]: ok('A', ['iterations: -1']) },
    mentions: [`${T}/a.md`, 'field "iterations"', '-1'],
  },
  {
    name: 'no front matter',
    files: { [`${T}/a.md`]: '# Just Markdown\n' },
    mentions: [`${T}/a.md`, 'no YAML front matter'],
  },
  {
    name: 'front matter never closed',
    files: { [`${T}/a.md`]: '---\nid: A\ntitle: A\n' },
    mentions: [`${T}/a.md`, 'never closed'],
  },
  {
    name: 'front matter that is a list',
    files: { [`${T}/a.md`]: fm('- id: A') },
    mentions: [`${T}/a.md`, 'mapping of fields'],
  },
  {
    name: 'bytes that are not UTF-8',
    files: {
      [`${T}/a.md`]: Buffer.concat([
        Buffer.from('---\nid: A\ntitle: Caf'),
        Buffer.from([0xe9]),
        Buffer.from('\ncompletion:\n  verify: "true"\n---\n'),
      ]),
    },
    mentions: [`${T}/a.md`, 'not UTF-8', 'line 3'],
  },
  {
    name: 'an alias on a key Tanuki writes',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\nbase: &b pending\nstatus: *b\ncompletion:\n  verify: "true"') },
    mentions: [`${T}/a.md`, 'field "status"', 'plain value'],
  },
  {
    name: 'content after the fields',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ncompletion:\n  verify: "true"\n...') },
    mentions: [`${T}/a.md`, 'more after its fields'],
  },
  {
    name: 'a key given twice',
    files: { [`${T}/a.md`]: fm('id: A\ntitle: A\ntitle: B') },
    mentions: [`${T}/a.md`, 'YAML', 'line 4'],
  },
  {
    name: 'flow-style front matter with a bad priority',
    files: { [`${T}/a.md`]: fm('{id: A, title: A, priority: urgent, completion: {verify: "true"}}') },
    mentions: [`${T}/a.md`, 'field "priority"', '"urgent"'],
  },
]

const configs: BadInput[] = [
  { name: 'a config that exports nothing', config: '', mentions: ['tanuki.config.ts', 'exports nothing'] },
  {
    name: 'a config that exports a number',
    config: 'export default 42\n',
    mentions: ['tanuki.config.ts', 'exports a number (42)'],
  },
  {
    name: 'a config with only named exports',
    config: 'export const agents = {}\n',
    mentions: ['tanuki.config.ts', 'no default export', 'agents'],
  },
  {
    name: 'a config with a syntax error',
    config: 'export default defineConfig({ agents: {\n',
    // init reads the config's tasksDir: it refuses one it cannot read before writing anything.
    runs: [...validateAndStart, ['init']],
    mentions: ['tanuki.config.ts:2:1: syntax error at the end of the file (line 2)', 'never closed'],
  },
  {
    name: 'a config with a missing comma',
    config: config(`{\n  ${shell}\n  agents: { default: { count: 1 } },\n}`),
    mentions: [
      'tanuki.config.ts:5:3: syntax error at line 5, column 3: Unexpected token, expected ","',
      'often a missing or extra comma',
      `  4 |   ${shell}\n> 5 |   agents: { default: { count: 1 } },\n    |   ^\n`,
    ],
  },
  {
    name: 'a config that throws',
    config: "throw new Error('boom from config')\n",
    mentions: ['tanuki.config.ts:1: could not be loaded: boom from config (at line 1)'],
  },
  {
    name: 'a config that reads a property of undefined',
    config: config('{ name: env.NAME }', 'const env: any = undefined'),
    mentions: [
      "tanuki.config.ts:3: could not be loaded: TypeError: Cannot read properties of undefined (reading 'NAME')",
      '> 3 | export default',
    ],
  },
  {
    name: 'agnets',
    config: config(`{ ${shell}, agnets: { default: { count: 1 } } }`),
    mentions: ['tanuki.config.ts', 'config key "agnets"', 'did you mean "agents"?'],
  },
  {
    name: 'iterationTimeoutMs: 0',
    config: config(`{ ${shell}, iterationTimeoutMs: 0 }`),
    mentions: ['tanuki.config.ts', 'config key "iterationTimeoutMs"', '> 0, got 0'],
  },
  {
    name: 'verifyTimeoutMs: 0',
    config: config(`{ ${shell}, verifyTimeoutMs: 0 }`),
    mentions: ['tanuki.config.ts', 'config key "verifyTimeoutMs"', '> 0, got 0'],
  },
  {
    name: 'pollIntervalMs: 0',
    config: config(`{ ${shell}, pollIntervalMs: 0 }`),
    mentions: ['tanuki.config.ts', 'config key "pollIntervalMs"', '> 0, got 0'],
  },
  {
    name: 'cooldownMs below 0',
    config: config(`{ ${shell}, cooldownMs: -1 }`),
    mentions: ['tanuki.config.ts', 'config key "cooldownMs"', '-1'],
  },
  {
    name: 'a negative count',
    config: config(`{ ${shell}, agents: { default: { count: -1 } } }`),
    mentions: ['tanuki.config.ts', 'config key "agents.default.count"', 'whole number ≥ 0, got -1'],
  },
  {
    name: 'a count that is not whole',
    config: config(`{ ${shell}, agents: { default: { count: 1.5 } } }`),
    mentions: ['tanuki.config.ts', 'config key "agents.default.count"', '1.5'],
  },
  {
    name: 'an unknown agent kind',
    config: config(`{ agents: { default: { backend: 'process', kind: 'cluade' } } }`),
    mentions: ['tanuki.config.ts', 'agents.default', '"kind" is "cluade"', 'did you mean "claude"?'],
  },
  {
    name: 'a usd budget over codex agents without a price',
    config: config(`{ budget: { usd: 5 }, agents: { default: { backend: 'process', kind: 'codex' } } }`),
    mentions: ['tanuki.config.ts', "agents.default: the run's budget.usd would not count", 'Set agents.default.price'],
  },
  {
    name: 'a codex price with a near miss of a key',
    config: config(`{ agents: { default: { backend: 'process', kind: 'codex', price: { inptu: 3, output: 15 } } } }`),
    mentions: ['tanuki.config.ts', 'agents.default', '"price.inptu" is not a price (did you mean "input"?)'],
  },
  {
    name: 'a command kind without its argv',
    config: config(`{ agents: { default: { backend: 'process', kind: 'command' } } }`),
    mentions: ['tanuki.config.ts', 'agents.default', 'kind "command" needs "command"'],
  },
  {
    name: 'a near miss of a role option',
    config: config(`{ agents: { default: { kind: 'shell', comand: ['x'] } } }`),
    mentions: ['tanuki.config.ts', 'agents.default.comand', 'did you mean "command"?'],
  },
  {
    name: 'a near miss of a role option in defaults',
    config: config(`{ defaults: { kind: 'shell', comand: ['x'] }, agents: { default: {}, qa: {} } }`),
    mentions: ['tanuki.config.ts', 'defaults.comand', 'did you mean "command"?'],
    // Said once, where it was typed, not as each role's.
    lacks: ['agents.default.comand', 'agents.qa.comand'],
  },
  {
    name: 'an unknown backend',
    config: config(`{ agents: { default: { backend: 'dokcer', kind: 'shell' } } }`),
    mentions: ['tanuki.config.ts', 'config key "agents.default.backend" is "dokcer"', 'registered: process'],
  },
  {
    name: 'an unknown balancer',
    config: config(`{ ${shell}, balancer: 'round-robbin' }`),
    mentions: ['tanuki.config.ts', 'config key "balancer"', 'did you mean "round-robin"?'],
  },
  {
    name: 'a role name that climbs out of its folder',
    config: config(`{ ${shell}, agents: { '../../x': { count: 1 } } }`),
    mentions: ['tanuki.config.ts', 'config key "agents.../../x"', 'not a valid role'],
  },
  {
    name: 'an empty tasksDir',
    config: config(`{ ${shell}, tasksDir: '' }`),
    mentions: ['tanuki.config.ts', 'config key "tasksDir"'],
  },
  {
    name: 'an unknown landing strategy',
    config: config(`{ ${shell}, land: { strategy: 'octopus' } }`),
    mentions: ['tanuki.config.ts', 'config key "land.strategy"', '"octopus"'],
  },
  {
    name: 'agents that is a list',
    config: config(`{ ${shell}, agents: ['web'] }`),
    mentions: ['tanuki.config.ts', 'config key "agents"', 'must map role names'],
  },
  {
    name: 'agents that is a list, and nothing said of the roles it would have had',
    config: config(`{ defaults: { backend: 'process', kind: 'command' }, agents: ['web'] }`),
    mentions: ['tanuki.config.ts: config key "agents" must map role names'],
    lacks: ['needs "command"', 'problems in the project'],
  },
  {
    name: 'a misspelt key and a bad role option, both in one run',
    config: config(`{ agnets: {}, agents: { default: { backend: 'process', kind: 'cluade' } } }`),
    mentions: [
      '2 problems in the project:',
      '  - tanuki.config.ts: config key "agnets" is not a config key (did you mean "agents"?)',
      '  - tanuki.config.ts: agents.default: "kind" is "cluade", not an agent kind (did you mean "claude"?)',
    ],
  },
  {
    name: 'a plugin without a name',
    config: config(`{ ${shell}, plugins: [{ setup() {} }] }`),
    mentions: ['tanuki.config.ts', 'config key "plugins[0]"', 'plugin object with a name'],
  },
  {
    name: 'a task in the config with a bad id',
    config: config(`{ ${shell}, tasks: [{ id: '..', title: 'X' }] }`),
    mentions: ['tanuki.config.ts (tasks[0])', 'field "id"', '".."'],
  },
  {
    name: 'a Docker role whose image the engine does not have',
    config: config(
      `{ plugins: [dockerAgents()], agents: { default: { backend: 'docker', image: 'tanuki-no-such-image:never', kind: 'shell' } } }`,
      "import { dockerAgents } from '@tanuki/plugin-agent-docker'",
    ),
    mentions: ['tanuki.config.ts', 'agents.default', 'Docker image "tanuki-no-such-image:never" is not on the engine'],
    docker: true,
  },
]

const commandLines: BadInput[] = [
  {
    name: 'project start --dry-run',
    runs: [['project', 'start', '--dry-run']],
    mentions: ['tanuki project start: ', 'unknown option "--dry-run"'],
  },
  {
    name: 'project start --wacth',
    runs: [['project', 'start', '--wacth']],
    mentions: ['tanuki project start: ', '"--wacth"', 'did you mean "--watch"?'],
  },
  {
    name: 'project start -x',
    runs: [['project', 'start', '-x']],
    mentions: ['tanuki project start: ', 'unknown option "-x"'],
  },
  {
    name: 'task list with an extra argument',
    runs: [['task', 'list', 'extra']],
    mentions: ['tanuki task list: ', 'unexpected argument "extra"'],
  },
  {
    name: 'task validate --verbose',
    runs: [['task', 'validate', '--verbose']],
    mentions: ['tanuki task validate: ', 'unknown option "--verbose"'],
  },
  {
    name: 'project status --json twice',
    runs: [['project', 'status', '--json', '--json']],
    mentions: ['tanuki project status: ', '"--json" is given twice'],
  },
  {
    name: 'project start --watch=yes',
    runs: [['project', 'start', '--watch=yes']],
    mentions: ['tanuki project start: ', '"--watch"', 'takes no value'],
  },
  { name: 'task show without an id', runs: [['task', 'show']], mentions: ['tanuki task show: ', 'needs ID'] },
  {
    name: 'an unknown command',
    runs: [['projct', 'status']],
    mentions: ['unknown command "projct"', 'did you mean "project"?'],
  },
  {
    name: 'a mistyped short command',
    runs: [['tsk', 'list']],
    mentions: ['tanuki: unknown command "tsk" (did you mean "task"?); commands: init, project, task', 'tanuki --help'],
  },
  {
    name: 'a mistyped short subcommand',
    runs: [['task', 'lst']],
    mentions: ['tanuki task: unknown command "lst" (did you mean "list"?)', 'tanuki task --help'],
  },
  {
    name: 'a mistyped short option',
    runs: [['project', 'status', '--jsn']],
    mentions: [
      'tanuki project status: unknown option "--jsn" (did you mean "--json"?)',
      'tanuki project status --help',
    ],
  },
  {
    name: 'the start of an option',
    runs: [['project', 'start', '--verb']],
    mentions: ['unknown option "--verb" (did you mean "--verbose"?)'],
  },
  {
    name: 'an option no option of the command is close to',
    runs: [['project', 'start', '--jsn']],
    mentions: [
      'tanuki project start: unknown option "--jsn"; its options: --cwd, --quiet',
      'tanuki project start --help',
    ],
    lacks: ['did you mean'],
  },
  {
    name: 'an option before the command that is not global',
    runs: [['--watch', 'project', 'start']],
    mentions: ['option "--watch" goes after the command it is for, e.g. `tanuki project start --watch`'],
  },
  {
    name: 'logs ../../..',
    runs: [['logs', '../../..']],
    mentions: ['tanuki logs', '"../../.."', 'task id or agent name'],
  },
  { name: 'logs .', runs: [['logs', '.']], mentions: ['tanuki logs', '"."', 'task id or agent name'] },
  { name: "logs ''", runs: [['logs', '']], mentions: ['tanuki logs', 'task id or agent name', 'non-empty'] },
  { name: 'logs a/b', runs: [['logs', 'a/b']], mentions: ['tanuki logs', '"a/b"', 'path separators'] },
  {
    name: '--cwd to a missing folder, after the command',
    runs: [['project', 'status', '--cwd', 'no-such-folder']],
    mentions: ['--cwd "no-such-folder"', 'there is no folder'],
  },
  {
    name: '--cwd to a missing folder, before the command',
    runs: [['--cwd', 'no-such-folder', 'task', 'validate']],
    mentions: ['--cwd "no-such-folder"', 'there is no folder'],
  },
  {
    name: '--cwd to a file',
    runs: [
      ['task', 'list', '--cwd', 'tanuki.config.ts'],
      ['project', 'start', '--cwd', 'tanuki.config.ts'],
    ],
    mentions: ['--cwd "tanuki.config.ts"', 'is a file, not a folder'],
  },
  {
    name: 'init --cwd to a missing folder',
    runs: [['init', '--cwd', 'new-project']],
    mentions: ['--cwd "new-project"', 'there is no folder'],
  },
  {
    name: '--cwd without a value',
    runs: [['project', 'status', '--cwd']],
    mentions: ['tanuki project status: ', '"--cwd" needs a value'],
  },
]

const withDocker = (await engineProblem()) === undefined
const cases = [...taskFiles, ...configs, ...commandLines].filter((c) => !c.docker || withDocker)

describe('bad input, table-driven', () => {
  it('has at least 60 cases', () => {
    expect(taskFiles.length + configs.length + commandLines.length).toBeGreaterThanOrEqual(60)
  })

  it.concurrent.for(cases)(
    '$name: refused, naming where and what; nothing in the project changes',
    async (bad, { expect }) => {
      const project = createProject({
        git: false,
        config: bad.config ?? configFor({ default: 1 }),
        // The last run's summary must survive a refused start.
        files: {
          [`${T}/OK-1.md`]: good,
          '.tanuki/summary.md': '# The last run\n',
          ...Object.fromEntries(Object.entries(bad.files ?? {})),
        } as Record<string, string>,
      })
      const before = snapshotFiles(project.dir)
      for (const args of bad.runs ?? validateAndStart) {
        const result = await run(project.dir, args)
        const what = `tanuki ${args.join(' ')}`
        expect(result.code, `${what}\n${result.stdout}\n${result.stderr}`).not.toBe(0)
        // "tanuki: …", or a usage error's "tanuki project start: …", and the name only once.
        expect(result.stderr, what).toMatch(/^tanuki[ :]/)
        expect(result.stderr, what).not.toMatch(/^tanuki: tanuki[ :]/)
        for (const mention of bad.mentions) expect(result.stderr, what).toContain(mention)
        for (const followOn of bad.lacks ?? []) expect(result.stderr, what).not.toContain(followOn)
        expect(result.stderr, what).toMatch(/\(error code: TANUKI_[A-Z_]+\)\n$/)
        // One clear message, not a stack trace.
        expect(result.stderr, what).not.toMatch(/\n\s+at /)
        // A refused start prints no empty "0 of 0" summary.
        expect(result.stdout, what).not.toContain('0 of 0')
      }
      expect(snapshotFiles(project.dir)).toEqual(before)
      expect(existsSync(join(project.dir, 'new-project'))).toBe(false)
    },
  )
})

describe('a refusal of a command asked for --json', () => {
  it('is one JSON document on stdout too, { error: { code, message } }, with the same message on stderr', async () => {
    const project = createProject({
      git: false,
      config: config(`{ agnets: {}, ${shell} }`),
      files: { [`${T}/OK-1.md`]: good },
    })
    const said = 'tanuki.config.ts: config key "agnets" is not a config key (did you mean "agents"?)'
    for (const args of [
      ['project', 'status', '--json'],
      ['task', 'list', '--json'],
      ['land', '--json'],
    ]) {
      const result = await run(project.dir, args)
      const what = `tanuki ${args.join(' ')}`
      expect(result.code, what).toBe(1)
      expect(result.stderr, what).toContain(`tanuki: ${said}`)
      const printed = JSON.parse(result.stdout) as { error: { code: string; message: string } }
      expect(printed.error.code, what).toBe('TANUKI_CONFIG_INVALID')
      expect(printed.error.message, what).toContain(said)
    }
    // Refused before the command runs (a mistyped option): the same, however --json is spelt.
    for (const json of ['--json', '--json=true']) {
      const usage = await run(project.dir, ['project', 'status', '--jsn', json])
      expect(usage.code).toBe(1)
      expect(JSON.parse(usage.stdout)).toEqual({
        error: {
          code: 'TANUKI_USAGE',
          message: expect.stringContaining('unknown option "--jsn" (did you mean "--json"?)'),
        },
      })
    }
    expect((await run(project.dir, ['project', 'status', '--jsn', '--json', '--no-json'])).stdout).toBe('')
    // Without --json, stdout stays empty.
    expect((await run(project.dir, ['task', 'list'])).stdout).toBe('')
  })
})
