#!/usr/bin/env node
// Generates src/protocol/kafka/codec/schemas.ts from Kafka's JSON message schemas.
// Usage: node scripts/gen-kafka-schemas.mjs [--check] [path/to/kafka/message]
// --check writes nothing and exits 1 if the committed files differ from what the schemas give.
// The schemas are vendored in spec/kafka (see its README); the output is committed, so building needs
// neither. Version ranges are parsed here ("3+" → [3, 32767], "none" → absent) and common structs are
// inlined, so the codec never interprets schema strings at run time. Kafka 4.1's share-group
// definitions missing from the vendored files come from scripts/kafka-schema-supplement.mjs.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MESSAGES as SUPPLEMENT_MESSAGES,
  PATCHES as SUPPLEMENT_PATCHES,
} from './kafka-schema-supplement.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const specDir = resolve(args.find((a) => !a.startsWith('--')) ?? resolve(root, 'spec/kafka/message'));
const outPath = resolve(root, 'src/protocol/kafka/codec/schemas.ts');
const typesPath = resolve(root, 'src/protocol/kafka/codec/body-types.ts');

// The APIs Pier decodes: those issue 4 implements, the transaction APIs it must refuse properly,
// and a few more that clients send during normal operation.
const APIS = [
  'Produce',
  'Fetch',
  'ListOffsets',
  'Metadata',
  'OffsetCommit',
  'OffsetFetch',
  'FindCoordinator',
  'JoinGroup',
  'Heartbeat',
  'LeaveGroup',
  'SyncGroup',
  'DescribeGroups',
  'ListGroups',
  'SaslHandshake',
  'ApiVersions',
  'CreateTopics',
  'DeleteTopics',
  'DeleteRecords',
  'InitProducerId',
  'OffsetForLeaderEpoch',
  'AddPartitionsToTxn',
  'AddOffsetsToTxn',
  'EndTxn',
  'TxnOffsetCommit',
  'DescribeConfigs',
  'AlterConfigs',
  'CreatePartitions',
  'SaslAuthenticate',
  'IncrementalAlterConfigs',
  'DeleteGroups',
  'OffsetDelete',
  'DescribeCluster',
  'DescribeProducers',
  'DescribeTransactions',
  'ListTransactions',
  'DescribeLogDirs',
  'ElectLeaders',
  'DescribeAcls',
  'CreateAcls',
  'DeleteAcls',
  // Share groups (KIP-932): the four APIs a share consumer sends, and the admin's offsets APIs.
  'ShareGroupHeartbeat',
  'ShareGroupDescribe',
  'ShareFetch',
  'ShareAcknowledge',
  'DescribeShareGroupOffsets',
  'AlterShareGroupOffsets',
  'DeleteShareGroupOffsets',
];

const MAX = 32767;
const PRIMITIVES = new Set([
  'bool',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint16',
  'uint32',
  'float64',
  'string',
  'bytes',
  'uuid',
  'records',
]);

function load(name) {
  if (SUPPLEMENT_MESSAGES[name]) return structuredClone(SUPPLEMENT_MESSAGES[name]);
  // The schemas carry `//` comment lines, which JSON does not allow.
  const text = readFileSync(resolve(specDir, `${name}.json`), 'utf8')
    .split('\n')
    .filter((line) => !line.trim().startsWith('//'))
    .join('\n');
  const spec = JSON.parse(text);
  SUPPLEMENT_PATCHES[name]?.(spec);
  return spec;
}

function range(spec) {
  if (spec === undefined || spec === 'none') return undefined;
  const plus = /^(\d+)\+$/.exec(spec);
  if (plus) return [Number(plus[1]), MAX];
  const span = /^(\d+)-(\d+)$/.exec(spec);
  if (span) return [Number(span[1]), Number(span[2])];
  if (/^\d+$/.test(spec)) return [Number(spec), Number(spec)];
  throw new Error(`unknown version range ${JSON.stringify(spec)}`);
}

const camel = (name) => name[0].toLowerCase() + name.slice(1);

function defaultValue(type, value) {
  if (value === undefined) return undefined;
  const text = String(value);
  if (text === 'null') return 'null';
  if (type === 'bool') return text === 'true' ? 'true' : 'false';
  if (type === 'int64') return `${BigInt(text)}n`;
  if (['int8', 'int16', 'int32', 'uint16', 'uint32', 'float64'].includes(type)) return String(Number(text));
  if (type === 'string') return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  throw new Error(`unsupported default ${text} for ${type}`);
}

function fieldLines(fields, common, indent) {
  const lines = [];
  for (const f of fields) {
    const array = f.type.startsWith('[]');
    const element = array ? f.type.slice(2) : f.type;
    const struct = !PRIMITIVES.has(element);
    const parts = [`name: '${camel(f.name)}'`, `type: '${array ? '[]' : ''}${struct ? 'struct' : element}'`];
    parts.push(`versions: [${range(f.versions).join(', ')}]`);
    const nullable = range(f.nullableVersions);
    if (nullable) parts.push(`nullable: [${nullable.join(', ')}]`);
    if (f.tag !== undefined) parts.push(`tag: ${f.tag}`, `tagged: [${range(f.taggedVersions).join(', ')}]`);
    // Only the request header's ClientId overrides flexibility ("none": never compact).
    if (f.flexibleVersions !== undefined) {
      const flexible = range(f.flexibleVersions);
      parts.push(`flexible: ${flexible ? `[${flexible.join(', ')}]` : 'null'}`);
    }
    const def = defaultValue(element === f.type ? f.type : 'array', f.default);
    if (def !== undefined) parts.push(`default: ${def}`);
    const pad = ' '.repeat(indent);
    if (!struct) {
      lines.push(`${pad}{ ${parts.join(', ')} },`);
      continue;
    }
    const children = f.fields ?? common.get(element);
    if (!children) throw new Error(`no fields for struct ${element}`);
    lines.push(`${pad}{ ${parts.join(', ')}, fields: [`);
    lines.push(...fieldLines(children, common, indent + 2));
    lines.push(`${pad}] },`);
  }
  return lines;
}

