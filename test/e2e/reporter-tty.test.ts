/**
 * The live console view, end to end: `tanuki project start` on a copy of examples/hello, run
 * under a real pseudo-terminal (`script -qfc`), its output interpreted by a headless terminal
 * emulator (xterm.js). The final screen must show the bars at 100% and every task complete.
 * Under `--watch`, a task file added after everything settled is said, and so is its completion.
 *
 * Runs the built CLI (`npm run setup` builds it; after changing sources, rebuild with
 * `pnpm -r build`).
 */
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import xterm from '@xterm/headless'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, createProject, statusJson, tanuki as runTanuki, taskText, waitFor } from './helpers.ts'

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

describe('console reporter under a pseudo-terminal, with --watch', () => {
  afterEach(cleanup)

  it('says each completion in a line that stays, and a task file added while it watches', async () => {
    expect(existsSync(tanuki), `${tanuki} is missing: run npm run setup`).toBe(true)
    // W-1 takes long enough for the live view to be drawn again (every 250 ms at most) before it ends.
    const project = createProject({ tasks: [{ id: 'W-1', sh: 'sleep 1.5; echo W-1', verify: 'true' }] })
    const command = `stty cols ${COLUMNS} rows ${ROWS}; ${sh(tanuki)} project start --watch --cwd ${sh(project.dir)}`
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', NO_COLOR: '1' }
    delete env.CI
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const ended = new Promise<number | null>((resolve) => child.on('close', resolve))
    try {
      await waitFor('the run to settle and watch', () => output.includes('· still running'))
      writeFileSync(
        join(project.tasksDir, 'W-2.md'),
        taskText({ id: 'W-2', title: 'Added while watching', sh: 'echo W-2', verify: 'true' }),
      )
      await waitFor('W-2 complete and landed', async () =>
        (await statusJson(project.dir)).tasks.some((task) => task.id === 'W-2' && task.landed),
      )
      const stop = await runTanuki(project.dir, 'project', 'stop')
      expect(stop.code, stop.stderr).toBe(0)
      expect(await ended).toBe(0)
    } finally {
      child.kill()
    }

    // Drawn as a live view, and the lines of each event stayed on screen, once each, in order.
    expect(output).toContain('\u001b[1A')
    const lines = await screen(output)
    const text = lines.join('\n')
    const once = (pattern: RegExp): number => {
      const found = lines.filter((line) => pattern.test(line))
      expect(found, text).toHaveLength(1)
      return lines.indexOf(found[0]!)
    }
    const completed = once(/^\d\d:\d\d:\d\d ✓ W-1 complete after 1 iteration in /)
    const watching = once(/^· still running/)
    const added = once(/^\d\d:\d\d:\d\d \+ W-2 added: Added while watching \(default\)$/)
    const completedLater = once(/^\d\d:\d\d:\d\d ✓ W-2 complete after 1 iteration in /)
    expect(completed).toBeLessThan(watching)
    expect(watching).toBeLessThan(added)
    expect(added).toBeLessThan(completedLater)
    // The live view showed the agent taking W-1: no line for that. Once the run settled no live
    // view is drawn, and lines are those of a pipe: W-2's assignment is one.
    expect(text).not.toMatch(/ W-1 assigned to /)
    expect(once(/ W-2 assigned to /)).toBeGreaterThan(added)
  })
})
