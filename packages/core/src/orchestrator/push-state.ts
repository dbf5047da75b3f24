import type { PushFailure, TargetPush } from '../land/types.ts'
import type { RunStore } from '../state/types.ts'
import type { Bus } from './bus.ts'

/**
 * Whether the target is on `land.push`'s remote: the last push that failed, recorded in the
 * journal (so `tanuki project status` after the run knows it) until a push of that branch goes
 * through, in this run, a later one or `tanuki land`. Said to reporters when it changes
 * (`project:push`), not at every landing.
 */
export class PushState {
  /** The last push that failed and has not gone through since; undefined when none did. */
  failed: PushFailure | undefined
  /** Reporters were told of `failed` in this run (an earlier run's is told once it fails again). */
  private said = false

  constructor(
    private readonly ctx: { store: RunStore; bus: Bus; now: () => number },
    recorded: PushFailure | undefined,
  ) {
    this.failed = recorded
  }

  /** Takes in how a push went (none: nothing was pushed, nothing changes). */
  saw(push: TargetPush | undefined): void {
    if (!push) return
    const { remote, branch } = push
    if (push.error === undefined) {
      // Another branch's push says nothing of the one that failed.
      if (this.failed?.branch !== branch) return
      this.failed = undefined
      this.ctx.store.append({ t: 'run', pushFailed: null })
      this.ctx.bus.emit('project:push', { remote, branch })
      return
    }
    const was = this.failed
    this.failed = { remote, branch, error: push.error, at: this.ctx.now() }
    const same = was?.remote === remote && was.branch === branch && was.error === push.error
    if (!same) this.ctx.store.append({ t: 'run', pushFailed: this.failed })
    if (same && this.said) return
    this.said = true
    this.ctx.bus.emit('project:push', { remote, branch, error: push.error })
  }
}
