import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { finalStatuses, loadFixture, replay } from '../../test/support.ts'
import { runScenario, scenarioTasks } from '../../test/scenario.ts'
import { createJunitReporter, junitReporter } from './index.ts'

const events = loadFixture()
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tanuki-junit-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

interface Case {
  name: string
  classname: string
  failure?: { message: string; '#text'?: string }
  error?: { message: string; '#text'?: string }
  skipped?: { message: string }
}
interface Suite {
  name: string
  tests: number
  failures: number
  errors: number
  skipped: number
  testcase: Case[]
}

function parse(xml: string): {
  testsuites: { name: string; tests: number; failures: number; errors: number; skipped: number; testsuite: Suite[] }
} {
  expect(XMLValidator.validate(xml)).toBe(true)
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: true,
    isArray: (name) => name === 'testsuite' || name === 'testcase',
  })
  return parser.parse(xml)
}

describe('junit reporter', () => {
  it('writes a suite per role and a case per task, with counts that match the run', async () => {
    const path = join(dir, 'junit.xml')
    await replay(createJunitReporter({ path, name: 'scenario' }), events)
    const { testsuites } = parse(await readFile(path, 'utf8'))
    const statuses = finalStatuses(events)
    const countOf = (...wanted: string[]): number => [...statuses.values()].filter((s) => wanted.includes(s)).length

    expect(testsuites.name).toBe('scenario')
    expect(testsuites.tests).toBe(statuses.size)
    expect(testsuites.failures).toBe(countOf('review'))
    expect(testsuites.errors).toBe(countOf('failed'))
    expect(testsuites.skipped).toBe(countOf('blocked', 'pending'))

    const roles = new Set(scenarioTasks.map((t) => t.role))
    expect(testsuites.testsuite.map((s) => s.name).sort()).toEqual([...roles].sort())
    for (const suite of testsuites.testsuite) {
      const ids = scenarioTasks.filter((t) => t.role === suite.name).map((t) => t.id)
      expect(suite.tests).toBe(ids.length)
      expect(suite.testcase).toHaveLength(ids.length)
      expect(suite.failures).toBe(suite.testcase.filter((c) => c.failure).length)
      expect(suite.errors).toBe(suite.testcase.filter((c) => c.error).length)
      expect(suite.skipped).toBe(suite.testcase.filter((c) => c.skipped !== undefined).length)
      for (const testcase of suite.testcase) {
        const id = testcase.name.split(':')[0]!
        const status = statuses.get(id)
        expect(Boolean(testcase.failure)).toBe(status === 'review')
        expect(Boolean(testcase.error)).toBe(status === 'failed')
        expect(testcase.skipped !== undefined).toBe(status === 'blocked' || status === 'pending')
      }
    }
  })

  it('escapes what XML cannot hold as is and keeps the verify output in failures', async () => {
    const path = join(dir, 'junit.xml')
    await replay(createJunitReporter({ path }), events)
    const { testsuites } = parse(await readFile(path, 'utf8'))
    const cases = testsuites.testsuite.flatMap((s) => s.testcase)
    expect(cases.find((c) => c.name.startsWith('deploy:'))!.name).toBe('deploy: Deploy <the> "app" & UI')
    const review = cases.find((c) => c.failure)!
    expect(review.failure!.message).toMatch(/no tries left/)
    expect(review.failure!['#text']).toMatch(/verify: false \(exit 1\)/)
    const failed = cases.find((c) => c.error)!
    expect(failed.error!.message).toMatch(/verify could not run/)
  })

  it('writes <stateDir>/junit.xml for a live run, as the plugin', async () => {
    const { summary } = await runScenario({
      config: { plugins: [junitReporter()] },
      project: { root: dir, stateDir: join(dir, 'state') },
    })
    const { testsuites } = parse(await readFile(join(dir, 'state', 'junit.xml'), 'utf8'))
    expect(testsuites.tests).toBe(summary.progress.total)
    expect(testsuites.errors).toBe(summary.progress.failed)
    expect(testsuites.failures).toBe(summary.progress.review)
    expect(testsuites.skipped).toBe(summary.progress.blocked + summary.progress.pending)
    // A failure's type is its class, as a test framework's is its exception's class.
    const cases = testsuites.testsuite.flatMap((s) => s.testcase)
    const types = (kind: 'failure' | 'error') =>
      cases.flatMap((c) => (c[kind] ? [(c[kind] as { type?: string }).type] : []))
    expect(types('failure')).toContain('verify-failed')
    expect(types('error')).toContain('verify-could-not-run')
  })
})
