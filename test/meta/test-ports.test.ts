/**
 * Tests start brokers and listen on sockets only through test/helpers/broker.ts, which gives every
 * listener port 0 or switches it off and refuses the standard ports (5672, 9092, 9324, 15672, 15692 and
 * the TLS ones 5671, 9093, 9325, 15671): so
 * `npm test` passes beside a RabbitMQ, Kafka or ElasticMQ on the same machine. This scans the test
 * sources (compat and differential included; bench is not a test) for the ways around the helper:
 *   - importing `startBroker` (or the whole entry module) from src;
 *   - naming the CLI entry (src/cli/pier.js), or running `pier` or `npx` as a command;
 *   - calling `.listen(` on anything.
 * The runtime side: the helpers refuse a standard port, and scripts/run-tests.mjs holds the
 * standard ports on loopback during the run so a broker bound to one fails to start.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runPier, STANDARD_PORTS, spawnBroker, startTestBroker } from '../helpers/broker.js';
import { importsOf, parse, readSources, repoRoot, type SourceFile, ts } from './sources.js';

/** The one file allowed to start brokers, run the CLI and listen. */
const HELPER = 'test/helpers/broker.ts';
const ENTRY_MODULES = new Set(['src/index.ts', 'src/broker.ts']);
const PROCESS_FUNCTIONS = new Set([
  'spawn',
  'spawnSync',
  'exec',
  'execSync',
  'execFile',
  'execFileSync',
  'fork',
]);
const CLI_ENTRY = /\bcli\/pier(\.[jt]s)?\b/;

export interface PortViolation {
  readonly file: string;
  readonly line: number;
  readonly code: string;
  readonly fix: string;
}

export function portViolations(file: SourceFile): PortViolation[] {
  if (file.path === HELPER) return [];
  const violations: PortViolation[] = [];
  for (const ref of importsOf(file)) {
    if (ref.target === undefined || !ENTRY_MODULES.has(ref.target)) continue;
    if (ref.names.includes('startBroker') || ref.names.includes('*')) {
      violations.push({
        file: file.path,
        line: ref.line,
        code: ref.text,
        fix: `start brokers with startTestBroker (or startKafkaTestBroker) from ${HELPER}, not startBroker`,
      });
    }
  }
  const source = parse(file);
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const add = (node: ts.Node, fix: string) =>
    violations.push({
      file: file.path,
      line: lineOf(node),
      code: node.getText(source).replace(/\s+/g, ' ').slice(0, 160),
      fix,
    });
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) && CLI_ENTRY.test(node.text)) {
      add(node, `run the CLI with runPier or spawnBroker from ${HELPER}`);
    } else if (ts.isTemplateExpression(node) && CLI_ENTRY.test(node.getText(source))) {
      add(node, `run the CLI with runPier or spawnBroker from ${HELPER}`);
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (ts.isPropertyAccessExpression(callee) && callee.name.text === 'listen') {
        add(node, `listen with listenOnFreePort or listenNodeServer from ${HELPER} (port 0 on loopback)`);
      }
      const name = ts.isIdentifier(callee)
        ? callee.text
        : ts.isPropertyAccessExpression(callee)
          ? callee.name.text
          : undefined;
      const command = node.arguments[0];
      if (
        name !== undefined &&
        PROCESS_FUNCTIONS.has(name) &&
        command !== undefined &&
        ts.isStringLiteralLike(command) &&
        /^(pier|npx)(\s|$)/.test(command.text)
      ) {
        add(node, `run the CLI with runPier or spawnBroker from ${HELPER}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return violations;
}

describe('tests start brokers only through the helper', () => {
  test('no test file imports startBroker, runs the CLI or listens by itself', () => {
    const root = repoRoot();
    const sources = readSources(root, 'test');
    for (const expected of [HELPER, 'test/compat/broker.ts', 'test/differential/harness.ts']) {
      assert.ok(
        sources.some((f) => f.path === expected),
        `${expected} not among the scanned files`,
      );
    }
    const violations = sources.flatMap(portViolations);
    assert.equal(
      violations.length,
      0,
      `tests that may bind a standard port:\n${violations
        .map((v) => `${v.file}:${v.line}: ${v.code}\n    ${v.fix}`)
        .join('\n')}`,
    );
  });

  test('the helper itself does what the others may not (the scan looks where it should)', () => {
    const helper = readSources(repoRoot(), 'test/helpers').find((f) => f.path === HELPER)!;
    const asIfElsewhere = portViolations({ path: 'test/helpers/elsewhere.ts', text: helper.text });
    const fixes = asIfElsewhere.map((v) => v.fix).join('\n');
    assert.match(fixes, /not startBroker/);
    assert.match(fixes, /runPier or spawnBroker/);
    assert.match(fixes, /listenOnFreePort/);
  });
});

describe('the scan on made-up test files', () => {
  // Built, so this file's own text does not name the CLI entry.
  const cliEntry = ['src', 'cli', 'pier.js'].join('/');
  const scan = (text: string) =>
    portViolations({ path: 'test/protocol/kafka/made-up.test.ts', text }).map((v) => `${v.line}: ${v.fix}`);

  test('the bug this guards against: startBroker imported and called without sqsPort', () => {
    const found = scan(
      [
        "import { startBroker } from '../../../src/index.js';",
        'const broker = await startBroker({ dataDir, amqpPort: false, kafkaPort: 0 });',
      ].join('\n'),
    );
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^1: start brokers with startTestBroker/);
  });

  test('other ways in: the broker module, a namespace import, export-from, dynamic import', () => {
    assert.equal(scan("import { startBroker as start } from '../../../src/broker.js';").length, 1);
    assert.equal(scan("import * as pier from '../../../src/index.js';").length, 1);
    assert.equal(scan("export { startBroker } from '../../../src/index.js';").length, 1);
    assert.equal(scan("const { startBroker } = await import('../../../src/index.js');").length, 1);
    assert.deepEqual(scan("import { ManualClock, type Broker } from '../../../src/index.js';"), []);
  });

  test('running the CLI or listening directly', () => {
    assert.match(
      scan(`const CLI = fileURLToPath(new URL('../../${cliEntry}', import.meta.url));`)[0]!,
      /runPier or spawnBroker/,
    );
    assert.match(scan(`spawn(process.execPath, [\`\${dist}/${cliEntry}\`, 'serve']);`)[0]!, /runPier/);
    assert.match(scan("execFile('pier', ['serve']);")[0]!, /runPier/);
    assert.match(scan("spawn('npx', ['pier', 'serve']);")[0]!, /runPier/);
    assert.match(scan("await server.listen('127.0.0.1', 0);")[0]!, /listenOnFreePort/);
    assert.match(scan('blocker.listen(9324, resolve);')[0]!, /listenNodeServer/);
    assert.deepEqual(
      scan(`// a comment about ${cliEntry} and server.listen(5672)\nspawn('python3', [script]);`),
      [],
    );
  });
});

