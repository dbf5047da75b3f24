import { describe, expect, it } from 'vitest'
import { preflightProbe, preflightPrograms, probedProgram, readProbe } from './preflight.ts'

describe('preflightPrograms: what a verify runs whatever the agent does', () => {
  it.each([
    ['pytest -q', ['pytest']],
    ['pytset', ['pytset']],
    ['npm run tset', ['npm']],
    ['CI=1 pytest -q', ['pytest']],
    ['pytest -q 2>&1', ['pytest']],
    ['pytest -q > out.txt 2>&1 && ruff check .', ['pytest']],
    ['cd api && pytest -q', ['pytest']],
    ['cd api && cd tests && go test ./...', ['go']],
    ['timeout 300 pytest', ['timeout', 'pytest']],
    ['env CI=1 pytest', ['env', 'pytest']],
    ['exec pytest', ['pytest']],
    ['nice -n 5 make check', ['nice', 'make']],
    ['nice --adjustment 5 make check', ['nice', 'make']],
    ['timeout --signal KILL --kill-after=5 300 pytest', ['timeout', 'pytest']],
    ['timeout --signal=KILL 300 pytest', ['timeout', 'pytest']],
    ['/opt/qa/check.sh --all', ['/opt/qa/check.sh']],
    ['pytest "tests/a b.py" # the slow ones too', ['pytest']],
    ["sh -c 'pytset -q'", ['sh']],
    // The first command may install a later one's program, or change PATH: only the first is looked for.
    ['pip install pytest && pytest', ['pip']],
    ['source .venv/bin/activate && pytest', ['source']],
    // A YAML block scalar (`verify: |`) ends in a newline; a chain may go on past a newline after `&&`.
    ['pytest -q\n', ['pytest']],
    ['pytest -q\n\n', ['pytest']],
    ['cd api &&\n  pytest -q\n', ['pytest']],
    ['npm ci &&\n  npm test', ['npm']],
    ['pytest &&\n\n  ruff check .', ['pytest']],
  ])('%s → %j', (command, programs) => {
    expect(preflightPrograms(command)).toEqual(programs)
  })

  it.each([
    // The agent may write them: a path in the workspace.
    './run_tests.sh',
    'bin/check',
    'cd api && ./check.sh',
    // A missing program need not fail the verify, or which program runs needs a shell to tell.
    'pytest || true',
    'pytest; echo done',
    'pytest | tee log.txt',
    'pytest &',
    '(cd api && pytest)',
    'pytest\nruff check .',
    'pytest\n&& ruff check .',
    '`which pytest` -q',
    '$PYTHON -m pytest',
    '"pytest" -q',
    '~/bin/check',
    'if true; then pytest; fi',
    '! pytest',
    'PATH=./node_modules/.bin:$PATH vitest run',
    'env PATH=/opt/bin pytest',
    'env -i pytest',
    'command -v pytest',
    'PATH=/opt/bin && pytest',
    'true',
    'exit 0',
    'test -f out.txt',
    '',
    'pytest "unclosed',
  ])('%j: nothing to look for', (command) => {
    expect(preflightPrograms(command)).toEqual([])
  })
})

describe('the probe', () => {
  it('names the program it looks for, quoted for the shell, for a backend that answers it without one', () => {
    expect(probedProgram(preflightProbe('pytset'))).toBe('pytset')
    expect(probedProgram(preflightProbe("it's"))).toBe("it's")
    expect(preflightProbe("it's")).toContain(`p='it'\\''s';`)
    expect(probedProgram('pytest -q')).toBeUndefined()
  })

  it('reads what the probe printed; anything else is unsure', () => {
    const ran = (exitCode: number | null, output: string, timedOut = false) => ({ exitCode, output, timedOut })
    expect(readProbe(ran(0, '/usr/bin/pytest\ntanuki-preflight: found\n'))).toBe('found')
    expect(readProbe(ran(0, '/w/node_modules/.bin/vitest\ntanuki-preflight: found here\n'))).toBe('found-here')
    expect(readProbe(ran(127, 'tanuki-preflight: missing\n'))).toBe('missing')
    expect(readProbe(ran(127, 'tanuki-preflight: unsure\n'))).toBe('unsure')
    // No shell in the image, a wrapper's own 127: not the probe's word.
    expect(readProbe(ran(127, 'OCI runtime exec failed: exec: "sh": executable file not found in $PATH\n'))).toBe(
      'unsure',
    )
    expect(readProbe(ran(null, 'tanuki-preflight: missing\n', true))).toBe('unsure')
  })
})
