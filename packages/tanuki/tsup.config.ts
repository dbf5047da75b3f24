import { packageBuild } from '../../tsup.shared.ts'

// The CLI entry needs no types of its own.
export default packageBuild({ entry: ['src/index.ts', 'src/cli.ts'], dts: { entry: 'src/index.ts' } })
