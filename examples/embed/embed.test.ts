import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const here = fileURLToPath(new URL('.', import.meta.url))
const coreBuild = fileURLToPath(new URL('../../packages/core/dist/index.js', import.meta.url))

/** Runs the example as a person would: a real Node process, through tsx, against the built core. */
function runExample(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: here,
      env: { ...process.env, NO_COLOR: '1' },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('examples/embed', () => {
  it('runs its three tasks with its own backend, retrying the draft once, and prints progress from events', async () => {
    expect(existsSync(coreBuild), 'the example imports the built @tanuki/core: run `pnpm -r build` first').toBe(true)
    const { code, stdout, stderr } = await runExample()
    expect(stderr).toBe('')
    expect(code).toBe(0)
    const lines = stdout.trim().split('\n')
    // The reasons in parentheses are the Validator's wording; the example's own lines are exact.
    const expected = [
      /^→ outline assigned to writer-1$/,
      /^  outline #1: complete \(.*OUTLINE READY.*\)$/,
      /^✓ outline complete after 1 iteration$/,
      /^→ draft assigned to writer-1$/,
      /^  draft #1: retry \(.*\) — verify said: draft\.md does not contain "## Summary"$/,
      /^  draft #2: complete \(.*has draft\.md ## Summary.*\)$/,
      /^✓ draft complete after 2 iterations$/,
      /^→ review assigned to reviewer-1$/,
      /^  review #1: complete \(.*LGTM.*\)$/,
      /^✓ review complete after 1 iteration$/,
      /^$/,
      /^3\/3 tasks complete \(100%\), all done$/,
      /^workspace: outline\.md, draft\.md$/,
    ]
    expect(lines).toHaveLength(expected.length)
    lines.forEach((line, i) => expect(line).toMatch(expected[i]!))
  }, 30_000)
})
