/**
 * `pier handover rabbitmq --amqp URL --http URL`: reads the definitions of the Pier running on
 * --data-dir (through its control socket), imports them into RabbitMQ and moves every queue's
 * messages there (src/bridge/handover). Progress on stderr, the account on stdout.
 * Exit codes: 0 everything moved and verified, 1 something left or different, 2 usage error.
 */
import { parseArgs } from 'node:util';
import {
  HandoverError,
  type HandoverReport,
  handoverToRabbitmq,
} from '../bridge/handover/rabbitmq-handover.js';
import { declaredSetting, describeDefault } from '../config/settings.js';
import { AdminUnavailableError, sendAdminRequest } from './admin-client.js';
import {
  formatKafkaReport,
  HANDOVER_KAFKA_HELP,
  handoverKafka,
  KAFKA_OPTIONS,
} from './handover-kafka-cli.js';
import {
  formatSqsReport,
  HANDOVER_SQS_HELP,
  HandoverUsageError,
  handoverSqs,
  SQS_OPTIONS,
} from './handover-sqs-cli.js';
import { formatTable } from './table.js';

const dataDirSetting = declaredSetting('data-dir');
const DEFAULT_FROM = 'amqp://guest:guest@127.0.0.1:5672';

export const HANDOVER_HELP = `Usage: pier handover rabbitmq --amqp URL --http URL [flags]
       pier handover sqs --endpoint URL [flags]       (pier handover sqs --help)
       pier handover kafka --bootstrap HOST:PORT [flags]  (pier handover kafka --help)

Hands this Pier's AMQP workload over to RabbitMQ: its definitions (users, vhosts, permissions,
policies, queues, exchanges, bindings; RabbitMQ's format) are imported through the target's
management API (POST /api/definitions), then every queue's messages are moved to the same queue
there with on-confirm semantics (a message leaves Pier only after RabbitMQ confirmed it) until
Pier's queue is empty. Then the definitions are compared and each queue accounted for.
Interrupted? Run it again: it resumes, and no message is lost (one confirmed just before the
interruption may arrive twice; consumers can deduplicate on message-id).

Flags:
  --amqp URL        the target's AMQP URL with credentials, e.g. amqp://admin:secret@rabbit:5672
  --http URL        the target's management API with credentials (an administrator),
                    e.g. http://admin:secret@rabbit:15672
  --from URL        this Pier's AMQP URL with credentials (default ${DEFAULT_FROM},
                    env PIER_HANDOVER_FROM); the user must read every queue moved
  --vhosts REGEX    only vhosts whose name matches (default: all); users then only those with
                    permissions there
  --queues REGEX    only queues whose name matches (their definitions, bindings and messages)
  --quorum          durable classic queues become quorum queues on the target
  --prefetch N      messages in flight per queue (default 500)
  --dry-run         print the plan and the queue depths; change nothing
  --json            print the account as JSON
  --data-dir DIR    data directory of the running Pier (env ${dataDirSetting.env}, default ${describeDefault(dataDirSetting)})
`;

const UsageError = HandoverUsageError;

