/**
 * Runs the code generators of scripts/ in --check mode: they read the specifications vendored in
 * spec/ (see spec/README.md) and exit 1, writing nothing, when a committed generated file differs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/test/helpers). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function runCheck(script: string, input?: string): { status: number | null; stderr: string } {
  const args = [join('scripts', script), '--check'];
  if (input !== undefined) args.push(input);
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
}

/** Asserts that `script --check` finds the committed output to be what the vendored spec gives. */
export function assertGeneratedUpToDate(script: string): void {
  const run = runCheck(script);
  assert.equal(run.status, 0, `${script} --check failed:\n${run.stderr}`);
}

/**
 * Asserts that `script --check` notices a change: `edit` rewrites a copy of the vendored spec file
 * `specFile` (relative to spec/); the check is run against the copy (a file, or the folder holding
 * it when `inputIsFolder`) and must fail without touching the committed `outputs`.
 */
export function assertCheckDetectsDrift(
  script: string,
  specFile: string,
  edit: (text: string) => string,
  outputs: readonly string[],
  inputIsFolder = false,
): void {
  const dir = mkdtempSync(join(tmpdir(), 'pier-gen-'));
  try {
    const source = join(ROOT, 'spec', specFile);
    const copy = inputIsFolder ? join(dir, 'spec') : join(dir, 'spec.json');
    if (inputIsFolder) cpSync(dirname(source), copy, { recursive: true });
    const edited = inputIsFolder ? join(copy, specFile.split('/').pop()!) : copy;
    const text = readFileSync(source, 'utf8');
    const changed = edit(text);
    assert.notEqual(changed, text, 'the edit changes the spec');
    writeFileSync(edited, changed);
    const before = outputs.map((path) => readFileSync(join(ROOT, path), 'utf8'));
    const run = runCheck(script, copy);
    assert.equal(run.status, 1, `${script} --check should fail on a changed spec:\n${run.stderr}`);
    assert.match(run.stderr, /is out of date/);
    const after = outputs.map((path) => readFileSync(join(ROOT, path), 'utf8'));
    assert.deepEqual(after, before, '--check writes nothing');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
