// The Kafka codec against an independent implementation: kafka-python 2.0.2's protocol classes
// (Debian's python3-kafka) decode and re-encode every non-flexible request and response body Pier
// encodes; identical bytes mean both sides read Kafka's schemas the same way. (kafka-python has no
// flexible versions; those are checked against captured librdkafka frames in test/protocol/kafka.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeRequest, encodeResponse } from '../../src/protocol/kafka/codec/messages.js';
import { REQUESTS, RESPONSES } from '../../src/protocol/kafka/codec/schemas.js';
import { prng } from '../helpers/prng.js';
import { sampleStruct } from '../protocol/kafka/kafka-samples.js';
import { PYTHON, PYTHON_DIR, runOk } from './helpers.js';

const hasKafkaPython = spawnSync(PYTHON, ['-c', 'import kafka'], { stdio: 'ignore' }).status === 0;

// kafka-python 2.0.2's own schema bugs, where it disagrees with Kafka's JSON schemas (checked by
// hand): from this version on, its class for the message cannot be compared.
const KAFKA_PYTHON_BUGS: Record<string, { fromVersion: number; why: string }> = {
  FetchRequest: { fromVersion: 7, why: 'forgotten_topics_data uses an uninstantiated String type' },
  ListOffsetsRequest: { fromVersion: 4, why: 'current_leader_epoch declared Int64 (Kafka: int32)' },
  FindCoordinatorResponse: { fromVersion: 1, why: 'v1 lacks throttle_time_ms' },
  ProduceResponse: { fromVersion: 8, why: 'v8 lacks record_errors and error_message' },
  DescribeGroupsResponse: { fromVersion: 3, why: 'v3 lacks authorized_operations' },
  DescribeConfigsResponse: {
    fromVersion: 1,
    why: 'v1+ reads config_source (int8) as the v0 is_default boolean',
  },
};

test('kafka-python re-encodes Pier’s non-flexible bodies byte for byte', {
  skip: hasKafkaPython ? false : 'python3-kafka is not installed for /usr/bin/python3',
}, async () => {
  const rand = prng(0x6b70);
  const lines: string[] = [];
  const labels: string[] = [];
  for (const [apiKey, request] of REQUESTS) {
    const response = RESPONSES.get(apiKey)!;
    const [min, max] = request.validVersions;
    const firstFlexible = request.flexibleVersions?.[0] ?? max + 1;
    for (let v = min; v <= Math.min(max, firstFlexible - 1); v++) {
      for (let sample = 0; sample < 3; sample++) {
        const header = { apiKey, apiVersion: v, correlationId: 1, clientId: 'x' };
        // Frame: size (4), api key, version, correlation id (8), client id 'x' (3); the body follows.
        const req = encodeRequest(header, sampleStruct(request.fields, v, rand)).subarray(15);
        lines.push(`req ${apiKey} ${v} ${req.toString('hex')}`);
        labels.push(`${request.name} v${v}`);
        // Response frame: size (4), correlation id (4).
        const resp = encodeResponse(apiKey, v, 1, sampleStruct(response.fields, v, rand)).subarray(8);
        lines.push(`resp ${apiKey} ${v} ${resp.toString('hex')}`);
        labels.push(`${response.name} v${v}`);
      }
    }
  }
  const result = await runOk(PYTHON, [join(PYTHON_DIR, 'kafka_reencode.py')], {
    input: `${lines.join('\n')}\n`,
  });
  const results = JSON.parse(result.stdout.toString('utf8')) as string[];
  assert.equal(results.length, lines.length);
  const failures: string[] = [];
  let compared = 0;
  results.forEach((outcome, i) => {
    const [name, version] = labels[i]!.split(' v') as [string, string];
    const bug = KAFKA_PYTHON_BUGS[name];
    if (outcome === 'none' || (bug && Number(version) >= bug.fromVersion)) return;
    compared++;
    if (outcome !== 'ok')
      failures.push(`${labels[i]}: ${outcome.slice(0, 200)}\n  pier: ${lines[i]!.slice(0, 200)}`);
  });
  assert.deepEqual(failures, []);
  assert.ok(compared > 250, `only ${compared} bodies compared`);
});