function message(name, indent) {
  const spec = load(name);
  const common = new Map((spec.commonStructs ?? []).map((s) => [s.name, s.fields]));
  const pad = ' '.repeat(indent);
  const head = [`name: '${spec.name}'`];
  if (spec.apiKey !== undefined) head.push(`apiKey: ${spec.apiKey}`);
  head.push(`validVersions: [${range(spec.validVersions).join(', ')}]`);
  const flexible = range(spec.flexibleVersions);
  head.push(`flexibleVersions: ${flexible ? `[${flexible.join(', ')}]` : 'null'}`);
  return [
    `${pad}{ ${head.join(', ')}, fields: [`,
    ...fieldLines(spec.fields, common, indent + 2),
    `${pad}] }`,
  ];
}

const out = [
  "// Generated by scripts/gen-kafka-schemas.mjs from Kafka's JSON message schemas. Do not edit.",
  '// Version ranges are inclusive [min, max]; 32767 stands for "and every later version".',
  '// biome-ignore-all format: generated, one line per field',
  "import type { KafkaMessageSchema } from './schema-types.js';",
  '',
  `export const REQUEST_HEADER: KafkaMessageSchema = ${message('RequestHeader', 0).join('\n').trimStart()};`,
  '',
  `export const RESPONSE_HEADER: KafkaMessageSchema = ${message('ResponseHeader', 0).join('\n').trimStart()};`,
  '',
  '/** Request schemas by API key. */',
  'export const REQUESTS: ReadonlyMap<number, KafkaMessageSchema> = new Map([',
];
const keyed = APIS.map((api) => ({ api, key: load(`${api}Request`).apiKey })).sort((a, b) => a.key - b.key);
for (const { api, key } of keyed)
  out.push(`  [${key}, ${message(`${api}Request`, 2).join('\n').trimStart()}],`);
out.push(']);', '', '/** Response schemas by API key. */');
out.push('export const RESPONSES: ReadonlyMap<number, KafkaMessageSchema> = new Map([');
for (const { api, key } of keyed)
  out.push(`  [${key}, ${message(`${api}Response`, 2).join('\n').trimStart()}],`);
out.push(']);', '', '/** API keys by name. */', 'export const API_KEYS = {');
for (const { api, key } of keyed) out.push(`  ${api}: ${key},`);
out.push('} as const;', '');

// Body types: one type per message and per struct in it, with every field of every version (a
// decoded body has them all: fields absent from its version hold their defaults). Struct types are
// prefixed with their message's name unless Kafka's name already is, since names repeat across files.
const TS = {
  bool: 'boolean',
  int64: 'bigint',
  string: 'string',
  bytes: 'Buffer',
  records: 'Buffer',
  uuid: 'string',
};
function bodyTypes(name) {
  const spec = load(name);
  const common = new Map((spec.commonStructs ?? []).map((s) => [s.name, s.fields]));
  const emitted = new Map();
  const typeName = (struct) => (struct.startsWith(spec.name) ? struct : `${spec.name}${struct}`);
  function emit(type, fields) {
    if (emitted.has(type)) return;
    emitted.set(type, null);
    const lines = [`export type ${type} = {`];
    for (const f of fields) {
      const array = f.type.startsWith('[]');
      const element = array ? f.type.slice(2) : f.type;
      let ts = TS[element] ?? 'number';
      if (!PRIMITIVES.has(element)) {
        ts = typeName(element);
        emit(ts, f.fields ?? common.get(element));
      }
      if (array) ts = `${ts}[]`;
      if (range(f.nullableVersions)) ts = `${ts} | null`;
      lines.push(`  ${camel(f.name)}: ${ts};`);
    }
    lines.push('};');
    emitted.set(type, lines.join('\n'));
  }
  emit(spec.name, spec.fields);
  return [...emitted.values()].reverse();
}
const types = [
  [
    "// Generated by scripts/gen-kafka-schemas.mjs from Kafka's JSON message schemas. Do not edit.",
    '// The shape of decoded bodies (decodeRequest/decodeResponse), and of bodies to encode (where a',
    '// missing field takes its default). int64 is bigint; bytes and records are Buffer slices.',
    '// biome-ignore-all format: generated',
  ].join('\n'),
];
for (const { api } of keyed) types.push(...bodyTypes(`${api}Request`), ...bodyTypes(`${api}Response`));
for (const kind of ['Request', 'Response']) {
  const entries = keyed.map(({ api, key }) => `  ${key}: ${api}${kind};`);
  types.push(
    `/** ${kind} body types by API key. */\nexport type ${kind}BodyByKey = {\n${entries.join('\n')}\n};`,
  );
}
types.push('');
const outputs = [
  [outPath, out.join('\n')],
  [typesPath, types.join('\n\n').replace(/\n\n\n+/g, '\n\n')],
];
for (const [path, text] of outputs) {
  if (!check) writeFileSync(path, text);
  else if (!existsSync(path) || readFileSync(path, 'utf8') !== text) {
    console.error(`${path} is out of date: run node scripts/gen-kafka-schemas.mjs`);
    process.exitCode = 1;
  }
}
if (!check) console.log(`wrote ${outPath} and ${typesPath} (${keyed.length} APIs)`);
