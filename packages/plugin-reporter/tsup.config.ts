import { packageBuild } from '../../tsup.shared.ts'

// Its two small dependencies are bundled into dist: every command loads this package.
export default packageBuild({ entry: ['src/index.ts'], bundle: ['ansi-escapes', 'picocolors'] })
