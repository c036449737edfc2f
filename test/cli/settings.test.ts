/**
 * One declaration per setting (src/config/settings.ts): `pier serve --help`, the CLI's parser, the
 * README's tables and `startBroker()`'s defaults must all say what the declarations say.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import {
  parseServeArgs,
  README_TABLE_END,
  README_TABLE_START,
  readmeFlagTable,
  serveHelp,
  UsageError,
} from '../../src/cli/serve-flags.js';
import { describeDefault, optionAt, SETTINGS, type Setting } from '../../src/config/settings.js';
import { availableMemoryBytes } from '../../src/resources/resource-monitor.js';
import { runPier, startTestBroker, tempDir } from '../helpers/broker.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DECLARED: readonly Setting[] = SETTINGS;

/** Declarations whose default is a value (not decided at start, as the advertised address). */
const valued = DECLARED.filter((s) => s.default !== undefined && s.defaultText === undefined);

test('declarations: unique flags, PIER_<FLAG> variables, unique options', () => {
  const unique = (values: string[]) => assert.equal(new Set(values).size, values.length, values.join());
  unique(DECLARED.map((s) => s.flag));
  unique(DECLARED.map((s) => s.env));
  unique(DECLARED.map((s) => s.option));
  for (const s of DECLARED) {
    assert.match(s.flag, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, s.flag);
    assert.equal(s.env, `PIER_${s.flag.toUpperCase().replaceAll('-', '_')}`);
    assert.ok(s.help.length > 0 && !s.help.includes('\n'), `${s.flag}: one line of help`);
  }
});

test('each default, as --help and the README write it, parses back to the declared default', () => {
  for (const s of DECLARED) {
    const written = describeDefault(s);
    if (s.defaultText !== undefined) continue;
    assert.deepEqual(s.type.parse(written), s.default, `--${s.flag} default '${written}'`);
  }
});

test('pier serve --help shows every declared flag with its value, variable and default', async () => {
  const { stdout } = await runPier(['serve', '--help']);
  assert.equal(stdout, serveHelp());
  const documented = [...stdout.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) => m[1]);
  assert.deepEqual(documented, [...DECLARED.map((s) => s.flag), 'help']);
  for (const s of DECLARED) {
    const block = stdout.slice(stdout.indexOf(`  --${s.flag} `));
    assert.ok(block.startsWith(`  --${s.flag} ${s.type.placeholder}`), `--${s.flag} placeholder`);
    const footer = block.match(/^ {6}\(env (\S+), default (.*)\)$/m);
    assert.ok(footer, `--${s.flag}: no (env, default) line`);
    assert.equal(footer[1], s.env);
    assert.equal(footer[2], describeDefault(s));
    // The help text, unwrapped, is the declaration's.
    const text = block
      .slice(block.indexOf('\n') + 1, footer.index)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .join(' ');
    assert.equal(text, s.help, `--${s.flag} help`);
  }
});

/** The cells of a markdown table row, unescaped (code spans unwrapped, HTML entities decoded). */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) =>
      cell
        .trim()
        .replaceAll('\\|', '|')
        .replaceAll('\\*', '*')
        .replace(/^`(.*)`$/, '$1')
        .replaceAll('&lt;', '<')
        .replaceAll('&gt;', '>')
        .replaceAll('&amp;', '&'),
    );
}

function readme(): string {
  return readFileSync(join(ROOT, 'README.md'), 'utf8');
}

test('the README flag table is the declarations (node scripts/gen-readme-flags.mjs regenerates it)', () => {
  const text = readme();
  const start = text.indexOf(README_TABLE_START);
  const end = text.indexOf(README_TABLE_END);
  assert.ok(start >= 0 && end > start, 'README.md lacks the serve-flags markers');
  const table = text.slice(start + README_TABLE_START.length, end).trim();
  assert.equal(
    table,
    readmeFlagTable(),
    'README flag table out of date: npm run build && node scripts/gen-readme-flags.mjs',
  );
  const rows = table.split('\n').slice(2).map(cells);
  assert.equal(rows.length, DECLARED.length);
  rows.forEach(([flag, env, def, option, help], i) => {
    const s = DECLARED[i]!;
    assert.equal(flag, `--${s.flag} ${s.type.placeholder}`);
    assert.equal(env, s.env);
    assert.equal(def, describeDefault(s), `--${s.flag} default`);
    assert.equal(option, s.option);
    assert.equal(help, s.help);
  });
});

test("the README's startBroker table gives the declared defaults of the options it lists", () => {
  const text = readme();
  const from = text.indexOf('\n| option ');
  const lines = text.slice(from + 1).split('\n');
  const rows = lines
    .slice(
      2,
      lines.findIndex((l) => !l.startsWith('|')),
    )
    .map(cells);
  const listed = new Map(rows.map(([option, def]) => [option!, def!.replace(/^'(.*)'$/, '$1')]));
  const topLevel = valued.filter((s) => !s.option.includes('.'));
  assert.ok(topLevel.length > 5);
  for (const s of topLevel) {
    assert.equal(listed.get(s.option), describeDefault(s), `startBroker table: ${s.option}`);
  }
});

