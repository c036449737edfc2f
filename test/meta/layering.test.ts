/**
 * The layering of src/, checked on the TypeScript sources (ARCHITECTURE.md describes it):
 *   - the core (src/core) does no I/O and knows no protocol: it imports no protocol, storage,
 *     composition, cli or admin module, nor the broker's entry points, nor node:fs, node:net,
 *     node:http or node:child_process (and their kin); node:crypto and node:buffer are fine;
 *   - the core's models are independent: core/amqp (vhosts, exchanges, routing), core/kafka and
 *     core/sqs import none of each other, and core/stream, which amqp and kafka share, imports none
 *     of them (the core root, e.g. broker-core.ts, composes the models and may import them);
 *   - a protocol (src/protocol/X) imports no other protocol (src/protocol/Y);
 *   - a codec (src/protocol/X/codec) imports only its own folder and src/util;
 *   - the metrics (src/metrics) render what they are given: they import only src/metrics and the
 *     core (its models and counters), do no I/O (src/composition/metrics.ts serves HTTP and reads
 *     /proc), and nothing but the composition imports them (the core and the protocols keep plain
 *     counters, core/stats.ts, that the metrics read).
 *   - the management API (src/management) sits beside composition: it imports the core, never a
 *     protocol, storage, composition, cli or admin module (composition hands it the protocols'
 *     state as plain interfaces), and the core does not import it;
 *   - a codec (src/protocol/X/codec) imports only its own folder and src/util;
 *   - the jobs library (src/jobs) is a client: it imports only src/jobs, node builtins and its
 *     client packages (amqplib, @aws-sdk/client-sqs), never the broker's internals, since it must
 *     run against RabbitMQ and AWS SQS too; nothing else in src imports it;
 *   - the bridges (src/bridge: message mapping and shovels) sit beside the protocols: they import
 *     the core, src/util and the protocols' pure codecs (src/protocol/X/codec, and Kafka's record-batch
 *     modules: record-batch, record-batch-encoder, record-decoder, record-cursor, compression,
 *     recompress — pure functions over stored batches, used by the stream view), never a protocol's
 *     server side, storage, composition, cli, admin or the management API; and only composition
 *     imports them (the core and the protocols never do), besides `pier handover`
 *     (src/cli/handover-cli.ts, handover-kafka-cli.ts, handover-sqs-cli.ts), which runs the
 *     hand-over's shovels in the CLI process.
 * Each rule is also run on small made-up files below, so a rule that stopped finding anything
 * would fail here rather than pass quietly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ImportReference, importsOf, readSources, repoRoot, type SourceFile } from './sources.js';

export interface LayeringViolation {
  readonly file: string;
  readonly line: number;
  readonly import: string;
  readonly rule: string;
}

const CORE_MODELS = ['amqp', 'kafka', 'sqs', 'stream'] as const;
/** Models other core models may import: streams back AMQP stream queues and Kafka topics. */
const SHARED_MODELS = new Set(['stream']);
const OUTSIDE_THE_CORE = [
  'src/protocol/',
  'src/storage/',
  'src/composition/',
  'src/cli/',
  'src/admin/',
  'src/metrics/',
  'src/management/',
];
/** What the management API must not import: it sees protocols only through composition. */
const BESIDE_THE_MANAGEMENT_API = [
  'src/protocol/',
  'src/storage/',
  'src/composition/',
  'src/cli/',
  'src/admin/',
];
/** What the bridges must not import: composition wires them to the listeners. */
const BESIDE_THE_BRIDGES = ['src/storage/', 'src/composition/', 'src/cli/', 'src/admin/', 'src/management/'];
/**
 * Kafka's record-batch format outside its codec folder: pure functions over Buffers (no sockets, no
 * state) that the bridges may use like a codec (the stream view builds and reads stored batches).
 */
