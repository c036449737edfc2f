#!/usr/bin/env node
/** The `pier` command line. */
import { parseArgs } from 'node:util';
import { BrokerConfigError, ListenerError, startBroker } from '../broker.js';
import { PIER_VERSION } from '../protocol/amqp/server-properties.js';
import { StorageLockedError } from '../storage/storage.js';
import { DevCertError, makeDevCertificates } from '../tls/dev-cert.js';
import { type AdminGroup, adminHelpLines, runAdminCommand } from './admin-cli.js';
import { runHandover } from './handover-cli.js';
import { parseServeArgs, serveHelp, UsageError } from './serve-flags.js';

const MAIN_HELP = `pier ${PIER_VERSION} — a durable message broker speaking AMQP 0-9-1, Kafka and SQS

Usage: pier <command> [flags]

Commands:
  serve        run the broker (pier serve --help for its flags)
${adminHelpLines()}
  handover     rabbitmq --amqp URL --http URL | kafka --bootstrap HOST:PORT | sqs --endpoint URL:
               move definitions, messages and positions to a bigger broker (pier handover --help)
  tls dev-cert --out DIR [--client-cn NAME]
               write a development CA, server and client certificates (ca.pem, server.pem,
               server-key.pem, client.pem, client-key.pem) with the openssl command
  help         show this text

Flags:
  --version    print the version
`;

async function serve(argv: string[]): Promise<void> {
  const given = parseServeArgs(argv, process.env);
  if (!given) {
    process.stdout.write(serveHelp());
    return;
  }
  const broker = await startBroker({ ...given, log: (line) => process.stderr.write(`pier: ${line}\n`) });
  const { options } = broker;
  process.stdout.write(`pier: data in ${broker.dataDir} (fsync ${options.fsync})\n`);
  if (broker.amqp) process.stdout.write(`pier: amqp listening on ${broker.amqp.host}:${broker.amqp.port}\n`);
  if (broker.kafka)
    process.stdout.write(`pier: kafka listening on ${broker.kafka.host}:${broker.kafka.port}\n`);
  if (broker.sqs) process.stdout.write(`pier: sqs listening on ${broker.sqs.host}:${broker.sqs.port}\n`);
  if (broker.prometheus)
    process.stdout.write(
      `pier: prometheus listening on ${broker.prometheus.host}:${broker.prometheus.port}\n`,
    );
  if (broker.http) process.stdout.write(`pier: http listening on ${broker.http.host}:${broker.http.port}\n`);
  for (const [name, address] of [
    ['amqps', broker.amqps],
    ['kafka-tls', broker.kafkaTls],
    ['sqs-tls', broker.sqsTls],
    ['https', broker.https],
  ] as const) {
    if (address) process.stdout.write(`pier: ${name} listening on ${address.host}:${address.port}\n`);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`pier: ${signal} again, exiting without waiting\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`pier: ${signal} received, shutting down (finishing writes and fsync)\n`);
    broker.close().then(
      () => process.exit(0),
      (error: Error) => {
        process.stderr.write(`pier: error during shutdown: ${error.message}\n`);
        process.exit(1);
      },
    );
  };
  // SIGHUP reloads the TLS files, as LavinMQ does; a bad one is refused (logged) and the old kept.
  process.on('SIGHUP', () => {
    try {
      broker.reloadTls();
    } catch {
      // composition/tls.ts logged why.
    }
  });
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function devCert(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, 'client-cn': { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help || values.out === undefined) {
    (values.help ? process.stdout : process.stderr).write(
      `Usage: pier tls dev-cert --out DIR [--client-cn NAME]
  Writes a development CA (ca.pem, ca-key.pem; reused when DIR already has them), a server
  certificate for localhost, 127.0.0.1 and ::1 (server.pem, server-key.pem) and a client
  certificate CN=NAME,O=Pier development (client.pem, client-key.pem; NAME defaults to guest).
  Needs the openssl command. Then:
    pier serve --tls-cert DIR/server.pem --tls-key DIR/server-key.pem --tls-ca DIR/ca.pem
`,
    );
    if (!values.help) process.exitCode = 2;
    return;
  }
  try {
    const files = makeDevCertificates({
      outDir: values.out,
      ...(values['client-cn'] ? { clientCommonName: values['client-cn'] } : {}),
    });
    process.stdout.write(
      `pier: ${files.caReused ? 'reused the CA in' : 'wrote a development CA to'} ${files.ca}
pier: wrote ${files.server}, ${files.serverKey} (localhost, 127.0.0.1, ::1)
pier: wrote ${files.client}, ${files.clientKey}
pier: start with: pier serve --tls-cert ${files.server} --tls-key ${files.serverKey} --tls-ca ${files.ca}
`,
    );
  } catch (error) {
    if (!(error instanceof DevCertError)) throw error;
    process.stderr.write(`pier: ${error.message}\n`);
    process.exitCode = 1;
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'user':
    case 'vhost':
    case 'permissions':
    case 'policy':
    case 'definitions':
    case 'topics':
    case 'groups':
    case 'transactions':
    case 'acls':
    case 'sqs':
    case 'shovel':
    case 'tls':
      if (command === 'tls' && rest[0] === 'dev-cert') return devCert(rest.slice(1));
      process.exitCode = await runAdminCommand(command as AdminGroup, rest);
      return;
    case 'handover':
      process.exitCode = await runHandover(rest);
      return;
    case '--version':
      process.stdout.write(`${PIER_VERSION}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(MAIN_HELP);
      return;
    default:
      throw new UsageError(`unknown command '${command}'; run 'pier --help' for the list`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (
    error instanceof ListenerError ||
    error instanceof BrokerConfigError ||
    error instanceof StorageLockedError ||
    error instanceof UsageError
  ) {
    process.stderr.write(`pier: ${error.message}\n`);
  } else if (String((error as NodeJS.ErrnoException)?.code).startsWith('ERR_PARSE_ARGS_')) {
    // Unknown flags, missing values, values that look like flags: one line, no stack.
    const message = (error as Error).message.replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`pier: ${message}; run 'pier serve --help' for the flags\n`);
  } else {
    process.stderr.write(`pier: ${(error as Error)?.stack ?? error}\n`);
  }
  process.exit(2);
});
