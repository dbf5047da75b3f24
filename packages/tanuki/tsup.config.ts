import { fileURLToPath } from 'node:url'
import { packageBuild } from '../../tsup.shared.ts'

// The CLI entry needs no types of its own; nor does the worker that reads task files in parallel,
// nor the scan the bin script starts before it loads the CLI (prescan).
// c12, citty and yaml are bundled into dist (see packageBuild's `bundle`); jiti and tinypool stay
// packages of their own (each loads files of its own by path), as do c12's optional helpers.
export default packageBuild({
  entry: ['src/index.ts', 'src/cli.ts', 'src/parse-worker.ts', 'src/prescan.ts'],
  dts: { entry: 'src/index.ts' },
  // jiti is named only for the alias below to apply to c12's import of it: nothing of it is bundled.
  bundle: ['c12', 'citty', 'yaml', 'jiti'],
  external: ['giget', 'ohash', 'chokidar', 'magicast'],
  // c12 imports jiti at its top; it gets jiti when it first calls it instead (src/lazy-jiti.ts).
  esbuildOptions(options) {
    options.alias = { ...options.alias, jiti: fileURLToPath(new URL('./src/lazy-jiti.ts', import.meta.url)) }
  },
})
