#!/usr/bin/env node
// A project's task folder is scanned on a worker thread while the CLI loads (see src/prescan.ts).
import { prescan } from '../dist/prescan.js'

prescan(process.argv.slice(2))
await import('../dist/cli.js')
