// The worker of `readTaskFiles` when Tanuki runs from its TypeScript sources (tests, `tsx`): a
// worker thread does not inherit the main thread's loader, so it registers tsx itself. The
// built package uses dist/parse-worker.js instead.
import { register } from 'tsx/esm/api'

register()
const { default: parseTaskFiles } = await import('./parse-worker.ts')
export default parseTaskFiles
