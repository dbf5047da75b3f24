import { packageBuild } from '../../tsup.shared.ts'

// The CLI entry needs no types of its own; nor does the worker that reads task files in parallel.
export default packageBuild({
  entry: ['src/index.ts', 'src/cli.ts', 'src/parse-worker.ts'],
  dts: { entry: 'src/index.ts' },
})