const KAFKA_RECORD_MODULES = new Set(
  [
    'record-batch',
    'record-batch-encoder',
    'record-decoder',
    'record-cursor',
    'compression',
    'recompress',
  ].map((name) => `src/protocol/kafka/${name}.ts`),
);
const ENTRY_POINTS = new Set(['src/broker.ts', 'src/index.ts']);
/** Builtins that do I/O, which the core leaves to storage and the protocols. */
const IO_BUILTINS = new Set([
  'fs',
  'fs/promises',
  'net',
  'http',
  'https',
  'http2',
  'tls',
  'dgram',
  'child_process',
  'cluster',
  'worker_threads',
]);
/** Builtins a codec may use (Buffer is also a global). */
const CODEC_BUILTINS = new Set(['buffer']);

/** The packages the jobs library may import (its optional peer dependencies). */
const JOBS_PACKAGES = new Set(['amqplib', '@aws-sdk/client-sqs']);

const builtinName = (target: string): string | undefined =>
  target.startsWith('node:') ? target.slice('node:'.length) : undefined;
const isRelative = (ref: ImportReference) => ref.specifier?.startsWith('.') ?? false;
const modelOf = (path: string) => CORE_MODELS.find((m) => path.startsWith(`src/core/${m}/`));
const protocolOf = (path: string) => /^src\/protocol\/([^/]+)\//.exec(path)?.[1];
const codecFolderOf = (path: string) => /^(src\/protocol\/[^/]+\/codec\/)/.exec(path)?.[1];

/** Which rule, if any, the import `ref` in `file` breaks (a sentence naming the rule). */
function brokenRule(file: string, ref: ImportReference): string | undefined {
  const target = ref.target;
  if (file.startsWith('src/core/')) {
    if (target === undefined) {
      return 'the core imports only literal specifiers (an import(expression) cannot be checked)';
    }
    const builtin = builtinName(target) ?? (IO_BUILTINS.has(target) ? target : undefined);
    if (builtin !== undefined && IO_BUILTINS.has(builtin)) {
      return `the core does no I/O: it must not import node:${builtin} (storage and the protocols do)`;
    }
    if (isRelative(ref)) {
      const outside = OUTSIDE_THE_CORE.find((folder) => target.startsWith(folder));
      if (outside) return `the core must not import ${outside.slice(0, -1)} (the core is imported by it)`;
      if (ENTRY_POINTS.has(target)) return `the core must not import the broker's entry point ${target}`;
      if (!target.startsWith('src/')) return 'the core imports only from src/';
      const from = modelOf(file);
      const to = modelOf(target);
      if (from && to && from !== to && !SHARED_MODELS.has(to)) {
        return `core/${from} must not import core/${to}: the core's models are independent (only core/stream is shared)`;
      }
    }
  }
  if (file.startsWith('src/metrics/')) {
    if (target === undefined) return 'the metrics import only literal specifiers';
    const builtin = builtinName(target) ?? (IO_BUILTINS.has(target) ? target : undefined);
    if (builtin !== undefined && IO_BUILTINS.has(builtin)) {
      return `the metrics do no I/O: they must not import node:${builtin} (src/composition/metrics.ts does)`;
    }
    if (isRelative(ref) && !target.startsWith('src/metrics/') && !target.startsWith('src/core/')) {
      return `the metrics import only src/metrics and src/core, not ${target}`;
    }
  }
  if (
    (file.startsWith('src/protocol/') || file.startsWith('src/storage/')) &&
    target?.startsWith('src/metrics/') &&
    isRelative(ref)
  ) {
    return 'protocols and storage must not import src/metrics: they keep plain counters (core/stats.ts) the metrics read';
  }
  if (file.startsWith('src/management/') && target !== undefined && isRelative(ref)) {
    const beside = BESIDE_THE_MANAGEMENT_API.find((folder) => target.startsWith(folder));
    if (beside) {
      return `the management API must not import ${beside.slice(0, -1)} (composition passes it plain interfaces)`;
    }
    if (ENTRY_POINTS.has(target))
      return `the management API must not import the broker's entry point ${target}`;
  }
  if (file.startsWith('src/bridge/') && target !== undefined && isRelative(ref)) {
    const beside = BESIDE_THE_BRIDGES.find((folder) => target.startsWith(folder));
    if (beside) return `the bridges must not import ${beside.slice(0, -1)} (composition wires them)`;
    if (ENTRY_POINTS.has(target)) return `the bridges must not import the broker's entry point ${target}`;
    if (protocolOf(target) && !codecFolderOf(target) && !KAFKA_RECORD_MODULES.has(target)) {
      return `the bridges import only a protocol's pure codec (src/protocol/X/codec, Kafka's record-batch modules), not ${target}`;
    }
  }
  if (
    target?.startsWith('src/bridge/') &&
    isRelative(ref) &&
    !file.startsWith('src/bridge/') &&
    !file.startsWith('src/composition/') &&
    !/^src\/cli\/handover(-kafka|-sqs)?-cli\.ts$/.test(file)
  ) {
    return `only composition imports src/bridge (${file} must not)`;
  }
  const protocol = protocolOf(file);
  if (protocol && target !== undefined && isRelative(ref)) {
    const other = protocolOf(target);
    if (other && other !== protocol) {
      return `a protocol must not import another: src/protocol/${protocol} imports src/protocol/${other}`;
    }
  }
  if (file.startsWith('src/jobs/')) {
    if (target === undefined) return 'the jobs library imports only literal specifiers';
    if (isRelative(ref)) {
      if (!target.startsWith('src/jobs/')) {
        return `the jobs library must not import ${target}: it is a client of any AMQP or SQS broker, not part of Pier`;
      }
    } else if (builtinName(target) === undefined && !JOBS_PACKAGES.has(target)) {
      return `the jobs library imports only node builtins, amqplib and @aws-sdk/client-sqs, not '${target}'`;
    }
  } else if (target?.startsWith('src/jobs/') && isRelative(ref)) {
    return 'only the jobs library imports src/jobs: the broker does not depend on its own client library';
  }
  const codec = codecFolderOf(file);
  if (codec) {
    if (target === undefined) return 'a codec imports only literal specifiers';
    if (isRelative(ref)) {
      if (!target.startsWith(codec) && !target.startsWith('src/util/')) {
        return `a codec imports only its own folder (${codec}) and src/util`;
      }
    } else if (!CODEC_BUILTINS.has(builtinName(target) ?? '')) {
      return `a codec imports no packages or builtins other than node:buffer (${codec})`;
    }
  }
  return undefined;
}

