import { createMemoryBackend, type MemoryAgent } from '@tanuki/core'
import { describeAgentBackend, type ContractScript } from '../src/index.ts'
import { shellContractTask } from '../src/agent-backend.ts'

// The memory backend does not run shell: its script reads what the contract asked for from the
// task (kept in `extra`) and acts it out.
describeAgentBackend({
  name: 'memory',
  backend: () =>
    createMemoryBackend({
      isolated: true,
      script: ({ task, onOutput }) => {
        const script = task.extra.contract as ContractScript
        onOutput?.({ stream: 'stdout', text: `${script.print}\n` })
        if (script.hang) return { type: 'hang' }
        return {
          type: 'succeed',
          output: script.print,
          files: script.write ? { [script.write[0]]: script.write[1] } : {},
        }
      },
      exec: async (command, files, signal) => {
        const cat = /^cat (\S+)$/.exec(command)
        if (cat) return { exitCode: files.has(cat[1]!) ? 0 : 1, output: files.get(cat[1]!) ?? '', timedOut: false }
        const exit = /^echo (\S+) >&2; exit (\d+)$/.exec(command)
        if (exit) return { exitCode: Number(exit[2]), output: `${exit[1]}\n`, timedOut: false }
        const sleep = /^sleep (\d+)$/.exec(command)
        if (sleep) {
          await new Promise<void>((done) => {
            const timer = setTimeout(done, Number(sleep[1]) * 1000)
            signal?.addEventListener('abort', () => (clearTimeout(timer), done()), { once: true })
          })
          return signal?.aborted
            ? { exitCode: null, output: '', timedOut: true }
            : { exitCode: 0, output: '', timedOut: false }
        }
        return { exitCode: 127, output: `not understood: ${command}`, timedOut: false }
      },
    }),
  project: () => ({ root: '/memory', name: 'memory', stateDir: '/memory/.tanuki' }),
  task: (script) => {
    const task = shellContractTask(script)
    return { ...task, extra: { ...task.extra, contract: script } }
  },
  kill: (agent) => (agent as MemoryAgent).kill('killed by the contract'),
})
