import * as v from 'valibot'
import { landingMessageProblem } from '../land/message.ts'
import { nameProblem } from '../names/index.ts'
import { didYouMean } from '../names/suggest.ts'

/** One thing wrong with a config: the key (dotted path), what is wrong, and the value found. */
export interface ConfigProblem {
  key: string
  /** The key as a path (`['agents', 'web', 'count']`, `['plugins', 0]`); `[]` for the config itself. */
  path: readonly (string | number)[]
  message: string
  value: unknown
}

/** Every top-level key a config may have. Public: a key outside this list is refused. */
export const CONFIG_KEYS = [
  'name',
  'tasksDir',
  'tasks',
  'agents',
  'defaults',
  'balancer',
  'plugins',
  'cooldownMs',
  'maxCooldownMs',
  'retryLimit',
  'iterationTimeoutMs',
  'verifyTimeoutMs',
  'pollIntervalMs',
  'stopWhenSettled',
  'maxRespawns',
  'land',
  'budget',
  'maxAgents',
  'stallTimeoutMs',
  'remote',
  'mirrorStatus',
  'sameFailureLimit',
  'worktreesDir',
] as const

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

// Each check carries the words people read after `config key "…"`; the value found is added to it.
const wholeNumber = v.pipe(
  v.number('must be a whole number ≥ 0'),
  v.integer('must be a whole number ≥ 0'),
  v.minValue(0, 'must be a whole number ≥ 0'),
)
const durationFrom0 = v.pipe(
  v.number('must be a number of milliseconds ≥ 0'),
  v.finite('must be a number of milliseconds ≥ 0'),
  v.minValue(0, 'must be a number of milliseconds ≥ 0'),
)
// A timeout or interval of 0 would end every iteration at once or spin the poll loop.
const durationAbove0 = v.pipe(
  v.number('must be a number of milliseconds > 0'),
  v.finite('must be a number of milliseconds > 0'),
  v.gtValue(0, 'must be a number of milliseconds > 0'),
)
const nonEmpty = (what: string) => v.pipe(v.string(`must be ${what}`), v.minLength(1, `must be ${what}`))
const mapping = (message: string) => v.custom<Record<string, unknown>>(isObject, message)

const countFrom1 = v.pipe(
  v.number('must be a whole number ≥ 1'),
  v.integer('must be a whole number ≥ 1'),
  v.minValue(1, 'must be a whole number ≥ 1'),
)
const amount = v.pipe(
  v.number('must be a number ≥ 0'),
  v.finite('must be a number ≥ 0'),
  v.minValue(0, 'must be a number ≥ 0'),
)
/** What may be spent: `{ usd, tokens }`, each optional. */
const budgetSchema = v.pipe(
  mapping('must be { usd, tokens }'),
  v.strictObject({ usd: v.optional(amount), tokens: v.optional(amount) }, 'must be { usd, tokens }'),
)

const role = (what: string) =>
  v.pipe(
    mapping(`must be ${what}`),
    v.looseObject({
      backend: v.optional(nonEmpty('a backend name')),
      count: v.optional(wholeNumber),
      budget: v.optional(budgetSchema),
      setup: v.optional(
        v.custom(
          (value) => value === false || (typeof value === 'string' && value.trim() !== ''),
          'must be a shell command (a non-empty string), or false for none',
        ),
      ),
    }),
  )

/** `land`'s options, checked when `land` is an object. */
const landSchema = v.looseObject({
  auto: v.optional(v.boolean('must be true or false')),
  into: v.optional(nonEmpty('a non-empty string')),
  strategy: v.optional(v.picklist(['squash', 'merge', 'rebase'], 'must be "squash", "merge" or "rebase"')),
  verify: v.optional(nonEmpty('a non-empty string')),
  push: v.optional(nonEmpty('a non-empty string')),
  message: v.optional(
    v.union(
      [v.string(), v.custom((value) => typeof value === 'function')],
      'must be a template string (`feat: {title}`) or a function of the task returning the message',
    ),
  ),
})

