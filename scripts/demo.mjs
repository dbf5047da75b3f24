#!/usr/bin/env node
// Runs examples/hello in a fresh git repository under the temp directory, so the example stays
// pristine and the demo can run again and again.
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tanuki = join(root, 'node_modules', '.bin', 'tanuki')
const dir = mkdtempSync(join(tmpdir(), 'tanuki-hello-'))
cpSync(join(root, 'examples', 'hello'), dir, {
  recursive: true,
  filter: (src) => !/[/\\](node_modules|\.tanuki)([/\\]|$)/.test(src.slice(root.length)),
})
const git = (...args) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' })
git('init', '-q')
git('add', '-A')
git('-c', 'user.name=tanuki demo', '-c', 'user.email=demo@tanuki.invalid', 'commit', '-qm', 'hello example')

console.log(`Running examples/hello in ${dir}\n`)
const run = (...args) => spawnSync(tanuki, [...args, '--cwd', dir], { stdio: 'inherit' }).status ?? 1
const code = run('project', 'start')
console.log('')
run('project', 'status')
console.log(`\nThe project is in ${dir}. Try: ${tanuki} logs HELLO-005 --cwd ${dir}`)
process.exit(code)