export function layeringViolations(files: readonly SourceFile[]): LayeringViolation[] {
  const violations: LayeringViolation[] = [];
  for (const file of files) {
    for (const ref of importsOf(file)) {
      const rule = brokenRule(file.path, ref);
      if (rule) violations.push({ file: file.path, line: ref.line, import: ref.text, rule });
    }
  }
  return violations;
}

function report(violations: readonly LayeringViolation[]): string {
  return violations.map((v) => `${v.file}:${v.line}: ${v.import}\n    breaks: ${v.rule}`).join('\n');
}

describe('layering of src/', () => {
  test('the sources keep every rule', () => {
    const sources = readSources(repoRoot(), 'src');
    assert.ok(
      sources.some((f) => f.path === 'src/core/amqp/queue.ts'),
      'src/core/amqp/queue.ts not found: is the root right?',
    );
    assert.ok(sources.length > 100, `only ${sources.length} source files found`);
    const violations = layeringViolations(sources);
    assert.equal(violations.length, 0, `layering broken:\n${report(violations)}`);
  });

  test('the scan sees imports: the core root imports core/amqp, codecs import their own folder', () => {
    // Guards against a scan that finds nothing (and so passes): known imports must be seen.
    const sources = readSources(repoRoot(), 'src');
    const targets = (path: string) =>
      importsOf(sources.find((f) => f.path === path)!).map((ref) => ref.target);
    assert.ok(targets('src/core/broker-core.ts').includes('src/core/amqp/vhost.ts'));
    assert.ok(targets('src/core/amqp/vhost.ts').some((t) => t?.startsWith('node:')));
    assert.ok(
      targets('src/protocol/amqp/codec/frames.ts').some((t) => t?.startsWith('src/protocol/amqp/codec/')),
    );
  });
});

