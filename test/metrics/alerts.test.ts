// The shipped alerting rules (deploy/prometheus/pier-alerts.yml) pass `promtool check rules` and
// their unit tests (pier-alerts.test.yml) pass `promtool test rules`. promtool comes with Debian's
// `prometheus` package, which CI installs (.ci/run): there the test must run; elsewhere it is
// skipped, with a message, when promtool is absent.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../meta/sources.js';

const run = promisify(execFile);
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((path) => existsSync(path));
const inCi = process.env.CI === 'true';
const skip = PROMTOOL || inCi ? false : 'promtool is not installed (Debian package prometheus)';
const rulesDir = join(repoRoot(), 'deploy', 'prometheus');

test('CI has promtool', { skip: !inCi }, () => {
  assert.ok(PROMTOOL, 'promtool not found: .ci/run installs the prometheus package');
});

test('promtool check rules: the shipped rules file is valid', { skip }, async () => {
  const { stdout } = await run(PROMTOOL!, ['check', 'rules', 'pier-alerts.yml'], { cwd: rulesDir });
  assert.match(stdout, /SUCCESS: 9 rules found/);
});

test('promtool test rules: every alert fires after its `for:` and not before', { skip }, async () => {
  const { stdout } = await run(PROMTOOL!, ['test', 'rules', 'pier-alerts.test.yml'], { cwd: rulesDir });
  assert.match(stdout, /SUCCESS/);
});

test('every alert in the rules file has a unit test', () => {
  const rules = readFileSync(join(rulesDir, 'pier-alerts.yml'), 'utf8');
  const tests = readFileSync(join(rulesDir, 'pier-alerts.test.yml'), 'utf8');
  const alerts = [...rules.matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]!);
  assert.equal(alerts.length, 9);
  for (const alert of alerts) assert.match(tests, new RegExp(`alertname: ${alert}\\n`), alert);
});
