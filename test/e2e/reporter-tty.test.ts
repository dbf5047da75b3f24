/**
 * The live console view, end to end: `tanuki project start` on a copy of examples/hello, run
 * under a real pseudo-terminal (`script -qfc`), its output interpreted by a headless terminal
 * emulator (xterm.js). The final screen must show the bars at 100% and every task complete.
 *
 * Runs the built CLI (`npm run setup` builds it; after changing sources, rebuild with
 * `pnpm -r build`).
 */
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import xterm from '@xterm/headless'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const tanuki = join(repoRoot, 'node_modules', '.bin', 'tanuki')
const COLUMNS = 100
const ROWS = 30

/** Single-quotes a string for sh. */
const sh = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`

/** What a terminal of COLUMNS x ROWS shows after `output`, scrollback included. */
async function screen(output: string): Promise<string[]> {
  const term = new xterm.Terminal({ cols: COLUMNS, rows: ROWS, scrollback: 5000, allowProposedApi: true })
  await new Promise<void>((resolve) => term.write(output, resolve))
  const buffer = term.buffer.active
  const lines: string[] = []
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '')
  term.dispose()
  while (lines.length > 0 && lines.at(-1) === '') lines.pop()
  return lines
}

describe('console reporter under a pseudo-terminal', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tanuki-tty-'))
    cpSync(join(repoRoot, 'examples', 'hello'), dir, {
      recursive: true,
      filter: (source) => basename(source) !== 'node_modules',
    })
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('ends with the bars at 100% and every task complete', async () => {
    expect(existsSync(tanuki), `${tanuki} is missing: run npm run setup`).toBe(true)
    const taskIds = readdirSync(join(dir, 'tasks'))
      .filter((file) => file.endsWith('.md'))
      .map((file) => /^id:\s*(\S+)/m.exec(readFileSync(join(dir, 'tasks', file), 'utf8'))![1]!)
    const roles = new Set(
      readdirSync(join(dir, 'tasks'))
        .filter((file) => file.endsWith('.md'))
        .map((file) => /^role:\s*(\S+)/m.exec(readFileSync(join(dir, 'tasks', file), 'utf8'))?.[1] ?? 'default'),
    )
    // `script` gives the CLI a real terminal; stty sizes it (a fresh pty is 0x0).
    const command = `stty cols ${COLUMNS} rows ${ROWS}; ${sh(tanuki)} project start --cwd ${sh(dir)}`
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' }
    delete env.NO_COLOR
    delete env.CI
    const run = spawnSync('script', ['-qfec', command, '/dev/null'], { env, encoding: 'utf8', timeout: 90_000 })
    expect(run.status, run.stderr).toBe(0)

    // Drawn as a live view: the cursor went up to redraw, colours were used.
    expect(run.stdout).toContain('\u001b[1A')
    expect(run.stdout).toContain('\u001b[32m')
    const lines = await screen(run.stdout)
    const text = lines.join('\n')

    const overall = lines.filter((line) => / \d+%\s+\d\d:\d\d$/.test(line))
    expect(overall, text).toHaveLength(1)
    expect(overall[0]).toMatch(/ 100% /)
    expect(text).toContain(`${taskIds.length}/${taskIds.length} complete`)
    for (const role of roles) {
      const bar = lines.find((line) => line.trimStart().startsWith(`${role} `) && line.includes('%'))
      expect(bar, text).toMatch(/ 100%/)
    }
    expect(text).toContain(`all ${taskIds.length} tasks complete`)
    // The brief printed after the run: the counts, nothing that needs a person, where the file is.
    expect(text).toContain(`All tasks complete. ${taskIds.length} of ${taskIds.length} complete`)
    expect(text).not.toContain('Needs you')
    // Run from elsewhere (`--cwd`), the file's whole path.
    expect(lines.at(-1)).toBe(`Every task: ${join(dir, '.tanuki', 'summary.md')}`)
    // The file lists every task as complete.
    const summary = readFileSync(join(dir, '.tanuki', 'summary.md'), 'utf8').split('\n')
    for (const id of taskIds) expect(summary.find((line) => line.startsWith(`| ${id} |`))).toMatch(/\| complete \|/)
  })
})
