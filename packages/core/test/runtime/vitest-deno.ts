/**
 * The part of Vitest's API that core's tests use, on top of `Deno.test`, so the same test files
 * run under Deno unchanged (deno.json beside this file maps `vitest` here).
 *
 * `expect` is Vitest's own (`@vitest/expect` on chai), put together as Vitest does it, so the
 * matchers behave the same. Suites are a tree built while the file loads; each `it` becomes one
 * `Deno.test` named `suite > test`, which runs the suite's hooks around it: `beforeAll` before the
 * suite's first test, `afterAll` after its last. One file per `deno test` process (the runner
 * does that), so file-level hooks never leak into another file.
 *
 * Not supported (fails loudly or is ignored, never faked): `vi`, snapshots, `.concurrent`,
 * async `describe` callbacks; with `.only`, `afterAll` hooks of suites that had tests filtered out
 * do not run.
 */
import * as chai from 'chai'
import {
  ASYMMETRIC_MATCHERS_OBJECT,
  GLOBAL_EXPECT,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  customMatchers,
  getState,
  setState,
  type ExpectStatic,
} from '@vitest/expect'

declare const Deno: {
  test(definition: {
    name: string
    fn: () => Promise<void>
    ignore?: boolean
    only?: boolean
    sanitizeOps?: boolean
    sanitizeResources?: boolean
    sanitizeExit?: boolean
  }): void
}

// ------------------------------------------------------------------ expect

chai.use(JestExtend)
chai.use(JestChaiExpect)
chai.use(JestAsymmetricMatchers)

type Expect = ExpectStatic & { extend(matchers: object): void }

function createExpect(): Expect {
  const expect = ((value: unknown, message?: string) => {
    const { assertionCalls } = getState(expect)
    setState({ assertionCalls: assertionCalls + 1 }, expect)
    return chai.expect(value, message)
  }) as unknown as Expect
  Object.assign(expect, chai.expect)
  Object.assign(expect, (globalThis as Record<symbol, unknown>)[ASYMMETRIC_MATCHERS_OBJECT])
  const untyped = expect as unknown as Record<string, unknown>
  untyped.getState = () => getState(expect)
  untyped.setState = (state: object) => setState(state, expect)
  untyped.extend = (matchers: object) =>
    (chai.expect as unknown as { extend(e: unknown, m: object): void }).extend(expect, matchers)
  untyped.unreachable = (message?: string) =>
    chai.assert.fail(`expected${message ? ` "${message}" ` : ' '}not to be reached`)
  untyped.assertions = (expected: number) => setState({ expectedAssertionsNumber: expected }, expect)
  untyped.hasAssertions = () => setState({ isExpectingAssertions: true }, expect)
  expect.extend(customMatchers)
  return expect
}

export const expect: Expect = createExpect()
Object.defineProperty(globalThis, GLOBAL_EXPECT, { value: expect, writable: true, configurable: true })

/** Fails a test that asked for a number of assertions (`expect.assertions(n)`) and made others. */
function checkAssertions(): void {
  const state = getState(expect) as {
    assertionCalls: number
    expectedAssertionsNumber: number | null
    isExpectingAssertions: boolean
  }
  if (state.expectedAssertionsNumber !== null && state.assertionCalls !== state.expectedAssertionsNumber) {
    throw new Error(
      `expected number of assertions to be ${state.expectedAssertionsNumber}, but got ${state.assertionCalls}`,
    )
  }
  if (state.isExpectingAssertions && state.assertionCalls === 0)
    throw new Error('expected any number of assertion, but got none')
}

function resetAssertions(): void {
  setState({ assertionCalls: 0, expectedAssertionsNumber: null, isExpectingAssertions: false }, expect)
}

// ------------------------------------------------------------------ suites

type Hook = () => unknown
type TestFn = (context: TestContext) => unknown
/** Vitest's third argument: a timeout in ms, or options with one. */
type TestOptions = number | { timeout?: number }

/** What a test function receives, as in Vitest (the parts that make sense here). */
export interface TestContext {
  expect: Expect
  /** Registers a callback run after the test, pass or fail. */
  onTestFinished(fn: Hook): void
  skip(): never
}