export async function runHandover(argv: string[]): Promise<number> {
  try {
    return await handover(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`pier: ${error.message}\n`);
      return 2;
    }
    if (
      error instanceof HandoverError ||
      error instanceof AdminUnavailableError ||
      isHandoverFailure(error)
    ) {
      process.stderr.write(`pier: handover: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function handover(argv: string[]): Promise<number> {
  const [target, ...rest] = argv;
  if (target === undefined || target === '--help' || target === '-h' || target === 'help') {
    process.stdout.write(HANDOVER_HELP);
    return target === undefined ? 2 : 0;
  }
  if (target === 'sqs') return await sqs(rest);
  if (target === 'kafka') return await kafka(rest);
  if (target !== 'rabbitmq') {
    throw new UsageError(
      `handover to '${target}' is not available; the targets are rabbitmq, kafka and sqs (pier handover --help)`,
    );
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      amqp: { type: 'string' },
      http: { type: 'string' },
      from: { type: 'string' },
      vhosts: { type: 'string' },
      queues: { type: 'string' },
      quorum: { type: 'boolean' },
      prefetch: { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HANDOVER_HELP);
    return 0;
  }
  if (!values.amqp || !values.http) {
    throw new UsageError('handover rabbitmq needs --amqp URL and --http URL (pier handover --help)');
  }
  const prefetch = values.prefetch === undefined ? 500 : Number(values.prefetch);
  if (!Number.isInteger(prefetch) || prefetch < 1) {
    throw new UsageError(`--prefetch must be a whole number of at least 1, not '${values.prefetch}'`);
  }
  const dataDir =
    values['data-dir'] ??
    (dataDirSetting.env ? process.env[dataDirSetting.env] : undefined) ??
    describeDefault(dataDirSetting);
  const outcome = await sendAdminRequest(
    dataDir,
    { command: 'definitions.export' },
    { runningBrokerOnly: true },
  );
  if (!outcome.response.ok) throw new HandoverError(`Pier refused the export: ${outcome.response.error}`);
  const report = await handoverToRabbitmq({
    pierDefinitions: outcome.response.result as Record<string, unknown>,
    sourceAmqpUrl: values.from ?? process.env.PIER_HANDOVER_FROM ?? DEFAULT_FROM,
    targetAmqpUrl: values.amqp,
    targetHttpUrl: values.http,
    ...(values.vhosts === undefined ? {} : { vhosts: regex(values.vhosts, '--vhosts') }),
    ...(values.queues === undefined ? {} : { queues: regex(values.queues, '--queues') }),
    quorum: values.quorum === true,
    dryRun: values['dry-run'] === true,
    prefetchCount: prefetch,
    progress: (line) => process.stderr.write(`pier: handover: ${line}\n`),
  });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.complete || report.dryRun ? 0 : 1;
}

async function sqs(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: SQS_OPTIONS, strict: true });
  if (values.help) {
    process.stdout.write(HANDOVER_SQS_HELP);
    return 0;
  }
  const report = await handoverSqs(values, regex);
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatSqsReport(report));
  return report.complete || report.dryRun ? 0 : 1;
}

async function kafka(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: KAFKA_OPTIONS, strict: true });
  if (values.help) {
    process.stdout.write(HANDOVER_KAFKA_HELP);
    return 0;
  }
  const report = await handoverKafka(values, regex);
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatKafkaReport(report));
  return report.complete || report.dryRun ? 0 : 1;
}

/**
 * An error from the target or from Pier's listener (refused, unreachable, wrong credentials):
 * reported as the hand-over's failure (exit 1), not as a crash.
 */
function isHandoverFailure(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'SqsHandoverError' ||
    error.name === 'KafkaHandoverError' ||
    '$metadata' in error ||
    /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|KafkaJS/.test(
      `${error.name} ${error.message} ${(error as { code?: string }).code ?? ''}`,
    )
  );
}

/** Anchored, as RabbitMQ's policy patterns are not: the whole name must match. */
function regex(source: string, flag: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (error) {
    throw new UsageError(
      `${flag} '${source}' is not a valid regular expression: ${(error as Error).message}`,
    );
  }
}

function formatReport(report: HandoverReport): string {
  const dash = (n: number | undefined) => (n === undefined ? '-' : String(n));
  const table = formatTable(
    report.dryRun
      ? ['vhost', 'queue', 'messages']
      : ['vhost', 'queue', 'at-start', 'moved', 'left-at-pier', 'on-target', 'error'],
    report.queues.map((q) =>
      report.dryRun
        ? [q.vhost, q.name, dash(q.atStart)]
        : [
            q.vhost,
            q.name,
            dash(q.atStart),
            String(q.moved),
            dash(q.remaining),
            dash(q.onTarget),
            q.error ?? '-',
          ],
    ),
  );
  if (report.dryRun) {
    const conflicts =
      report.definitionProblems.length === 0
        ? ''
        : `${report.definitionProblems.length} object(s) exist on the target with other settings; RabbitMQ will refuse the import until they match:\n  ${report.definitionProblems.join('\n  ')}\n`;
    return `dry run: nothing changed\n${table}${conflicts}`;
  }
  const moved = report.queues.reduce((sum, q) => sum + q.moved, 0);
  const left = report.queues.reduce((sum, q) => sum + (q.remaining ?? 0), 0);
  const definitions =
    report.definitionProblems.length === 0
      ? 'definitions: all on the target'
      : `definitions: ${report.definitionProblems.length} missing or different on the target:\n  ${report.definitionProblems.join('\n  ')}`;
  const verdict = report.complete
    ? 'hand-over complete'
    : 'hand-over incomplete: run it again (it resumes where it stopped) after fixing what is shown above';
  return `${table}${definitions}\nmoved ${moved} message(s), ${left} left at Pier\n${verdict}\n`;
}
