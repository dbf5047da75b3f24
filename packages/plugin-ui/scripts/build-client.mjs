#!/usr/bin/env node
// Builds the dashboard's page ahead: src/client → dist/client (index.html, assets/app.js, assets/style.css).
// esbuild bundles Preact, dagre and the page's code into one minified file, so the server only
// serves files and nothing is compiled when a dashboard starts.
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'client')
mkdirSync(join(out, 'assets'), { recursive: true })
const result = await build({
  entryPoints: { app: join(root, 'src', 'client', 'main.tsx'), style: join(root, 'src', 'client', 'style.css') },
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: join(out, 'assets'),
  entryNames: '[name]',
  metafile: true,
  logLevel: 'warning',
})
copyFileSync(join(root, 'src', 'client', 'index.html'), join(out, 'index.html'))
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0)
console.log(`client: dist/client built (${Math.round(bytes / 1024)} KiB with source maps)`)
