// Runs the compiled test files under dist/test with node:test. Node 20's --test does not expand
// globs, so the file list is built here.
//   node scripts/run-tests.mjs                 unit and integration tests (everything but compat/ and differential/)
//   node scripts/run-tests.mjs --compat        the compat suite: other languages' clients (pika, amqp-tools, ...)
//   node scripts/run-tests.mjs --differential  the differential suite: Pier against a reference RabbitMQ
//                                              (needs PIER_REFERENCE_AMQP_URL)
//   node scripts/run-tests.mjs amqp            only files whose path contains "amqp"
//
// While the tests run, this process holds Pier's standard ports (5672, 9092, 9324, 15672, 15692) on
// loopback, so a test that binds one fails at once (with 'port ... is already in use') instead of
// failing only on machines where something else listens there; a connection made to one of them
// (a test talking to a default port) fails the run too. Tests start brokers through
// test/helpers/broker.ts, which uses port 0 or switches listeners off. A port already in use on
// this machine, or named by PIER_REFERENCE_AMQP_URL, PIER_REFERENCE_HTTP_URL, PIER_COMPAT_URL or
// PIER_AMQP_TEST_URL (a reference RabbitMQ the tests connect to), is left alone.
//
// A test file that runs longer than PIER_TEST_FILE_LIMIT_S (600 s) is stopped and fails by name, and the
// run ends with its slowest files: a hang costs one file, not the whole CI step.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, sep } from 'node:path';

/** Pier's standard ports, as in test/helpers/broker.ts (STANDARD_PORTS). */
const STANDARD_PORTS = [5672, 9092, 9324, 15672, 15692, 5671, 9093, 9325, 15671];
const REFERENCE_URL_VARIABLES = [
  'PIER_REFERENCE_AMQP_URL',
  'PIER_REFERENCE_HTTP_URL',
  'PIER_COMPAT_URL',
  'PIER_AMQP_TEST_URL',
];
const DEFAULT_PORTS = { 'amqp:': 5672, 'amqps:': 5671, 'http:': 80, 'https:': 443 };

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.js')) found.push(path);
  }
  return found;
}

// Suites with their own folder and mode; the default mode runs everything else.
const SUITES = ['compat', 'differential'];

const args = process.argv.slice(2);
const suite = SUITES.find((name) => args.includes(`--${name}`));
const filter = args.find((a) => !a.startsWith('--'));
const suiteOf = (file) => SUITES.find((name) => file.includes(`${sep}${name}${sep}`));

if (suite === 'differential' && !process.env.PIER_REFERENCE_AMQP_URL) {
  console.error(
    'PIER_REFERENCE_AMQP_URL is not set: the differential suite compares Pier with a reference RabbitMQ.\n' +
      'Start one (bash .ci/start-rabbitmq) and run e.g.\n' +
      '  PIER_REFERENCE_AMQP_URL=amqp://guest:guest@127.0.0.1:5672 npm run test:differential',
  );
  process.exit(1);
}

const files = findTests(join('dist', 'test'))
  .filter((f) => suiteOf(f) === suite)
  .filter((f) => !filter || f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
/** Ports the tests reach on purpose: those of reference brokers named in the environment. */
function referencePorts() {
  const ports = new Set();
  for (const name of REFERENCE_URL_VARIABLES) {
    const value = process.env[name];
    if (!value) continue;
    try {
      const url = new URL(value);
      ports.add(Number(url.port || DEFAULT_PORTS[url.protocol] || 5672));
    } catch {
      // Not a URL: the suite reports it.
    }
  }
  return ports;
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Listens on each free standard port (IPv4 and, where there is one, IPv6 loopback). */
async function holdStandardPorts() {
  const skipped = referencePorts();
  const servers = [];
  const held = [];
  const busy = [];
  const connections = new Map();
  for (const port of STANDARD_PORTS) {
    if (skipped.has(port)) continue;
    let heldHere = false;
    for (const host of ['127.0.0.1', '::1']) {
      const server = createServer((socket) => {
        connections.set(port, (connections.get(port) ?? 0) + 1);
        socket.destroy();
      });
      try {
        await listen(server, port, host);
        servers.push(server);
        heldHere = true;
      } catch (error) {
        // EADDRINUSE: something else has it (as good for this purpose); no IPv6: nothing to hold.
        if (host === '127.0.0.1' && error.code === 'EADDRINUSE') busy.push(port);
      }
    }
    if (heldHere) held.push(port);
  }
  return {
    held,
    busy,
    connections,
    close: () => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))),
  };
}