test('startBroker() runs with the declared defaults: options, components and the AMQP handshake', async () => {
  const dataDir = tempDir();
  const given = {
    dataDir,
    amqpPort: 0,
    kafkaPort: 0,
    sqsPort: 0,
    httpPort: false as const,
    prometheusPort: false as const,
    // startTestBroker switches the TLS listeners off (their declared default: off without a certificate).
    amqpsPort: false as const,
    kafkaTlsPort: false as const,
    sqsTlsPort: false as const,
    httpsPort: false as const,
  };
  const broker = await startTestBroker(given);
  try {
    for (const s of DECLARED) {
      const expected = s.option in given ? given[s.option as keyof typeof given] : s.default;
      assert.deepEqual(optionAt(broker.options, s.option), expected, s.option);
    }
    const declared = (flag: string) => DECLARED.find((s) => s.flag === flag)!.default;
    assert.equal(broker.amqp?.host, declared('host'));
    assert.equal(
      broker.groups.config.initialRebalanceDelayMs,
      declared('kafka-group-initial-rebalance-delay-ms'),
    );
    assert.equal(broker.groups.config.minSessionTimeoutMs, declared('kafka-group-min-session-timeout-ms'));
    assert.equal(broker.groups.config.maxSessionTimeoutMs, declared('kafka-group-max-session-timeout-ms'));
    assert.equal(broker.resources.diskFreeLimitBytes, declared('disk-free-limit'));
    assert.equal(broker.resources.checkIntervalMs, declared('resource-check-interval-ms'));
    const watermark = declared('memory-high-watermark') as { fraction: number };
    assert.equal(broker.resources.memoryLimitBytes, Math.floor(watermark.fraction * availableMemoryBytes()));
    assert.equal(broker.sqsQueues.accountId, declared('sqs-account-id'));
    assert.equal(broker.sqsQueues.region, declared('sqs-region'));
    // 0: no preference of the client's, so it takes what the server proposes.
    const connection = await amqp.connect(`${broker.amqp!.url}?frameMax=0&channelMax=0`);
    const tuned = (connection as unknown as { connection: Record<string, number> }).connection;
    assert.equal(tuned.frameMax, declared('frame-max'));
    assert.equal(tuned.channelMax, declared('channel-max'));
    assert.equal(tuned.heartbeat, declared('heartbeat'));
    await connection.close();
  } finally {
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the CLI parser: nothing given leaves every option to startBroker; flags and PIER_* give the declared option', () => {
  assert.deepEqual(parseServeArgs([], {}), {});
  assert.equal(parseServeArgs(['--help'], {}), undefined);
  for (const s of valued) {
    const written = describeDefault(s);
    assert.deepEqual(optionAt(parseServeArgs([`--${s.flag}`, written], {})!, s.option), s.default, s.flag);
    assert.deepEqual(optionAt(parseServeArgs([], { [s.env]: written })!, s.option), s.default, s.env);
  }
});

test('the CLI parser: a flag wins over its variable; an empty variable is unset; errors name the source', () => {
  const options = parseServeArgs(['--amqp-port', '1234'], { PIER_AMQP_PORT: '99', PIER_HOST: '' })!;
  assert.equal(options.amqpPort, 1234);
  assert.equal(options.host, undefined);
  assert.throws(
    () => parseServeArgs([], { PIER_HEARTBEAT: 'often' }),
    (error: Error) =>
      error instanceof UsageError &&
      error.message === "PIER_HEARTBEAT (--heartbeat): 'often' must be a non-negative integer or 'off'",
  );
  assert.throws(
    () => parseServeArgs(['--kafka-advertised-port', '70000'], {}),
    /--kafka-advertised-port: '70000' must be between 1 and 65535/,
  );
  const keys = parseServeArgs(['--sqs-access-key', 'a:1', '--sqs-access-key', 'b:2'], {
    PIER_SQS_ACCESS_KEY: 'c:3',
  })!;
  assert.deepEqual(
    keys.sqs?.accessKeys?.map((k) => k.accessKeyId),
    ['a', 'b'],
  );
  const fromEnv = parseServeArgs([], { PIER_SQS_ACCESS_KEY: 'c:3,d:4' })!;
  assert.deepEqual(
    fromEnv.sqs?.accessKeys?.map((k) => k.accessKeyId),
    ['c', 'd'],
  );
  assert.equal(parseServeArgs(['--consumer-timeout-ms', 'off'], {})!.amqp?.consumerTimeoutMs, 0);
  assert.equal(parseServeArgs(['--kafka-sasl', 'auto'], {})!.kafka?.sasl, undefined);
  assert.equal(parseServeArgs(['--kafka-sasl', 'on'], {})!.kafka?.sasl, true);
});

test('the settings table sits above the core, protocols, storage and resources: none imports it', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
    });
  for (const layer of ['core', 'protocol', 'storage', 'resources']) {
    for (const file of files(join(ROOT, 'src', layer))) {
      const imports = [...readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      const offending = imports.filter((i) => /\/(config|cli)\//.test(i));
      assert.deepEqual(offending, [], `${file} imports ${offending.join(', ')}`);
    }
  }
});
