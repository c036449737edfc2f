#!/usr/bin/env node
// `npm run fuzz -- [--inputs 1000000] [--target NAME] [--seed N] [--budget-ms 1000] [--hang-ms 15000]
//                  [--jobs 1] [--save-corpus] [--write-seeds] [--replay FILE]`
// The long fuzz run (test/fuzz/): every decoder gets --inputs generated inputs, mutations of its
// corpus in test/fuzz-corpus/<target>/, each in a worker thread watched for hangs. Prints progress
// lines and a summary table; exits 1 when any input threw something other than the decoder's
// documented error, took longer than --budget-ms, hung (no progress for --hang-ms) or crashed the
// worker. Each finding's input is written to fuzz-findings/<target>-<n>.bin; replay one with
// `npm run fuzz -- --target NAME --replay FILE`.
//   --save-corpus  adds the inputs that reached new outcomes to test/fuzz-corpus/ (commit them)
//   --write-seeds  writes each target's generated seeds into its corpus directory and exits
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { Worker } from 'node:worker_threads';
import { saveCorpus } from '../dist/test/fuzz/engine.js';
import { FUZZ_TARGETS } from '../dist/test/fuzz/targets.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const flag = (name) => args.includes(`--${name}`);
const inputs = Number(opt('inputs', 1_000_000));
const only = opt('target', undefined);
const seed = Number(opt('seed', 1));
const budgetMs = Number(opt('budget-ms', 1000));
const hangMs = Number(opt('hang-ms', 15_000));
const jobs = Number(opt('jobs', 1));
const progressEvery = Math.max(1000, Math.min(50_000, Math.floor(inputs / 20)));
const targets = FUZZ_TARGETS.filter((t) => !only || t.name.includes(only));
const MAX_INPUT_BYTES = 64 * 1024;
const SHARED_HEADER_BYTES = 8;
/** Loading the decoders in a worker on a loaded machine can take long: not a hang before input 0. */
const STARTUP_GRACE_MS = 180_000;

if (flag('write-seeds')) {
  for (const t of targets) console.log(`${t.name}: ${saveCorpus(t.name, t.seeds())} new corpus files`);
  process.exit(0);
}

if (opt('replay', undefined)) {
  const target = targets[0];
  const input = readFileSync(opt('replay'));
  target.reset?.();
  try {
    await target.run(input);
    console.log(`${target.name}: accepted`);
  } catch (error) {
    console.log(`${target.name}: ${target.isDocumented(error) ? 'documented refusal' : 'FINDING'}:`);
    console.log(error?.stack ?? error);
  }
  process.exit(0);
}

const fmt = (n) => n.toLocaleString('en-US');
const started = Date.now();
console.log(
  `fuzz: ${targets.length} targets × ${fmt(inputs)} inputs, seed ${seed}, budget ${budgetMs} ms/input, ` +
    `hang after ${hangMs} ms; node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? '?'}, ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB, ${new Date().toISOString()}`,
);

