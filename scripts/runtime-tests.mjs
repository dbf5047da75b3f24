#!/usr/bin/env node
// Runs @tanuki/core's test files under Bun or Deno, unchanged, to show the core is runtime-agnostic.
//
//   node scripts/runtime-tests.mjs bun|deno [--verbose] [filter…]
//
// Bun runs the files as they are (`bun test` maps `vitest` imports onto its own runner). Deno
// maps `vitest` onto a small shim over Deno.test (packages/core/test/runtime/vitest-deno.ts) and
// resolves core's dependencies from node_modules; each file runs in its own process so file-level
// hooks stay in their file. Both binaries come from the `bun` and `deno` npm packages.
// Exits non-zero when any test fails or no test file is found. The last line is the plain
// "<runtime>: N passed, M failed" that CI reads.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const core = join(repo, 'packages/core')
const [runtime, ...rest] = process.argv.slice(2)
const verbose = rest.includes('--verbose')
const filters = rest.filter((arg) => !arg.startsWith('--'))

if (runtime !== 'bun' && runtime !== 'deno') {
  console.error('usage: node scripts/runtime-tests.mjs bun|deno [--verbose] [filter…]')
  process.exit(2)
}

/** Core's test files, as the `core` Vitest project includes them: src/** and test/**. */
function testFiles() {
  const found = []
  const walk = (dir) => {
    if (!existsSync(dir)) return
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory() && entry.name !== 'node_modules' && entry.name !== 'fixtures') walk(path)
      else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(relative(core, path).split(sep).join('/'))
    }
  }
  walk(join(core, 'src'))
  walk(join(core, 'test'))
  return found.sort().filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
}

/** The binary the npm package installed, else one on PATH. */
function binary(name) {
  const local = join(repo, 'node_modules/.bin', name)
  return existsSync(local) ? local : name
}

function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: core, env: { ...process.env, NO_COLOR: '1' } })
    let output = ''
    const collect = (chunk) => {
      output += chunk
      if (verbose) process.stdout.write(chunk)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('error', (error) =>
      resolve({ code: 127, output: `${output}\ncould not start ${command}: ${error.message}` }),
    )
    // Colours are off (NO_COLOR), but strip any that slip through so the summaries parse.
    child.on('close', (code) => resolve({ code: code ?? 1, output: output.replace(/\x1b\[[0-9;]*m/g, '') }))
  })
}

const count = (output, pattern) => {
  const match = pattern.exec(output)
  return match ? Number(match[1]) : 0
}

async function runBun(files) {
  const { code, output } = await run(binary('bun'), ['test', ...files.map((file) => `./${file}`)])
  if (!verbose) process.stdout.write(output)
  const passed = count(output, /^\s*(\d+) pass$/m)
  let failed = count(output, /^\s*(\d+) fail$/m)
  const skipped = count(output, /^\s*(\d+) skip$/m)
  // A file that fails to load is an error, not a failed test; count it so the run cannot pass.
  if (code !== 0 && failed === 0) failed = 1
  return { passed, failed, skipped }
}

async function runDeno(files) {
  const totals = { passed: 0, failed: 0, skipped: 0 }
  const queue = [...files]
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const args = ['test', '--config', 'test/runtime/deno.json', '--no-check', '--allow-read', '--allow-env', file]
      const { code, output } = await run(binary('deno'), args)
      const summary = /(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \| (\d+) ignored)?/.exec(
        output,
      )
      const passed = summary ? Number(summary[1]) : 0
      // No summary means the file did not load (a syntax error, an unresolved import): a failure.
      const failed = summary ? Number(summary[2]) : 1
      const skipped = summary?.[3] ? Number(summary[3]) : 0
      if (code !== 0 && failed === 0) totals.failed++
      totals.passed += passed
      totals.failed += failed
      totals.skipped += skipped
      const ok = code === 0 && failed === 0
      console.log(
        `${ok ? 'ok  ' : 'FAIL'} ${file}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`,
      )
      if (!ok && !verbose) console.log(output.replace(/^/gm, '    '))
    }
  }
  const parallel = Math.max(1, Math.min(2, cpus().length))
  await Promise.all(Array.from({ length: parallel }, worker))
  return totals
}

const files = testFiles()
if (files.length === 0) {
  console.error(
    `No core test files found under ${relative(repo, core)}/src or /test${filters.length ? ` matching ${filters.join(', ')}` : ''}.`,
  )
  console.log(`${runtime}: 0 passed, 1 failed`)
  process.exit(1)
}
console.log(`core on ${runtime}: ${files.length} test files`)
const totals = runtime === 'bun' ? await runBun(files) : await runDeno(files)
console.log(`\ncore on ${runtime}: ${files.length} files`)
console.log(
  `${runtime}: ${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`,
)
process.exit(totals.failed > 0 ? 1 : 0)
