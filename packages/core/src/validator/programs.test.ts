import { describe, expect, it } from 'vitest'
import { verifyPrograms } from './index.ts'
import { preflightPrograms } from './preflight.ts'

// The two readers of a verify command side by side: `verifyPrograms`, every program it runs
// itself (whether a shell's "not found" names one of them), and `preflightPrograms`, the programs
// looked for before any agent works (only those a plain `&&` chain surely runs, else nothing).
describe('what the validator reads of a verify command', () => {
  it.each([
    // Words: quotes, escapes, nothing at all.
    ['', [], []],
    ['   ', [], []],
    ['pytest', ['pytest'], ['pytest']],
    ['pytest -q', ['pytest'], ['pytest']],
    ['npm test', ['npm'], ['npm']],
    ['"pytest" -q', ['pytest'], []],
    ["'pytest' -q", ['pytest'], []],
    ['py\\test', ['pytest'], []],
    ['"./run tests.sh"', ['./run tests.sh'], []],
    ['"" pytest', [''], []],
    ['pytest "unclosed', ['pytest'], []],
    ["pytest 'a;b'", ['pytest'], ['pytest']],
    ['grep -q "a|b" out', ['grep'], ['grep']],
    ['echo \\; pytest', ['echo'], []],
    ['$PYTHON -m pytest', ['$PYTHON'], []],
    ['~/bin/check', ['~/bin/check'], []],
    // Assignments before the program.
    ['CI=1 pytest -q', ['pytest'], ['pytest']],
    ['CI=1 FOO="a b" pytest', ['pytest'], ['pytest']],
    ['PATH=/opt/bin pytest', ['pytest'], []],
    ['A=1', [], []],
    ['A=1 && pytest', ['pytest'], []],
    // Wrappers and their options: a wrapper is a program the verify runs too, but for the builtins exec and command.
    ['env CI=1 pytest', ['env', 'pytest'], ['env', 'pytest']],
    ['env -i pytest', ['env', 'pytest'], []],
    ['env -u HOME pytest', ['env', 'pytest'], []],
    ['env PATH=/x pytest', ['env', 'pytest'], []],
    ['exec pytest', ['pytest'], ['pytest']],
    ['exec -a x pytest', ['pytest'], []],
    ['command pytest', ['pytest'], ['pytest']],
    ['command -v pytest', ['pytest'], []],
    ['time pytest', ['time', 'pytest'], ['time', 'pytest']],
    ['time -p pytest', ['time', 'pytest'], ['time', 'pytest']],
    ['time -f %e pytest', ['time', 'pytest'], []],
    ['nice pytest', ['nice', 'pytest'], ['nice', 'pytest']],
    ['nice -n 5 make check', ['nice', 'make'], ['nice', 'make']],
    ['nice --adjustment 5 make', ['nice', 'make'], ['nice', 'make']],
    ['nohup pytest', ['nohup', 'pytest'], ['nohup', 'pytest']],
    ['sudo pytest', ['sudo', 'pytest'], ['sudo']],
    ['sudo -u ci pytest', ['sudo', 'pytest'], ['sudo']],
    ['xargs -n 1 pytest < files', ['xargs', 'pytest'], ['xargs']],
    ['timeout 300 pytest', ['timeout', 'pytest'], ['timeout', 'pytest']],
    ['timeout -s KILL 5m pytest -q', ['timeout', 'pytest'], ['timeout', 'pytest']],
    ['timeout --signal KILL 5 pytest', ['timeout', 'pytest'], ['timeout', 'pytest']],
    ['timeout --preserve-status 5 pytest', ['timeout', 'pytest'], ['timeout', 'pytest']],
    ['timeout 5 A=1 pytest', ['timeout', 'pytest'], []],
    ['timeout', ['timeout'], []],
    ['sh -c "pytest -q"', ['sh', 'pytest'], ['sh']],
    ['bash -lc ruff', ['bash', 'ruff'], ['bash']],
    ['/bin/sh -c "a; b"', ['/bin/sh', 'a', 'b'], ['/bin/sh']],
    // Chains: `cd DIR &&`, what an earlier command may install, other separators.
    ['cd api && npm test', ['cd', 'npm'], ['npm']],
    ['cd api && cd t && go test ./...', ['cd', 'go'], ['go']],
    ['pushd api && make', ['pushd', 'make'], ['make']],
    ['cd api', ['cd'], []],
    ['pip install pytest && pytest', ['pip', 'pytest'], ['pip']],
    ['source .venv/bin/activate && pytest', ['source', 'pytest'], ['source']],
    ['pytest && ruff', ['pytest', 'ruff'], ['pytest']],
    ['pytest || true', ['pytest', 'true'], []],
    ['pytest; ruff', ['pytest', 'ruff'], []],
    ['pytest | tee log', ['pytest', 'tee'], []],
    ['pytest &', ['pytest'], []],
    ['pytest & ruff', ['pytest', 'ruff'], []],
    ['pytest\nruff', ['pytest', 'ruff'], []],
    ['pytest\n', ['pytest'], ['pytest']],
    ['&& pytest', ['pytest'], []],
    ['pytest &&', ['pytest'], []],
    ['pytest && && ruff', ['pytest', 'ruff'], []],
    // Compound commands and substitutions.
    ['(cd api && pytest)', ['cd', 'pytest'], []],
    ['{ pytest; }', ['pytest', '}'], []],
    ['if true; then pytest; fi', ['true', 'pytest', 'fi'], []],
    ['for f in a b; do pytest $f; done', ['for', 'pytest', 'done'], []],
    ['while true; do x; done', ['true', 'x', 'done'], []],
    ['! pytest', ['pytest'], []],
    // A substitution's commands are the verify's too; the word it makes is not a name to look for.
    ['$(which pytest) -q', ['$(which pytest)', 'which'], []],
    ['`which pytest` -q', ['`which pytest`', 'which'], []],
    ['pytest $(cat args)', ['pytest', 'cat'], []],
    ['pytest --basetemp=$(mktemp -d) -q', ['pytest', 'mktemp'], []],
    ['pytest "$(cat args)"', ['pytest'], ['pytest']],
    // Comments.
    ['pytest # comment', ['pytest'], ['pytest']],
    ['pytest # slow; and more', ['pytest'], ['pytest']],
    // A comment ends at its line's end: the next line is a command of its own, whose exit is the verify's.
    ['pytest # c\nruff check .', ['pytest', 'ruff'], []],
    ['# only a comment', [], []],
    ['a#b c', ['a#b'], []],
    // Redirections and line continuations.
    // The `&` and `|` of a redirection are not operators: `1` and `>logs/out.txt` are no programs.
    ['pytest -q 2>&1', ['pytest'], ['pytest']],
    ['pytest -q > out.txt 2>&1 && ruff', ['pytest', 'ruff'], ['pytest']],
    ['pytest &>logs/out.txt', ['pytest'], ['pytest']],
    ['pytest >|out', ['pytest'], ['pytest']],
    ['pytest 2>&1 | tee log', ['pytest', 'tee'], []],
    ['> out pytest', ['>'], []],
    // A backslash before a newline joins the lines: one command.
    ['pytest \\\n  -q', ['pytest'], ['pytest']],
    ['timeout 300 \\\n  pytest -q', ['timeout', 'pytest'], ['timeout', 'pytest']],
    ['CI=1 \\\n pytest', ['pytest'], ['pytest']],
    // Programs by a path, builtins.
    ['./run_tests.sh', ['./run_tests.sh'], []],
    ['bin/check', ['bin/check'], []],
    ['/opt/qa/check.sh --all', ['/opt/qa/check.sh'], ['/opt/qa/check.sh']],
    ['cd api && ./check.sh', ['cd', './check.sh'], []],
    ['true', ['true'], []],
    ['exit 0', ['exit'], []],
    ['test -f out.txt', ['test'], []],
  ])('%j: runs %j, looked for first %j', (command, programs, preflight) => {
    expect(verifyPrograms(command)).toEqual(programs)
    expect(preflightPrograms(command)).toEqual(preflight)
  })
})