function runOne(target, index) {
  return new Promise((resolve) => {
    const shared = new SharedArrayBuffer(SHARED_HEADER_BYTES + MAX_INPUT_BYTES);
    const header = new Int32Array(shared, 0, 2);
    const bytes = new Uint8Array(shared, SHARED_HEADER_BYTES);
    Atomics.store(header, 0, -1);
    const worker = new Worker(new URL('../dist/test/fuzz/worker.js', import.meta.url), {
      workerData: { target: target.name, inputs, seed: seed + index * 7919, budgetMs, progressEvery, shared },
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    });
    let last = { stats: { inputs: 0 } };
    let result;
    const extra = [];
    const stuckInput = () => Buffer.from(bytes.subarray(0, Atomics.load(header, 1)));
    let lastIndex = -2;
    let lastChangeAt = Date.now();
    const watchdog = setInterval(() => {
      const index = Atomics.load(header, 0);
      if (index !== lastIndex) {
        lastIndex = index;
        lastChangeAt = Date.now();
      } else if (Date.now() - lastChangeAt > (index === -1 ? STARTUP_GRACE_MS : hangMs)) {
        extra.push({
          kind: 'hang',
          message: `input ${index} made no progress for ${hangMs} ms`,
          input: stuckInput(),
        });
        clearInterval(watchdog);
        worker.terminate();
      }
    }, 500);
    worker.on('message', (m) => {
      if (m.type === 'progress') {
        last = m;
        const s = m.stats;
        const rate = Math.round(s.inputs / (s.elapsedMs / 1000));
        console.log(
          `  ${target.name}: ${fmt(s.inputs)}/${fmt(inputs)} (${Math.round((100 * s.inputs) / inputs)}%), ` +
            `${fmt(rate)}/s, accepted ${fmt(s.accepted)}, refused ${fmt(s.refused)}, ` +
            `outcomes ${s.outcomes}, corpus ${s.corpusSize}, findings ${s.findings.length}, slowest ${s.slowestMs.toFixed(1)} ms`,
        );
      } else if (m.type === 'done') {
        result = m;
      }
    });
    worker.on('error', (error) => {
      if (extra.some((f) => f.kind === 'hang')) return;
      extra.push({ kind: 'crash', message: error?.stack ?? String(error), input: stuckInput() });
    });
    worker.on('exit', (code) => {
      clearInterval(watchdog);
      if (!result && code !== 0 && !extra.some((f) => f.kind === 'hang')) {
        extra.push({ kind: 'crash', message: `worker exited with code ${code}`, input: stuckInput() });
      }
      const stats = result?.stats ?? { ...last.stats, findings: last.stats.findings ?? [] };
      const findings = [
        ...stats.findings.map((f) => ({ ...f, input: Buffer.from(f.inputHex, 'hex') })),
        ...extra,
      ];
      resolve({ target: target.name, stats, findings, grown: result?.grown ?? [] });
    });
  });
}

const results = [];
const queue = targets.map((t, i) => [t, i]);
await Promise.all(
  Array.from({ length: Math.max(1, jobs) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) results.push(await runOne(...next));
  }),
);
results.sort(
  (a, b) => targets.findIndex((t) => t.name === a.target) - targets.findIndex((t) => t.name === b.target),
);

let findingCount = 0;
mkdirSync('fuzz-findings', { recursive: true });
for (const r of results) {
  r.findings.forEach((f, n) => {
    findingCount++;
    const file = `fuzz-findings/${r.target}-${n}.bin`;
    writeFileSync(file, f.input);
    console.log(
      `\nFINDING ${r.target} (${f.kind}), input in ${file}:\n${f.message.split('\n').slice(0, 8).join('\n')}`,
    );
  });
  if (flag('save-corpus') && r.grown.length > 0) {
    const added = saveCorpus(
      r.target,
      r.grown.map((g) => Buffer.from(g)),
    );
    console.log(`${r.target}: ${added} inputs added to test/fuzz-corpus/${r.target}/`);
  }
}

const rows = results.map((r) => {
  const s = r.stats;
  const kinds = s.kinds ? Object.values(s.kinds) : [];
  return [
    r.target,
    fmt(s.inputs ?? 0),
    fmt(s.accepted ?? 0),
    fmt(s.refused ?? 0),
    String(s.outcomes ?? 0),
    kinds.length ? `${kinds.length} (min ${fmt(Math.min(...kinds))})` : '—',
    `${((s.elapsedMs ?? 0) / 1000).toFixed(0)} s`,
    `${(s.slowestMs ?? 0).toFixed(1)} ms`,
    String(r.findings.length),
  ];
});
const head = [
  'target',
  'inputs',
  'accepted',
  'refused',
  'outcomes',
  'kinds (min/kind)',
  'time',
  'slowest',
  'findings',
];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(`\n${line(head)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
for (const row of rows) console.log(line(row));
console.log(`\n${findingCount} findings, ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
process.exit(findingCount > 0 ? 1 : 0);