/**
 * node:test runs each file in a child process and waits for it to exit, so one test that hangs (or a
 * handle left open) would hold the whole run until CI's step limit, naming nothing. This watches the
 * file processes (Linux /proc) and stops one that outlives the limit: the runner then reports that file
 * as failed, and the run goes on.
 */
const FILE_LIMIT_S = Number(process.env.PIER_TEST_FILE_LIMIT_S ?? 600);

function childrenOf() {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name (field 2) may hold spaces and parentheses: the fields after its last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(name)]);
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}

function descendants(pid, children) {
  const found = [];
  for (const child of children.get(pid) ?? []) found.push(child, ...descendants(child, children));
  return found;
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

function watchTestFiles(runnerPid) {
  if (!existsSync('/proc/self/stat') || !(FILE_LIMIT_S > 0)) return undefined;
  const firstSeenMs = new Map();
  const ranS = new Map();
  const timer = setInterval(() => {
    const children = childrenOf();
    const seen = new Set();
    for (const pid of children.get(runnerPid) ?? []) {
      let file;
      try {
        file = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
          .split('\0')
          .find((arg) => arg.endsWith('.test.js'));
      } catch {
        continue;
      }
      if (file === undefined) continue;
      const key = `${pid} ${file}`;
      seen.add(key);
      if (!firstSeenMs.has(key)) firstSeenMs.set(key, Date.now());
      ranS.set(file, Math.round((Date.now() - firstSeenMs.get(key)) / 1000));
      if (ranS.get(file) < FILE_LIMIT_S) continue;
      console.error(
        `run-tests: ${file} still running after ${ranS.get(file)} s (limit PIER_TEST_FILE_LIMIT_S=${FILE_LIMIT_S}): ` +
          'stopping it and what it started',
      );
      // SIGKILL: node:test's own SIGTERM handling in Node 20 names no test either, and brokers the file
      // started as child processes must not outlive it.
      for (const stuck of [pid, ...descendants(pid, children)]) signal(stuck, 'SIGKILL');
    }
    for (const key of firstSeenMs.keys()) if (!seen.has(key)) firstSeenMs.delete(key);
  }, 2000).unref();
  return {
    stop: () => clearInterval(timer),
    /** The slowest files, for choosing the limit: "name (N s)". */
    slowest: (count) =>
      [...ranS]
        .sort((a, b) => b[1] - a[1])
        .slice(0, count)
        .map(([file, seconds]) => `${file.split(`${sep}test${sep}`).pop()} (${seconds} s)`),
  };
}

const ports = await holdStandardPorts();
console.log(
  `run-tests: holding ${ports.held.join(', ') || 'no ports'} on loopback so a test binding a standard port fails` +
    (ports.busy.length > 0 ? ` (${ports.busy.join(', ')} in use by another process)` : ''),
);
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
const watchdog = watchTestFiles(child.pid);
const status = await new Promise((resolve) => {
  child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  child.once('error', () => resolve(1));
});
watchdog?.stop();
if (watchdog) console.log(`run-tests: slowest files: ${watchdog.slowest(5).join(', ')}`);
await ports.close();
if (ports.connections.size > 0) {
  for (const [port, count] of ports.connections) {
    console.error(
      `run-tests: ${count} connection(s) to the standard port ${port} during the run: a test talks to a default ` +
        'port instead of the broker its helper started (test/helpers/broker.ts)',
    );
  }
  process.exit(status === 0 ? 1 : status);
}
process.exit(status);
