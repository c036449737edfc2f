// Prints the failed tests of a node:test log (TAP from Node 20 without a TTY, or the spec reporter's ✖ lines)
// compactly: name, where, and the first lines of the error. CI shows only the tail of its output, so the
// run's summary ends with this.   node .ci/test-failures.mjs <log file>
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n');
const failures = [];
for (let i = 0; i < lines.length; i++) {
  const match = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]);
  if (!match) continue;
  const fields = {};
  let key = '';
  for (let j = i + 1; j < lines.length && lines[j].trim() !== '...'; j++) {
    const field = /^\s*(location|failureType|error|code):\s?(.*)$/.exec(lines[j]);
    if (field) {
      key = field[1];
      fields[key] = field[2].replace(/^\|-?$/, '').replace(/^'(.*)'$/, '$1');
    } else if (key === 'error' && fields.error.split('\n').length < 4) {
      fields.error += `\n${lines[j].trim()}`;
    } else key = '';
  }
  if (fields.failureType === 'subtestsFailed') continue;
  failures.push(
    `✖ ${match[2]}\n    at ${fields.location ?? '?'}\n    ${(fields.error ?? '').trim().replace(/\n/g, '\n    ')}`,
  );
}
if (failures.length === 0) {
  // The spec reporter (a TTY, or Node 22+): its own list of failing tests ends the log.
  const start = lines.findIndex((line) => line.includes('failing tests:'));
  if (start >= 0)
    failures.push(
      ...lines
        .slice(start + 1)
        .filter((line) => line.trim() !== '')
        .slice(0, 40),
    );
}
if (failures.length === 0) {
  // No failed test: the runner's own complaints (a stopped file, a connection to a standard port), the
  // file that was running when the step ended, and the run's totals say what went wrong instead.
  const notes = lines.filter((line) =>
    /^run-tests:|timed out|^# (tests|pass|fail|cancelled|duration_ms) /.test(line),
  );
  // Node 20's TAP names each file's top-level tests; the last one begun and never ended was running.
  const lastStart = lines.findLastIndex((line) => line.startsWith('# Subtest: '));
  const running = lastStart >= 0 ? lines[lastStart].slice('# Subtest: '.length) : undefined;
  const ended = lines.slice(lastStart + 1).some((line) => /^(?:not )?ok \d+ - /.test(line));
  failures.push('(no failed test found in the log)', ...notes.slice(-12));
  if (running !== undefined && !ended) failures.push(`running when the log ends: the test "${running}"`);
  failures.push('last lines of the log:', ...lines.filter((line) => line.trim() !== '').slice(-8));
}
console.log(failures.join('\n'));