describe('the helpers refuse the standard ports', () => {
  test('startTestBroker: a standard port is refused before anything binds; an undefined one is off', async () => {
    for (const [option, port] of [
      ['amqpPort', 5672],
      ['kafkaPort', 9092],
      ['sqsPort', 9324],
      ['httpPort', 15672],
      ['prometheusPort', 15692],
    ] as const) {
      await assert.rejects(
        startTestBroker({ [option]: port }),
        new RegExp(`${option}: ${port} is a standard port`),
      );
    }
    const broker = await startTestBroker({ amqpPort: undefined, kafkaPort: undefined, sqsPort: undefined });
    try {
      assert.notEqual(broker.amqp!.port, 5672);
      assert.equal(broker.kafka, undefined);
      assert.equal(broker.sqs, undefined);
      assert.equal(broker.prometheus, undefined);
    } finally {
      await broker.stop();
    }
  });

  test('runPier and spawnBroker: a standard port in the flags or the environment is refused', async () => {
    await assert.rejects(runPier(['serve', '--kafka-port', '9092']), /--kafka-port: 9092 is a standard port/);
    await assert.rejects(runPier(['serve', '--sqs-port=9324']), /--sqs-port: 9324 is a standard port/);
    await assert.rejects(runPier(['serve'], { env: { PIER_AMQP_PORT: '5672' } }), /PIER_AMQP_PORT: 5672/);
    await assert.rejects(spawnBroker('never-created', ['--http-port', '15672']), /--http-port: 15672/);
    await assert.rejects(
      spawnBroker('never-created', ['--prometheus-port', '15692']),
      /--prometheus-port: 15692/,
    );
    await assert.rejects(runPier(['serve', '--amqps-port', '5671']), /--amqps-port: 5671 is a standard port/);
    await assert.rejects(
      spawnBroker('never-created', ['--kafka-tls-port=9093']),
      /--kafka-tls-port: 9093 is a standard port/,
    );
    assert.deepEqual([...STANDARD_PORTS.values()], [5672, 9092, 9324, 15672, 15692, 5671, 9093, 9325, 15671]);
  });

  test('scripts/run-tests.mjs holds the same ports during a run', () => {
    const runner = readFileSync(join(repoRoot(), 'scripts', 'run-tests.mjs'), 'utf8');
    const listed = /const STANDARD_PORTS = \[([\d, ]+)\];/.exec(runner)?.[1];
    assert.ok(listed, 'STANDARD_PORTS not found in scripts/run-tests.mjs');
    assert.deepEqual(listed.split(',').map(Number), [...STANDARD_PORTS.values()]);
  });
});
