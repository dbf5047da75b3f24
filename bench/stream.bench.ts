/**
 * Many paid agents talking at once: 50 agents of the `claude` kind, each streaming Claude Code's
 * stream-json at about 200 KB/s, through one orchestrator (the real CLI, `tanuki project start`,
 * with its default reporters: console, NDJSON events, per-task logs, summary).
 *
 * Run: `node --import tsx bench/stream.bench.ts` (options: `--agents 50`, `--seconds 10`,
 * `--rate 200` (KB/s per agent), `--keep`).
 *
 * The agents are a stand-in for Claude Code (`bin` of the kind): a small Node script that prints
 * assistant messages of about 2 KB as stream-json lines at the given rate, then a result line with
 * usage and cost, as the real CLI does. They run as separate processes; what is measured is the
 * orchestrator's own process only: its CPU time over the streaming (utime + stime from
 * /proc/<pid>/stat, as a share of one core) and its peak RSS (VmHWM). Targets (issue 10): CPU
 * under 25% of one core, peak RSS under 300 MB. Prints figures next to their targets; never fails
 * on them.
 */
import { spawn } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values: options } = parseArgs({
  options: {
    agents: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '200' },
    keep: { type: 'boolean', default: false },
  },
})
const AGENTS = Number(options.agents)
const SECONDS = Number(options.seconds)
const RATE_KB = Number(options.rate)
const REPO = join(import.meta.dirname, '..')
const TANUKI = join(REPO, 'node_modules', '.bin', 'tanuki')
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/** The stand-in for Claude Code: reads the prompt, streams assistant messages, ends with a result. */
const FAKE_CLAUDE = `#!/usr/bin/env node
const seconds = ${SECONDS}, rateKb = ${RATE_KB}
process.stdin.resume()
process.stdin.on('end', () => {})
const filler = 'x'.repeat(1800)
let sent = 0, n = 0
const started = Date.now()
console.log(JSON.stringify({ type: 'system', subtype: 'init', session_id: 's', tools: ['Bash'], model: 'claude-sonnet' }))
const tick = setInterval(() => {
  const due = ((Date.now() - started) / 1000) * rateKb * 1024
  let out = ''
  while (sent < due) {
    const line = JSON.stringify({ type: 'assistant', message: { id: 'm' + n++, role: 'assistant', content: [{ type: 'text', text: filler }], usage: { input_tokens: 10, output_tokens: 500 } } }) + '\\n'
    out += line
    sent += line.length
  }
  if (out) process.stdout.write(out)
  if (Date.now() - started >= seconds * 1000) {
    clearInterval(tick)
    process.stdout.write(JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'All done. DONE', num_turns: n, total_cost_usd: 0.01, usage: { input_tokens: 10 * n, output_tokens: 500 * n } }) + '\\n')
  }
}, 20)
`

function procStat(pid: number): { cpuMs: number; rssMb: number; hwmMb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cpuMs = ((Number(fields[11]) + Number(fields[12])) / TICKS) * 1000
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
    return { cpuMs, rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 }
  } catch {
    return undefined
  }
}

const root = mkdtempSync(join(tmpdir(), 'tanuki-bench-stream-'))
try {
  mkdirSync(join(root, '.tanuki', 'tasks'), { recursive: true })
  const fake = join(root, 'fake-claude.mjs')
  writeFileSync(fake, FAKE_CLAUDE, { mode: 0o755 })
  writeFileSync(
    join(root, 'tanuki.config.ts'),
    `import { defineConfig } from 'tanuki'
export default defineConfig({
  land: false,
  defaults: { backend: 'process', kind: 'claude', bin: ${JSON.stringify(fake)}, workspace: 'shared', commit: false },
  agents: { default: { count: ${AGENTS} } },
})
`,
  )
  for (let i = 1; i <= AGENTS; i++) {
    writeFileSync(
      join(root, '.tanuki', 'tasks', `S-${i}.md`),
      `---\nid: S-${i}\ntitle: Stream ${i}\ncompletion:\n  signal: DONE\n  max_iterations: 1\n---\nTalk a lot.\n`,
    )
  }
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: root })
  execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-q', '--allow-empty', '-m', 'x'], {
    cwd: root,
  })

  console.log(
    `stream bench: ${AGENTS} agents × ${RATE_KB} KB/s for ${SECONDS} s (${((AGENTS * RATE_KB) / 1024).toFixed(1)} MB/s in all); ` +
      `${cpus().length} CPUs, load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
  )
  const started = performance.now()
  const child = spawn(TANUKI, ['project', 'start', '--quiet', '--cwd', root], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  let hwm = 0
  const samples: { at: number; cpuMs: number }[] = []
  const sampler = setInterval(() => {
    const stat = procStat(child.pid!)
    if (stat) {
      samples.push({ at: Date.now(), cpuMs: stat.cpuMs })
      hwm = Math.max(hwm, stat.hwmMb)
    }
  }, 100)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  clearInterval(sampler)
  const wallMs = performance.now() - started
  const logBytes = Number(
    execFileSync('du', ['-sb', join(root, '.tanuki', 'logs')], { encoding: 'utf8' }).split('\t')[0],
  )
  if (code !== 0) console.log(`tanuki exited ${code}: ${stderr.trim()}`)
  // The streaming window, from the events the run logged: first iteration started → last finished.
  const events = readFileSync(join(root, '.tanuki', 'events.ndjson'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { event: string; at?: number })
  const starts = events.filter((e) => e.event === 'iteration:started').map((e) => e.at!)
  const ends = events.filter((e) => e.event === 'iteration:finished').map((e) => e.at!)
  const from = samples.find((sample) => sample.at >= Math.min(...starts))
  const to = samples.findLast((sample) => sample.at <= Math.max(...ends))
  const total = samples.at(-1)
  console.log(
    `wall ${(wallMs / 1000).toFixed(1)} s (streaming ${SECONDS} s), ${ends.length} iterations, logs written ${(logBytes / 1024 / 1024).toFixed(0)} MB`,
  )
  if (from && to && to.at > from.at) {
    const share = ((to.cpuMs - from.cpuMs) / (to.at - from.at)) * 100
    console.log(
      `orchestrator CPU while ${AGENTS} agents stream: ${share.toFixed(1)}% of one core over ${((to.at - from.at) / 1000).toFixed(1)} s ` +
        `(target < 25%: ${share < 25 ? 'meets' : 'MISSES'}); the whole run, start-up included: ${((total?.cpuMs ?? 0) / 1000).toFixed(2)} s CPU`,
    )
  } else console.log('orchestrator CPU: no streaming window was sampled')
  console.log(`orchestrator peak RSS: ${hwm.toFixed(0)} MB (target < 300 MB: ${hwm < 300 ? 'meets' : 'MISSES'})`)
} finally {
  if (options.keep) console.log(`kept ${root}`)
  else rmSync(root, { recursive: true, force: true })
}
