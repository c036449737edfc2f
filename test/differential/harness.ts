// Runs each differential scenario against the reference RabbitMQ (PIER_REFERENCE_AMQP_URL) and
// against an in-process Pier, and compares what the client observed on each. With
// PIER_DIFFERENTIAL_SELF_CHECK=1 both sides are the reference, to show every scenario is deterministic;
// PIER_DIFFERENTIAL_PRINT=1 prints the reference's observation of each scenario.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { startTestBroker } from '../helpers/broker.js';
import type { AccountedDifference } from './differences.js';
import { type Observation, RUN_NAME_PATTERN } from './kit.js';

export interface Scenario {
  readonly name: string;
  run(connectionUrl: string): Promise<Observation>;
  /** Deliberate differences this scenario's comparison accounts for. */
  readonly differences?: readonly AccountedDifference[];
}

export const MISSING_REFERENCE =
  'PIER_REFERENCE_AMQP_URL is not set: the differential suite compares Pier with a reference RabbitMQ. ' +
  'Start one (e.g. `bash .ci/start-rabbitmq`) and set PIER_REFERENCE_AMQP_URL=amqp://guest:guest@127.0.0.1:5672';

/** A timestamp within this of now is written as '<recent>' (x-death time); any other stays visible. */
const RECENT_SECONDS = 600;

/** Replaces what differs from run to run (names, generated tags, current times) with placeholders. */
export function normalise(value: unknown): unknown {
  if (typeof value === 'string') {
    return value
      .replace(RUN_NAME_PATTERN, '<run>')
      .replace(/amq\.gen-[A-Za-z0-9_-]+/g, 'amq.gen-<id>')
      .replace(/amq\.ctag-[A-Za-z0-9_-]+/g, 'amq.ctag-<id>');
  }
  if (Buffer.isBuffer(value)) return { buffer: value.toString('hex') };
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (object['!'] === 'timestamp' && typeof object.value === 'number') {
      const recent = Math.abs(object.value - Date.now() / 1000) < RECENT_SECONDS;
      return { '!': 'timestamp', value: recent ? '<recent>' : object.value };
    }
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(object)) {
      if (inner !== undefined) out[normalise(key) as string] = normalise(inner);
    }
    return out;
  }
  return value;
}

const MAX_DIFFERENCE_LINES = 60;
const MAX_VALUE_CHARS = 300;

function shown(value: unknown): string {
  if (value === undefined) return '(absent)';
  const json = JSON.stringify(value);
  return json.length > MAX_VALUE_CHARS ? `${json.slice(0, MAX_VALUE_CHARS)}...` : json;
}

/** Collects `path: reference X, pier Y` for the outermost places where two observations part. */
function collectDifferences(expected: unknown, actual: unknown, path: string, lines: string[]): void {
  if (isDeepStrictEqual(expected, actual)) return;
  const bothObjects =
    expected !== null &&
    actual !== null &&
    typeof expected === 'object' &&
    typeof actual === 'object' &&
    Array.isArray(expected) === Array.isArray(actual);
  if (!bothObjects) {
    lines.push(`  ${path || '(root)'}: reference ${shown(expected)}, pier ${shown(actual)}`);
    return;
  }
  const a = expected as Record<string, unknown>;
  const b = actual as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const step = Array.isArray(a) ? `[${key}]` : path ? `.${key}` : key;
    collectDifferences(a[key], b[key], `${path}${step}`, lines);
  }
}

/** One line per place the observations differ, outermost first: `path: reference X, pier Y`. */
export function describeDifferences(expected: unknown, actual: unknown): string {
  const lines: string[] = [];
  collectDifferences(expected, actual, '', lines);
  if (lines.length > MAX_DIFFERENCE_LINES) {
    lines.splice(MAX_DIFFERENCE_LINES, lines.length, `  ... and ${lines.length - MAX_DIFFERENCE_LINES} more`);
  }
  return lines.join('\n');
}

/** Runs a scenario; on Pier a thrown error is an observation too (the diff shows where it parted). */
async function observe(scenario: Scenario, url: string, isReference: boolean): Promise<Observation> {
  try {
    return normalise(await scenario.run(url)) as Observation;
  } catch (error) {
    if (isReference) throw error;
    return { scenarioThrew: String(error) };
  }
}

/** One node:test test per scenario, under one describe block. */
export function differentialSuite(title: string, scenarios: readonly Scenario[]): void {
  describe(`differential: ${title}`, () => {
    const referenceUrl = process.env.PIER_REFERENCE_AMQP_URL;
    const selfCheck = process.env.PIER_DIFFERENTIAL_SELF_CHECK === '1';
    let subject: { url: string; stop(): Promise<void> } | undefined;

    before(async () => {
      if (!referenceUrl) throw new Error(MISSING_REFERENCE);
      subject = selfCheck ? { url: referenceUrl, stop: async () => {} } : await startTestBroker();
    });
    after(() => subject?.stop());

    for (const scenario of scenarios) {
      it(scenario.name, async (t) => {
        if (selfCheck) t.diagnostic('self-check: the reference against itself');
        let expected = await observe(scenario, referenceUrl!, true);
        if (process.env.PIER_DIFFERENTIAL_PRINT === '1') t.diagnostic(JSON.stringify(expected));
        let actual = await observe(scenario, subject!.url, selfCheck);
        for (const { difference, normalise: account } of scenario.differences ?? []) {
          t.diagnostic(`deliberate difference: ${difference.line}`);
          expected = account(expected);
          actual = account(actual);
        }
        if (!isDeepStrictEqual(actual, expected)) {
          assert.fail(`Pier differs from the reference:\n${describeDifferences(expected, actual)}`);
        }
      });
    }
  });
}