interface Suite {
  name: string
  parent: Suite | undefined
  hooks: { beforeAll: Hook[]; afterAll: Hook[]; beforeEach: Hook[]; afterEach: Hook[] }
  /** Tests that will run in this suite and its children; `afterAll` runs after the last one. */
  planned: number
  finished: number
  setUp?: Promise<void>
  /** What `beforeAll` hooks returned, run with `afterAll`. */
  teardowns: Hook[]
  skip: boolean
}

const DEFAULT_TIMEOUT_MS = 5000
const root = newSuite('', undefined, false)
let current = root

function newSuite(name: string, parent: Suite | undefined, skip: boolean): Suite {
  return {
    name,
    parent,
    hooks: { beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] },
    planned: 0,
    finished: 0,
    teardowns: [],
    skip,
  }
}

/** The suite and its ancestors, outermost first. */
function chain(suite: Suite): Suite[] {
  const suites: Suite[] = []
  for (let s: Suite | undefined = suite; s; s = s.parent) suites.unshift(s)
  return suites
}

async function runHooks(hooks: Hook[], teardowns?: Hook[]): Promise<void> {
  for (const hook of hooks) {
    const teardown = await hook()
    if (typeof teardown === 'function' && teardowns) teardowns.push(teardown as Hook)
  }
}

/** Runs every cleanup even if one throws; throws the first error. */
async function runAll(fns: Hook[]): Promise<void> {
  let first: unknown
  for (const fn of fns) {
    try {
      await fn()
    } catch (error) {
      first ??= error
    }
  }
  if (first !== undefined) throw first
}

function withTimeout(work: unknown, ms: number, name: string): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Test timed out in ${ms}ms: ${name}`)), ms)
  })
  return Promise.race([Promise.resolve(work), timeout]).finally(() => clearTimeout(timer))
}

class SkipSignal extends Error {}

function registerTest(
  name: string,
  fn: TestFn | undefined,
  options: TestOptions | undefined,
  mode: { skip?: boolean; only?: boolean },
): void {
  const suite = current
  const suites = chain(suite)
  const fullName = [...suites.map((s) => s.name).filter(Boolean), name].join(' > ')
  const ignore = mode.skip === true || fn === undefined || suites.some((s) => s.skip)
  if (!ignore) for (const s of suites) s.planned++
  const timeoutMs = typeof options === 'number' ? options : (options?.timeout ?? DEFAULT_TIMEOUT_MS)

  Deno.test({
    name: fullName,
    ignore,
    ...(mode.only ? { only: true } : {}),
    // Vitest has no op/resource sanitizers; tests written for it may leave a timer to the GC.
    sanitizeOps: false,
    sanitizeResources: false,
    sanitizeExit: false,
    async fn() {
      const errors: unknown[] = []
      const cleanups: Hook[] = []
      try {
        for (const s of suites) {
          s.setUp ??= runHooks(s.hooks.beforeAll, s.teardowns)
          await s.setUp
        }
        await runHooks(
          suites.flatMap((s) => s.hooks.beforeEach),
          cleanups,
        )
        resetAssertions()
        const context: TestContext = {
          expect,
          onTestFinished: (hook) => void cleanups.push(hook),
          skip: () => {
            throw new SkipSignal()
          },
        }
        await withTimeout(fn!(context), timeoutMs, fullName)
        checkAssertions()
      } catch (error) {
        if (!(error instanceof SkipSignal)) errors.push(error)
      }
      try {
        await runAll([...cleanups.reverse(), ...suites.flatMap((s) => s.hooks.afterEach).reverse()])
      } catch (error) {
        errors.push(error)
      }
      for (const s of [...suites].reverse()) {
        if (++s.finished !== s.planned) continue
        try {
          await runAll([...s.hooks.afterAll, ...s.teardowns.reverse()])
        } catch (error) {
          errors.push(error)
        }
      }
      if (errors.length > 0) throw errors[0]
    },
  })
}

function registerSuite(name: string, fn: () => unknown, skip: boolean): void {
  const parent = current
  const suite = newSuite(name, parent, skip)
  current = suite
  try {
    const result = fn()
    if (result instanceof Promise)
      throw new Error(`describe("${name}") has an async callback; the Deno shim supports only synchronous ones`)
  } finally {
    current = parent
  }
}

/** `%s`, `%d`, `%i`, `%j`, `%o`, `%#` and `$key` in a `.each` name, as Vitest fills them. */
function formatName(template: string, row: unknown, index: number): string {
  const args = Array.isArray(row) ? [...row] : [row]
  let name = template.replace(/%[sdijo#%]/g, (token) => {
    if (token === '%%') return '%'
    if (token === '%#') return String(index)
    const value = args.shift()
    return token === '%j' || token === '%o' ? JSON.stringify(value) : String(value)
  })
  if (row !== null && typeof row === 'object' && !Array.isArray(row)) {
    name = name.replace(/\$([A-Za-z_][\w.]*)/g, (_, key: string) => String((row as Record<string, unknown>)[key]))
  }
  return name
}