const configSchema = v.pipe(
  mapping('must be an object (export default defineConfig({...}))'),
  v.looseObject({
    name: v.optional(nonEmpty('a non-empty string')),
    tasksDir: v.optional(nonEmpty('a path string')),
    tasks: v.optional(
      v.array(v.unknown(), (issue) =>
        typeof issue.input === 'string'
          ? `must be a list of tasks written in code; the folder of task files is \`tasksDir: ${JSON.stringify(issue.input)}\``
          : 'must be a list of tasks',
      ),
    ),
    agents: v.optional(
      v.pipe(mapping('must map role names to { backend, count, … }'), v.record(v.string(), role('an object'))),
    ),
    defaults: v.optional(role('an object like { backend, count, … }')),
    balancer: v.optional(
      v.union(
        [v.string(), v.custom((value) => isObject(value) && typeof value.select === 'function')],
        'must be a strategy name or { name, select }',
      ),
    ),
    plugins: v.optional(v.array(v.unknown(), 'must be a list of plugins')),
    cooldownMs: v.optional(durationFrom0),
    maxCooldownMs: v.optional(durationFrom0),
    retryLimit: v.optional(wholeNumber),
    iterationTimeoutMs: v.optional(durationAbove0),
    verifyTimeoutMs: v.optional(durationAbove0),
    pollIntervalMs: v.optional(durationAbove0),
    stopWhenSettled: v.optional(v.boolean('must be true or false')),
    maxRespawns: v.optional(wholeNumber),
    // Keys whose behaviour is being built: their shape is checked loosely, so a typo still shows.
    land: v.optional(
      v.custom(
        (value) => value === false || isObject(value),
        'must be false or { auto, into, strategy, verify, push, message }',
      ),
    ),
    budget: v.optional(budgetSchema),
    maxAgents: v.optional(
      v.union(
        [countFrom1, v.pipe(mapping(''), v.record(v.string(), countFrom1))],
        'must be a whole number ≥ 1 or { total, <backend>: n } of whole numbers ≥ 1',
      ),
    ),
    stallTimeoutMs: v.optional(durationAbove0),
    remote: v.optional(
      v.pipe(
        mapping("must be an object like { redis: 'redis://host:6379' }"),
        v.looseObject({
          redis: v.pipe(
            v.string('must be a redis:// or rediss:// URL'),
            v.regex(/^rediss?:\/\/./, 'must be a redis:// or rediss:// URL'),
          ),
        }),
      ),
    ),
    mirrorStatus: v.optional(v.boolean('must be true or false')),
    sameFailureLimit: v.optional(countFrom1),
    worktreesDir: v.optional(nonEmpty('a path string')),
  }),
)

function keyOf(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(root)'
  let key = ''
  for (const item of path) key += typeof item === 'number' ? `[${item}]` : `${key ? '.' : ''}${item}`
  return key
}

const pathOf = (path: readonly { key: unknown }[] | undefined): (string | number)[] =>
  (path ?? []).map((item) => (typeof item.key === 'number' ? item.key : String(item.key)))

/**
 * Checks a user config against the one schema of its keys: every problem, not just the first,
 * each with its key, what is wrong and the value found. Unknown keys are refused with the key
 * they most likely meant. An empty list means the config is fine.
 */
export function configProblems(config: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const seen = new Set<string>()
  const add = (path: readonly (string | number)[], message: string, value: unknown): void => {
    const key = keyOf(path)
    // A value that fails several checks (not a number, so not whole either) is one problem.
    if (seen.has(key)) return
    seen.add(key)
    problems.push({ key, path, message, value })
  }
  const result = v.safeParse(configSchema, config, { abortEarly: false })
  for (const issue of result.issues ?? []) {
    const path = pathOf(issue.path)
    const key = keyOf(path)
    // A Redis URL may hold a password: never echo it back.
    const value =
      key === 'remote.redis' && typeof issue.input === 'string'
        ? issue.input.replace(/\/\/[^@/]*@/, '//***@')
        : issue.input
    add(path, issue.message, value)
  }
  if (!isObject(config)) return problems

  const known: readonly string[] = CONFIG_KEYS
  for (const key of Object.keys(config)) {
    if (!known.includes(key)) {
      add([key], `is not a config key${didYouMean(key, known)}; known keys: ${known.join(', ')}`, config[key])
    }
  }
  if (isObject(config.agents)) {
    for (const role of Object.keys(config.agents)) {
      const problem = nameProblem(role, 'role')
      if (problem) add(['agents', role], `names a role that cannot be used: ${problem}`, role)
    }
  }
  if (isObject(config.land)) {
    for (const issue of v.safeParse(landSchema, config.land, { abortEarly: false }).issues ?? []) {
      add(['land', ...pathOf(issue.path)], issue.message, issue.input)
    }
    if (typeof config.land.message === 'string') {
      const problem = landingMessageProblem(config.land.message)
      if (problem) add(['land', 'message'], problem, config.land.message)
    }
    const known = ['auto', 'into', 'strategy', 'verify', 'push', 'message']
    for (const key of Object.keys(config.land)) {
      if (!known.includes(key)) {
        add(
          ['land', key],
          `is not a landing option${didYouMean(key, known)}; known: ${known.join(', ')}`,
          config.land[key],
        )
      }
    }
  }
  if (Array.isArray(config.plugins)) {
    const walk = (list: unknown[], at: (string | number)[]): void =>
      list.forEach((plugin, i) => {
        if (Array.isArray(plugin)) walk(plugin, [...at, i])
        else if (plugin && !(isObject(plugin) && typeof plugin.name === 'string')) {
          add([...at, i], 'must be a plugin object with a name', plugin)
        }
      })
    walk(config.plugins, ['plugins'])
  }
  return problems
}

/** `config key "agents.web.count" must be a whole number ≥ 0, got -1`. */
export function formatConfigProblem(problem: ConfigProblem): string {
  const got = /^is not a (config key|landing option)/.test(problem.message) ? '' : `, got ${describe(problem.value)}`
  return `config key "${problem.key}" ${problem.message}${got}`
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  return JSON.stringify(value) ?? String(value)
}