describe('layering rules on made-up files', () => {
  const check = (path: string, text: string) => layeringViolations([{ path, text }]);
  const rulesOf = (path: string, text: string) => check(path, text).map((v) => v.rule);

  test('the jobs library importing the broker, or an unlisted package, is a violation; amqplib is not', () => {
    assert.match(
      rulesOf('src/jobs/amqp-worker.ts', "import { DEDUP_HEADER } from '../core/amqp/queue-dedup.js';")[0]!,
      /the jobs library must not import src\/core\/amqp\/queue-dedup\.ts/,
    );
    assert.match(
      rulesOf('src/jobs/sqs/worker.ts', "import { x } from '../../protocol/sqs/model.js';")[0]!,
      /the jobs library must not import/,
    );
    assert.match(
      rulesOf('src/jobs/x.ts', "import { z } from 'zod';")[0]!,
      /imports only node builtins, amqplib/,
    );
    assert.match(
      rulesOf('src/core/amqp/vhost.ts', "import { Queue } from '../../jobs/amqp-queue.js';")[0]!,
      /only the jobs library imports src\/jobs/,
    );
    assert.deepEqual(check('src/jobs/amqp-queue.ts', "import type { ChannelModel } from 'amqplib';"), []);
    assert.deepEqual(check('src/jobs/sqs/queue.ts', "import { SQSClient } from '@aws-sdk/client-sqs';"), []);
    assert.deepEqual(check('src/jobs/sqs/queue.ts', "import { HEADER } from '../job-headers.js';"), []);
    assert.deepEqual(check('src/jobs/x.ts', "import { randomUUID } from 'node:crypto';"), []);
  });

  test('core/kafka, core/sqs and core/stream importing core/amqp are violations, named by file, import and rule', () => {
    const [violation, ...rest] = check(
      'src/core/kafka/topic.ts',
      "import { ManualClock } from '../manual-clock.js';\nimport type { VirtualHost } from '../amqp/vhost.js';\n",
    );
    assert.equal(rest.length, 0);
    assert.deepEqual(violation, {
      file: 'src/core/kafka/topic.ts',
      line: 2,
      import: "import type { VirtualHost } from '../amqp/vhost.js';",
      rule: "core/kafka must not import core/amqp: the core's models are independent (only core/stream is shared)",
    });
    assert.match(
      rulesOf('src/core/sqs/queue.ts', "export { Queue } from '../amqp/queue.js';")[0]!,
      /core\/sqs must not import core\/amqp/,
    );
    assert.match(
      rulesOf('src/core/stream/x.ts', "const q = await import('../amqp/queue.js');")[0]!,
      /core\/stream must not import core\/amqp/,
    );
    assert.match(
      rulesOf('src/core/stream/x.ts', "type Q = import('../kafka/topic.js').Topic;")[0]!,
      /core\/stream must not import core\/kafka/,
    );
    assert.match(
      rulesOf('src/core/sqs/x.ts', "import '../kafka/topic.js';")[0]!,
      /core\/sqs must not import core\/kafka/,
    );
  });

  test('allowed: the core root and core/amqp or core/kafka importing core/stream or shared core files', () => {
    assert.deepEqual(check('src/core/broker-core.ts', "import { VirtualHost } from './amqp/vhost.js';"), []);
    assert.deepEqual(
      check('src/core/amqp/stream-queue.ts', "import { Stream } from '../stream/stream.js';"),
      [],
    );
    assert.deepEqual(check('src/core/kafka/topic.ts', "import { Stream } from '../stream/stream.js';"), []);
    assert.deepEqual(check('src/core/sqs/queue.ts', "import type { Clock } from '../clock.js';"), []);
    assert.deepEqual(check('src/core/amqp/vhost.ts', "import { randomBytes } from 'node:crypto';"), []);
    assert.deepEqual(check('src/core/message.ts', "import { Buffer } from 'node:buffer';"), []);
  });

  test('the management API importing a protocol, storage or composition is a violation; the core is not', () => {
    for (const specifier of [
      '../protocol/amqp/connection.js',
      '../storage/storage.js',
      '../composition/amqp.js',
    ]) {
      const rules = rulesOf('src/management/queues.ts', `import { x } from '${specifier}';`);
      assert.equal(rules.length, 1, specifier);
      assert.match(rules[0]!, /the management API must not import/);
    }
    assert.deepEqual(
      check('src/management/queues.ts', "import type { Queue } from '../core/amqp/queue.js';"),
      [],
    );
    assert.deepEqual(check('src/management/http-server.ts', "import { createServer } from 'node:http';"), []);
  });

  test('a path in a comment or a string is not an import', () => {
    const text = [
      "// core/kafka never imports '../amqp/vhost.js' (see ARCHITECTURE.md)",
      "/* import { VirtualHost } from '../amqp/vhost.js'; */",
      'const note = "import fs from \'node:fs\'";',
      "const path = '../../protocol/amqp/channel.js';",
    ].join('\n');
    assert.deepEqual(check('src/core/kafka/notes.ts', text), []);
  });

  test('the core importing a protocol, storage, composition, cli, admin or an entry point is a violation', () => {
    for (const [specifier, rule] of [
      ['../../protocol/amqp/channel.js', /the core must not import src\/protocol/],
      ['../../storage/disk-dedup-store.js', /the core must not import src\/storage/],
      ['../composition/kafka.js', /the core must not import src\/composition/],
      ['../cli/admin-cli.js', /the core must not import src\/cli/],
      ['../admin/control-socket.js', /the core must not import src\/admin/],
      ['../management/routes.js', /the core must not import src\/management/],
      ['../broker.js', /the core must not import the broker's entry point src\/broker\.ts/],
    ] as const) {
      const path = specifier.startsWith('../../') ? 'src/core/amqp/x.ts' : 'src/core/x.ts';
      const rules = rulesOf(path, `import { x } from '${specifier}';`);
      assert.equal(rules.length, 1, specifier);
      assert.match(rules[0]!, rule);
    }
  });

  test('the core importing node:fs, node:net, node:http or node:child_process is a violation; node:crypto is not', () => {
    for (const builtin of [
      'node:fs',
      'node:fs/promises',
      'node:net',
      'node:http',
      'node:child_process',
      'fs',
    ]) {
      const rules = rulesOf('src/core/sqs/store.ts', `import * as io from '${builtin}';`);
      assert.equal(rules.length, 1, builtin);
      assert.match(rules[0]!, /the core does no I\/O/);
    }
    assert.match(rulesOf('src/core/x.ts', "const fs = await import('node:fs');")[0]!, /node:fs/);
    assert.match(rulesOf('src/core/x.ts', 'const m = await import(name);')[0]!, /cannot be checked/);
    assert.deepEqual(check('src/core/x.ts', "import { createHash } from 'node:crypto';"), []);
  });

  test('a protocol importing another protocol is a violation; importing the core is not', () => {
    const [rule] = rulesOf('src/protocol/sqs/server.ts', "import { KafkaServer } from '../kafka/server.js';");
    assert.match(rule!, /src\/protocol\/sqs imports src\/protocol\/kafka/);
    const [deep] = rulesOf('src/protocol/kafka/apis/x.ts', "export * from '../../amqp/errors.js';");
    assert.match(deep!, /src\/protocol\/kafka imports src\/protocol\/amqp/);
    assert.deepEqual(
      check('src/protocol/sqs/server.ts', "import { SqsQueue } from '../../core/sqs/queue.js';"),
      [],
    );
    assert.deepEqual(check('src/protocol/kafka/apis/x.ts', "import { y } from '../codec/index.js';"), []);
  });

  test('the metrics importing a protocol, storage, composition or I/O is a violation; the core is not', () => {
    assert.deepEqual(check('src/metrics/amqp.ts', "import type { Queue } from '../core/amqp/queue.js';"), []);
    assert.deepEqual(check('src/metrics/render.ts', "import { writeAmqpMetrics } from './amqp.js';"), []);
    assert.match(
      rulesOf('src/metrics/amqp.ts', "import { AmqpServer } from '../protocol/amqp/server.js';")[0]!,
      /the metrics import only src\/metrics and src\/core/,
    );
    assert.match(
      rulesOf('src/metrics/x.ts', "import type { Storage } from '../storage/storage.js';")[0]!,
      /the metrics import only/,
    );
    assert.match(rulesOf('src/metrics/x.ts', "import { createServer } from 'node:http';")[0]!, /no I\/O/);
    assert.match(rulesOf('src/metrics/x.ts', "import { readdirSync } from 'node:fs';")[0]!, /no I\/O/);
    assert.match(
      rulesOf('src/core/amqp/queue.ts', "import { renderMetrics } from '../../metrics/render.js';")[0]!,
      /the core must not import src\/metrics/,
    );
    assert.match(
      rulesOf('src/protocol/amqp/channel.ts', "import { x } from '../../metrics/amqp.js';")[0]!,
      /protocols and storage must not import src\/metrics/,
    );
    assert.deepEqual(
      check('src/composition/metrics.ts', "import { renderMetrics } from '../metrics/render.js';"),
      [],
    );
  });

  test('a codec importing outside its folder and src/util is a violation', () => {
    const codec = 'src/protocol/kafka/codec/messages.ts';
    assert.deepEqual(check(codec, "import { y } from './primitives.js';"), []);
    assert.deepEqual(check(codec, "import { y } from '../../../util/bytes.js';"), []);
    assert.deepEqual(check(codec, "import { Buffer } from 'node:buffer';"), []);
    assert.match(
      rulesOf(codec, "import { y } from '../record-batch.js';")[0]!,
      /a codec imports only its own folder/,
    );
    assert.match(
      rulesOf(codec, "import type { Topic } from '../../../core/kafka/topic.js';")[0]!,
      /its own folder/,
    );
    assert.match(rulesOf(codec, "import { gzipSync } from 'node:zlib';")[0]!, /no packages or builtins/);
    assert.match(
      rulesOf('src/protocol/amqp/codec/frames.ts', "import { x } from '../../kafka/codec/index.js';")[0]!,
      /a protocol must not import another/,
    );
  });

  test('the bridges importing a protocol server side, storage or composition is a violation; codecs and the core are not', () => {
    const bridge = 'src/bridge/shovel.ts';
    assert.deepEqual(check(bridge, "import type { Clock } from '../core/clock.js';"), []);
    assert.deepEqual(check(bridge, "import { x } from '../protocol/amqp/codec/field-table.js';"), []);
    assert.deepEqual(check(bridge, "import amqplib from 'amqplib';"), []);
    assert.deepEqual(
      check(bridge, "import { decodeRecords } from '../protocol/kafka/record-decoder.js';"),
      [],
    );
    assert.deepEqual(check(bridge, "import { x } from '../protocol/kafka/recompress.js';"), []);
    assert.match(
      rulesOf(bridge, "import { x } from '../protocol/kafka/apis/produce.js';")[0]!,
      /only a protocol's pure codec/,
    );
    assert.match(
      rulesOf(bridge, "import { x } from '../protocol/amqp/channel.js';")[0]!,
      /only a protocol's pure codec/,
    );
    assert.match(
      rulesOf(bridge, "import { x } from '../composition/amqp.js';")[0]!,
      /bridges must not import src\/composition/,
    );
    assert.match(
      rulesOf(bridge, "import { x } from '../storage/storage.js';")[0]!,
      /bridges must not import src\/storage/,
    );
    assert.match(
      rulesOf('src/core/x.ts', "import { x } from '../bridge/shovel.js';")[0]!,
      /only composition imports src\/bridge/,
    );
    assert.match(
      rulesOf('src/protocol/kafka/server.ts', "import { x } from '../../bridge/shovel.js';")[0]!,
      /only composition imports src\/bridge/,
    );
    assert.deepEqual(check('src/composition/bridge.ts', "import { x } from '../bridge/shovel.js';"), []);
  });
});
