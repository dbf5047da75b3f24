import { packageBuild } from '../../tsup.shared.ts'

// The browser app is built apart (scripts/build-client.mjs): it is shipped as files, not imported.
export default packageBuild({ entry: ['src/index.ts'] })
