// A bench interrupted by SIGINT or SIGTERM stops the brokers it registered (bench/interrupt.ts)
// before it exits 130 / 143, instead of leaving them running behind it. The bench here is a child
// process whose "broker" is a sleeping child of its own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const INTERRUPT_MODULE = fileURLToPath(new URL('../../bench/interrupt.js', import.meta.url));

const BENCH = `
import { spawn } from 'node:child_process';
import { stopOnInterrupt } from ${JSON.stringify(INTERRUPT_MODULE)};
const broker = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
const exited = new Promise((resolve) => broker.once('exit', (code, signal) => resolve(signal)));
stopOnInterrupt(async () => {
  broker.kill('SIGTERM');
  console.log('broker stopped by ' + (await exited));
});
const forgotten = stopOnInterrupt(() => console.log('a cleanup unregistered before the signal ran'));
forgotten();
console.log('ready');
setInterval(() => {}, 1000);
`;

for (const [signal, exitCode] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  test(`${signal}: the registered broker is stopped, then the bench exits ${exitCode}`, {
    timeout: 20_000,
  }, async () => {
    const bench = spawn(process.execPath, ['--input-type=module', '-e', BENCH], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const ready = new Promise<void>((resolve) => {
      bench.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('ready')) resolve();
      });
    });
    bench.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
    await ready;
    bench.kill(signal);
    assert.equal(await exited, exitCode);
    assert.match(stdout, /broker stopped by SIGTERM/);
    assert.doesNotMatch(stdout, /unregistered/);
    assert.match(stderr, new RegExp(`${signal}: stopping the brokers this bench started`));
  });
}