type Each<F> = (table: readonly unknown[]) => (name: string, fn: F, options?: TestOptions) => void

interface TestApi {
  (name: string, fn?: TestFn, options?: TestOptions): void
  skip(name: string, fn?: TestFn, options?: TestOptions): void
  only(name: string, fn?: TestFn, options?: TestOptions): void
  todo(name: string): void
  skipIf(condition: unknown): (name: string, fn?: TestFn, options?: TestOptions) => void
  runIf(condition: unknown): (name: string, fn?: TestFn, options?: TestOptions) => void
  each: Each<(...args: never[]) => unknown>
}

function makeTest(): TestApi {
  const test = ((name: string, fn?: TestFn, options?: TestOptions) => registerTest(name, fn, options, {})) as TestApi
  test.skip = (name, fn, options) => registerTest(name, fn, options, { skip: true })
  test.only = (name, fn, options) => registerTest(name, fn, options, { only: true })
  test.todo = (name) => registerTest(name, undefined, undefined, { skip: true })
  test.skipIf = (condition) => (name, fn, options) => registerTest(name, fn, options, { skip: Boolean(condition) })
  test.runIf = (condition) => (name, fn, options) => registerTest(name, fn, options, { skip: !condition })
  test.each = (table) => (name, fn, options) => {
    table.forEach((row, index) => {
      const args = Array.isArray(row) ? row : [row]
      registerTest(formatName(name, row, index), () => (fn as (...a: unknown[]) => unknown)(...args), options, {})
    })
  }
  return test
}

interface DescribeApi {
  (name: string, fn: () => unknown): void
  skip(name: string, fn: () => unknown): void
  only(name: string, fn: () => unknown): void
  todo(name: string): void
  skipIf(condition: unknown): (name: string, fn: () => unknown) => void
  runIf(condition: unknown): (name: string, fn: () => unknown) => void
  each: Each<(...args: never[]) => unknown>
}

function makeDescribe(): DescribeApi {
  const describe = ((name: string, fn: () => unknown) => registerSuite(name, fn, false)) as DescribeApi
  describe.skip = (name, fn) => registerSuite(name, fn, true)
  // Deno's `only` is per test; the suite's tests are not singled out, so say so rather than pretend.
  describe.only = () => {
    throw new Error('describe.only is not supported by the Deno shim; use it.only')
  }
  describe.todo = () => {}
  describe.skipIf = (condition) => (name, fn) => registerSuite(name, fn, Boolean(condition))
  describe.runIf = (condition) => (name, fn) => registerSuite(name, fn, !condition)
  describe.each = (table) => (name, fn) => {
    table.forEach((row, index) => {
      const args = Array.isArray(row) ? row : [row]
      registerSuite(formatName(name, row, index), () => (fn as (...a: unknown[]) => unknown)(...args), false)
    })
  }
  return describe
}

export const test: TestApi = makeTest()
export const it: TestApi = test
export const describe: DescribeApi = makeDescribe()
export const suite: DescribeApi = describe

export function beforeAll(fn: Hook): void {
  current.hooks.beforeAll.push(fn)
}
export function afterAll(fn: Hook): void {
  current.hooks.afterAll.push(fn)
}
export function beforeEach(fn: Hook): void {
  current.hooks.beforeEach.push(fn)
}
export function afterEach(fn: Hook): void {
  current.hooks.afterEach.push(fn)
}

/** Vitest's mocking utility: core's tests must not need it (no mocks of our own modules). */
export const vi = new Proxy(
  {},
  {
    get(_, key) {
      throw new Error(`vi.${String(key)} is not available under Deno: core's tests use real implementations, not vi`)
    },
  },
)
