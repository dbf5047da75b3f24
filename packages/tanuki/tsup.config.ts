import { packageBuild } from '../../tsup.shared.ts'

// The CLI entry needs no types of its own; nor does the worker that reads task files in parallel,
// nor the scan the bin script starts before it loads the CLI (prescan).
// c12, citty and yaml are bundled into dist (see packageBuild's `bundle`); jiti and tinypool stay
// packages of their own (each loads files of its own by path), as do c12's optional helpers.
export default packageBuild({
  entry: ['src/index.ts', 'src/cli.ts', 'src/parse-worker.ts', 'src/prescan.ts'],
  dts: { entry: 'src/index.ts' },
  bundle: ['c12', 'citty', 'yaml'],
  external: ['giget', 'ohash', 'chokidar', 'magicast'],
})
