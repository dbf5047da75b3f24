import { describe, expect, it } from 'vitest'
import type { Agent, RunResult } from '../agent/types.ts'
import { createTask } from '../task/parse.ts'
import type { CompletionCriteria } from '../task/types.ts'
import { createMemoryBackend, type MemoryBackendOptions } from '../testing/memory-backend.ts'
import { Validator, namesProgram, programNotRun, verifyPrograms } from './index.ts'

const project = { root: '/project', name: 'project', stateDir: '/project/.tanuki' }

async function spawn(options: MemoryBackendOptions = {}): Promise<Agent> {
  return createMemoryBackend(options).spawn({ name: 'w-1', role: 'default', options: {}, project })
}

function task(completion: Partial<CompletionCriteria>) {
  return createTask({ id: 'a', title: 'A', completion })
}

const ok = (output: string): RunResult => ({ output, exitCode: 0 })

describe('Validator', () => {
  describe('signal', () => {
    it('completes when the signal is in the output and there is no verify', async () => {
      const validation = await new Validator().validate({
        task: task({ signal: 'ALL_DONE' }),
        agent: await spawn(),
        result: ok('work… ALL_DONE.'),
        iteration: 1,
      })
      expect(validation).toEqual({ outcome: 'complete', reason: 'signal "ALL_DONE" found', signalFound: true })
    })

    it('tries again when the signal is missing', async () => {
      const validation = await new Validator().validate({
        task: task({ signal: 'ALL_DONE' }),
        agent: await spawn(),
        result: ok('ALL DONE'),
        iteration: 1,
      })
      expect(validation).toEqual({
        outcome: 'retry',
        reason: `signal "ALL_DONE" not in the agent's output`,
        signalFound: false,
        failure: { class: 'verify-failed', cause: `signal "ALL_DONE" not in the agent's output` },
      })
    })

    it('sends the task to review on the last try', async () => {
      const validation = await new Validator().validate({
        task: task({ signal: 'ALL_DONE', maxIterations: 3 }),
        agent: await spawn(),
        result: ok('nothing'),
        iteration: 3,
      })
      expect(validation.outcome).toBe('review')
      expect(validation.reason).toBe(`signal "ALL_DONE" not in the agent's output; no tries left (3)`)
    })

    it('gives the agent’s own error as the reason', async () => {
      const validation = await new Validator().validate({
        task: task({ signal: 'ALL_DONE' }),
        agent: await spawn(),
        result: { output: '', exitCode: 1, error: 'model refused' },
        iteration: 1,
      })
      expect(validation).toEqual({
        outcome: 'retry',
        reason: 'agent reported: model refused',
        signalFound: false,
        failure: { class: 'agent-error', cause: 'model refused' },
      })
    })

    it('does not run verify when the signal is missing', async () => {
      const commands: string[] = []
      const agent = await spawn({
        exec: (command) => (commands.push(command), { exitCode: 0, output: '', timedOut: false }),
      })
      await new Validator().validate({
        task: task({ signal: 'S', verify: 'true' }),
        agent,
        result: ok(''),
        iteration: 1,
      })
      expect(commands).toEqual([])
    })
  })

  describe('no completion criteria', () => {
    const open = () => createTask({ id: 'a', title: 'A' })

    it('sends the task to review after a run without an error, running nothing', async () => {
      const agent = await spawn({
        exec: () => {
          throw new Error('nothing may run for a task without criteria')
        },
      })
      const validation = await new Validator().validate({ task: open(), agent, result: ok('done'), iteration: 1 })
      expect(validation.outcome).toBe('review')
      expect(validation.reason).toContain('no completion criteria')
      expect(validation.verify).toBeUndefined()
    })

    it('tries again when the agent reported an error', async () => {
      const validation = await new Validator().validate({
        task: open(),
        agent: await spawn(),
        result: { output: '', exitCode: 1, error: 'exit code 1' },
        iteration: 1,
      })
      expect(validation).toEqual({
        outcome: 'retry',
        reason: 'agent reported: exit code 1',
        failure: { class: 'agent-error', cause: 'exit code 1' },
      })
    })
  })

  describe('verify', () => {
    it('completes when verify exits 0, keeping its output and command', async () => {
      const agent = await spawn({ exec: () => ({ exitCode: 0, output: '12 passed\n', timedOut: false }) })
      const validation = await new Validator().validate({
        task: task({ verify: 'npm test' }),
        agent,
        result: ok(''),
        iteration: 1,
      })
      expect(validation.outcome).toBe('complete')
      expect(validation.reason).toBe('verify passed: npm test')
      expect(validation.signalFound).toBeUndefined()
      expect(validation.verify).toMatchObject({
        command: 'npm test',
        exitCode: 0,
        output: '12 passed\n',
        timedOut: false,
      })
      expect(typeof validation.verify?.durationMs).toBe('number')
    })

    it('does not complete work the agent reported unfinished, though its signal and verify pass', async () => {
      const ran: string[] = []
      const agent = await spawn({
        exec: (command) => {
          ran.push(command)
          return { exitCode: 0, output: '', timedOut: false }
        },
      })
      const cause = 'the merge conflict in a.txt is not resolved'
      const result: RunResult = {
        output: 'DONE',
        exitCode: 0,
        failure: { class: 'agent-error', cause, unfinished: true },
      }
      const validate = (iteration: number) =>
        new Validator().validate({
          task: task({ signal: 'DONE', verify: 'true', maxIterations: 2 }),
          agent,
          result,
          iteration,
        })
      expect(await validate(1)).toMatchObject({ outcome: 'retry', reason: cause, failure: { class: 'agent-error' } })
      expect(await validate(2)).toMatchObject({ outcome: 'review', reason: `${cause}; no tries left (2)` })
      expect(ran).toEqual([])
      // Without the flag, the same error is the agent's account, and verify is the judge.
      const judged = await new Validator().validate({
        task: task({ signal: 'DONE', verify: 'true' }),
        agent,
        result: { ...result, failure: { class: 'agent-error', cause } },
        iteration: 1,
      })
      expect(judged.outcome).toBe('complete')
    })

    it('runs verify in the agent’s own workspace', async () => {
      // Isolated workspaces: only the agent that ran the task has its file.
      const backend = createMemoryBackend({
        isolated: true,
        script: () => ({ type: 'succeed', output: 'S', files: { 'out.txt': 'x' } }),
      })
      const worker = await backend.spawn({ name: 'a', role: 'default', options: {}, project })
      const other = await backend.spawn({ name: 'b', role: 'default', options: {}, project })
      await worker.run({ prompt: '', task: task({ signal: 'S' }), iteration: 1, signal: new AbortController().signal })
      const validator = new Validator()
      const check = task({ verify: 'test -f out.txt' })
      expect((await validator.validate({ task: check, agent: worker, result: ok(''), iteration: 1 })).outcome).toBe(
        'complete',
      )
      const missing = await validator.validate({ task: check, agent: other, result: ok(''), iteration: 1 })
      expect(missing.outcome).toBe('retry')
      expect(missing.verify?.output).toBe('out.txt: no such file\n')
    })

    it('tries again when verify exits non-zero, then sends to review on the last try', async () => {
      const agent = await spawn()
      const validator = new Validator()
      const t = task({ verify: 'exit 3', maxIterations: 2 })
      const first = await validator.validate({ task: t, agent, result: ok(''), iteration: 1 })
      expect(first.outcome).toBe('retry')
      expect(first.reason).toBe('verify exited with code 3: exit 3')
      expect(first.verify?.exitCode).toBe(3)
      const last = await validator.validate({ task: t, agent, result: ok(''), iteration: 2 })
      expect(last.outcome).toBe('review')
      expect(last.reason).toBe('verify exited with code 3: exit 3; no tries left (2)')
    })

    it('checks the signal first, then verify', async () => {
      const agent = await spawn()
      const validator = new Validator()
      const both = task({ signal: 'S', verify: 'false' })
      const failed = await validator.validate({ task: both, agent, result: ok('S'), iteration: 1 })
      expect(failed).toMatchObject({ outcome: 'retry', signalFound: true, verify: { command: 'false', exitCode: 1 } })
      const passed = await validator.validate({
        task: task({ signal: 'S', verify: 'true' }),
        agent,
        result: ok('S'),
        iteration: 1,
      })
      expect(passed).toMatchObject({ outcome: 'complete', signalFound: true, reason: 'verify passed: true' })
    })

    it('fails the task when verify times out', async () => {
      const validation = await new Validator({ verifyTimeoutMs: 20 }).validate({
        task: task({ verify: 'sleep 60000' }),
        agent: await spawn(),
        result: ok(''),
        iteration: 1,
      })
      expect(validation.outcome).toBe('failed')
      expect(validation.reason).toBe('verify timed out after 20 ms: sleep 60000')
      expect(validation.verify?.timedOut).toBe(true)
    })

    it('fails the task when verify cannot run at all', async () => {
      const validation = await new Validator().validate({
        task: task({ signal: 'S', verify: 'make test' }),
        agent: await spawn(),
        result: ok('S'),
        iteration: 1,
      })
      expect(validation.outcome).toBe('failed')
      expect(validation.reason).toBe('verify could not run: memory backend cannot run "make test"')
      expect(validation.signalFound).toBe(true)
      expect(validation.verify).toBeUndefined()
    })

    it('names where a verify that exits 127 was run when that is not the host', async () => {
      const inBox: Agent = {
        ...(await spawn({ exec: () => ({ exitCode: 127, output: 'sh: node: not found\n', timedOut: false }) })),
        runsIn: 'the container of agent w-1 (image alpine:3)',
      }
      const validation = await new Validator().validate({
        task: task({ verify: 'node --test' }),
        agent: inBox,
        result: ok(''),
        iteration: 1,
      })
      expect(validation.outcome).toBe('failed')
      expect(validation.reason).toBe(
        'verify could not run in the container of agent w-1 (image alpine:3) (exit 127: sh: node: not found): node --test',
      )
    })

    it('says what could not run (the command, its program, where) so the tasks sharing it can wait', async () => {
      const inBox: Agent = {
        ...(await spawn({
          exec: () => ({ exitCode: 127, output: 'sh: /opt/qa/bin/check: not found\n', timedOut: false }),
        })),
        runsIn: 'the container of agent w-1 (image alpine:3)',
      }
      const validation = await new Validator().validate({
        task: task({ verify: '/opt/qa/bin/check' }),
        agent: inBox,
        result: ok(''),
        iteration: 1,
      })
      expect(validation.failure?.unrunnable).toEqual({
        command: '/opt/qa/bin/check',
        exitCode: 127,
        program: '/opt/qa/bin/check',
        runsIn: 'the container of agent w-1 (image alpine:3)',
        said: 'sh: /opt/qa/bin/check: not found',
      })
    })

    it.each([
      ['./run_tests.sh', 127, 'sh: 1: ./run_tests.sh: not found'],
      ['./run_tests.sh -q', 126, 'sh: 1: ./run_tests.sh: Permission denied'],
      ['test -x out/bin && out/bin --selftest', 127, 'sh: 1: out/bin: not found'],
      ['scripts/check', 126, ''],
    ])(
      'a program by a path in the workspace (%s) is a failed try: the task may be what writes it',
      async (verify, exitCode, said) => {
        const validation = await new Validator().validate({
          task: task({ verify, maxIterations: 3 }),
          agent: await spawn({ exec: () => ({ exitCode, output: said ? `${said}\n` : '', timedOut: false }) }),
          result: ok(''),
          iteration: 1,
        })
        expect(validation.outcome).toBe('retry')
        expect(validation.failure?.class).toBe('verify-failed')
        expect(validation.failure?.unrunnable).toBeUndefined()
      },
    )

    it('finds the program in what shells say when they cannot run it', () => {
      expect(programNotRun('sh: 1: pytest: not found')).toBe('pytest')
      expect(programNotRun('bash: line 1: pytset: command not found')).toBe('pytset')
      expect(programNotRun('sh: pytest: not found')).toBe('pytest')
      expect(programNotRun('zsh:1: command not found: pytest')).toBe('pytest')
      expect(programNotRun("/usr/bin/env: 'python': No such file or directory")).toBe('python')
      expect(programNotRun('sh: 1: ./check.sh: Permission denied')).toBe('./check.sh')
      expect(programNotRun('npm error code 127')).toBeUndefined()
    })

    /** What `npm test` prints when its script's runner is not installed (npm 11, dash). */
    const npmWithoutVitest = {
      exitCode: 127,
      output: '\n> app@1.0.0 test\n> vitest run\n\nsh: 1: vitest: not found\n',
      timedOut: false,
    }

    it('a program a script inside the verify runs (vitest under `npm test`) is a failed try the agent may fix', async () => {
      const validation = await new Validator().validate({
        task: task({ verify: 'npm test', maxIterations: 5 }),
        agent: await spawn({ exec: () => npmWithoutVitest }),
        result: ok(''),
        iteration: 1,
      })
      const reason =
        'verify exited with code 127: npm test. It runs `vitest`, which was not found (sh: 1: vitest: not found): ' +
        "install it where the verify runs (a fresh workspace has none of the project's dependencies until they are installed)"
      expect(validation).toMatchObject({ outcome: 'retry', reason, failure: { class: 'verify-failed', cause: reason } })
      expect(validation.failure?.unrunnable).toBeUndefined()
    })

    it('a script inside the verify that is not executable (exit 126) is a failed try: the agent can chmod it', async () => {
      const validation = await new Validator().validate({
        task: task({ verify: 'npm run check' }),
        agent: await spawn({
          exec: () => ({ exitCode: 126, output: 'sh: 1: ./scripts/check.sh: Permission denied\n', timedOut: false }),
        }),
        result: ok(''),
        iteration: 1,
      })
      expect(validation).toMatchObject({
        outcome: 'retry',
        reason:
          'verify exited with code 126: npm run check. It runs `./scripts/check.sh`, which could not be executed ' +
          '(sh: 1: ./scripts/check.sh: Permission denied): make it executable',
        failure: { class: 'verify-failed' },
      })
    })

    it.each([
      // Behind assignments and wrappers.
      ['npm ci && CI=1 env -u HOME time pytset -q', 'sh: 1: pytset: not found', 'pytset'],
      // A wrapper the verify runs its program with (no GNU timeout, as on a Mac).
      ['npm ci && timeout 300 pytest -q', 'sh: 1: timeout: not found', 'timeout'],
      // On the line a backslash continues.
      ['timeout 300 \\\n  pytset -q', 'sh: 1: pytset: not found', 'pytset'],
      // Unnamed, beside a redirection to a file in the workspace, which is no program of the workspace.
      ['npm test &>logs/test.txt', 'npm error code 127', undefined],
    ])(
      '%j exiting 127 (%s) is a program of the verify’s own, which no try can make run',
      async (verify, said, program) => {
        const validation = await new Validator().validate({
          task: task({ verify }),
          agent: await spawn({ exec: () => ({ exitCode: 127, output: `${said}\n`, timedOut: false }) }),
          result: ok(''),
          iteration: 1,
        })
        expect(validation).toMatchObject({
          outcome: 'failed',
          failure: { class: 'verify-could-not-run', unrunnable: { command: verify, exitCode: 127, said } },
        })
        expect(validation.failure?.unrunnable?.program).toBe(program)
      },
    )

    it('takes a program its output does not name for the verify’s own: its tasks are held, not failed one by one', async () => {
      const validation = await new Validator().validate({
        task: task({ verify: 'npm test' }),
        agent: await spawn({ exec: () => ({ exitCode: 127, output: 'npm error code 127\n', timedOut: false }) }),
        result: ok(''),
        iteration: 1,
      })
      expect(validation).toMatchObject({
        outcome: 'failed',
        reason: 'verify could not run (exit 127: npm error code 127): npm test',
        failure: {
          class: 'verify-could-not-run',
          unrunnable: { command: 'npm test', exitCode: 127, said: 'npm error code 127' },
        },
      })
      expect(validation.failure?.unrunnable?.program).toBeUndefined()
    })

    it('reads the program a wrapper could not run, and sees through wrappers and a shell’s -c', () => {
      expect(programNotRun("timeout: failed to run command 'pytest': No such file or directory")).toBe('pytest')
      expect(verifyPrograms('timeout -s KILL 5m pytest -q')).toEqual(['timeout', 'pytest'])
      expect(verifyPrograms('sudo -u ci nice -n 5 pytest')).toEqual(['sudo', 'nice', 'pytest'])
      expect(verifyPrograms('nohup xargs -n 1 pytest < files')).toEqual(['nohup', 'xargs', 'pytest'])
      expect(verifyPrograms('sh -c "pytest -q" && bash -lc ruff')).toEqual(['sh', 'pytest', 'bash', 'ruff'])
      expect(namesProgram('timeout 300 pytest', 'pytest')).toBe(true)
      expect(namesProgram('npm test', 'vitest')).toBe(false)
    })

    it("reads the verify's own programs: the first word of each simple command", () => {
      expect(verifyPrograms('npm test')).toEqual(['npm'])
      expect(verifyPrograms('CI=1 FOO="a b" pytest -q && ruff check . | tee log; make -C sub check || true')).toEqual([
        'pytest',
        'ruff',
        'tee',
        'make',
        'true',
      ])
      expect(verifyPrograms('env -i PATH=/bin:/usr/bin node --test\ntime -p ./check.sh')).toEqual([
        'env',
        'node',
        'time',
        './check.sh',
      ])
      expect(verifyPrograms('exec cargo test; command go vet ./...')).toEqual(['cargo', 'go'])
      // Quoted separators are arguments, not commands.
      expect(verifyPrograms(`sh -c 'pytest; ruff' && grep -q "a|b" out`)).toEqual(['sh', 'pytest', 'ruff', 'grep'])
      expect(verifyPrograms('(cd api && "./run tests.sh")')).toEqual(['cd', './run tests.sh'])
    })

    it('matches the program the shell names by the word as written, or by its file name when it names a path', () => {
      expect(namesProgram('pytest -q', 'pytest')).toBe(true)
      expect(namesProgram('./check.sh', './check.sh')).toBe(true)
      // bash names the path it had hashed.
      expect(namesProgram('pytest -q', '/usr/bin/pytest')).toBe(true)
      expect(namesProgram('/opt/venv/bin/pytest -q', '/opt/venv/bin/pytest')).toBe(true)
      expect(namesProgram('npm test', 'vitest')).toBe(false)
      expect(namesProgram('make check', 'ruff')).toBe(false)
      expect(namesProgram('npm test', 'node_modules/.bin/npmx')).toBe(false)
      // A word of the verify that is not a command's first is not its program.
      expect(namesProgram('npx vitest run', 'vitest')).toBe(false)
    })

    it('fails the task when the agent is gone and cannot run verify', async () => {
      const backend = createMemoryBackend()
      const agent = await backend.spawn({ name: 'w-1', role: 'default', options: {}, project })
      backend.agents.get('w-1')!.kill('oom')
      const validation = await new Validator().validate({
        task: task({ verify: 'true' }),
        agent,
        result: ok(''),
        iteration: 1,
      })
      expect(validation.outcome).toBe('failed')
      expect(validation.reason).toContain('verify could not run: agent w-1 is not running')
    })

    it('passes the timeout and the abort signal to exec', async () => {
      const seen: { aborted?: boolean }[] = []
      const agent: Agent = {
        ...(await spawn()),
        exec: async (_command, options) => {
          seen.push({ aborted: options?.signal?.aborted })
          expect(options?.timeoutMs).toBe(1234)
          return { exitCode: 0, output: '', timedOut: false, durationMs: 0 }
        },
      }
      const controller = new AbortController()
      await new Validator({ verifyTimeoutMs: 1234 }).validate({
        task: task({ verify: 'true' }),
        agent,
        result: ok(''),
        iteration: 1,
        signal: controller.signal,
      })
      controller.abort()
      await new Validator({ verifyTimeoutMs: 1234 }).validate({
        task: task({ verify: 'true' }),
        agent,
        result: ok(''),
        iteration: 1,
        signal: controller.signal,
      })
      expect(seen).toEqual([{ aborted: false }, { aborted: true }])
    })
  })
})
