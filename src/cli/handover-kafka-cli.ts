/**
 * `pier handover kafka --bootstrap HOST:PORT`: Pier's Kafka topics, their records and the consumer
 * groups' positions moved to a Kafka cluster (src/bridge/handover/kafka-handover.ts). Progress on
 * stderr, the account on stdout. Exit codes: 0 everything copied and verified, 1 something left or
 * refused, 2 usage error.
 */
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs';
import { handoverToKafka, type KafkaHandoverReport } from '../bridge/handover/kafka-handover.js';
import { HandoverUsageError } from './handover-sqs-cli.js';
import { formatTable } from './table.js';

const DEFAULT_FROM = '127.0.0.1:9092';
const DEFAULT_STATE = 'pier-handover-kafka.json';

export const HANDOVER_KAFKA_HELP = `Usage: pier handover kafka --bootstrap HOST:PORT [flags]

Hands this Pier's Kafka workload over to a Kafka cluster: each topic is created there with the
same number of partitions and the configs set on it (retention, cleanup.policy, ...), then every
partition's records are copied to the same partition, in order, with their keys, headers and
timestamps (acks=all). Offsets at the target differ (the copy starts at the target's offset 0 and
Pier's log may have gaps), so each consumer group's committed offsets are translated through the
copy's offset map and committed at the target: a group resumes there at the same record. A group
with live members at Pier is refused (its position is still moving): stop its consumers first.
Then the target's partitions and the groups' offsets are checked and each topic accounted for.
Stop the producers at Pier first: records written after a partition's copy ended stay behind
(a rerun copies them). Interrupted? Run it again with the same --state file: it resumes where the
last acknowledged batch ended, and records the target acknowledged just before the interruption
are not written twice.

Flags:
  --bootstrap HOST:PORT   the target's bootstrap servers (comma-separated)
  --from HOST:PORT        this Pier's Kafka listener (default ${DEFAULT_FROM}, env
                          PIER_HANDOVER_KAFKA_FROM)
  --topics REGEX          only topics whose whole name matches (default: all but __internal)
  --groups REGEX          only consumer groups whose whole id matches (default: all)
  --replication-factor N  for the topics created (default: the target's default)
  --state FILE            the copy's offset map, kept between runs (default ./${DEFAULT_STATE});
                          keep it until the consumers run at the target
  --idle S                end the copy when no record arrived for S seconds although some
                          offsets are left (transaction markers at a log's end; default 15)
  --ssl                   TLS to the target
  --sasl MECH:USER:PASS   SASL to the target: plain, scram-sha-256 or scram-sha-512
  --progress S            seconds between progress lines while copying (default 1; 0: after
                          every partition's batch)
  --dry-run               print the plan, record counts and groups; change nothing
  --json                  print the account as JSON
`;

export const KAFKA_OPTIONS = {
  bootstrap: { type: 'string' },
  from: { type: 'string' },
  topics: { type: 'string' },
  groups: { type: 'string' },
  'replication-factor': { type: 'string' },
  state: { type: 'string' },
  idle: { type: 'string' },
  progress: { type: 'string' },
  ssl: { type: 'boolean' },
  sasl: { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

export interface KafkaFlags {
  bootstrap?: string | undefined;
  from?: string | undefined;
  topics?: string | undefined;
  groups?: string | undefined;
  'replication-factor'?: string | undefined;
  state?: string | undefined;
  idle?: string | undefined;
  progress?: string | undefined;
  ssl?: boolean | undefined;
  sasl?: string | undefined;
  'dry-run'?: boolean | undefined;
  json?: boolean | undefined;
}

export async function handoverKafka(
  values: KafkaFlags,
  regex: (source: string, flag: string) => RegExp,
): Promise<KafkaHandoverReport> {
  if (!values.bootstrap) {
    throw new HandoverUsageError('handover kafka needs --bootstrap HOST:PORT (pier handover kafka --help)');
  }
  const brokers = (flag: string, value: string) => {
    const list = value.split(',').map((b) => b.trim());
    for (const broker of list) {
      if (!/^[^:\s]+:\d+$/.test(broker)) throw new HandoverUsageError(`${flag} '${broker}' is not HOST:PORT`);
    }
    return list;
  };
  const replicationFactor = whole(values['replication-factor'], '--replication-factor', 1);
  const idleS = whole(values.idle, '--idle', 1) ?? 15;
  const progressS = whole(values.progress, '--progress', 0) ?? 1;
  const quiet: Partial<KafkaConfig> = { logLevel: logLevel.NOTHING, retry: { retries: 3 } };
  const target = new Kafka({
    clientId: 'pier-handover',
    brokers: brokers('--bootstrap', values.bootstrap),
    ...quiet,
    ...(values.ssl ? { ssl: true } : {}),
    ...(values.sasl === undefined ? {} : { sasl: sasl(values.sasl) }),
  });
  const source = new Kafka({
    clientId: 'pier-handover',
    brokers: brokers('--from', values.from ?? process.env.PIER_HANDOVER_KAFKA_FROM ?? DEFAULT_FROM),
    ...quiet,
  });
  return handoverToKafka({
    source,
    target,
    statePath: values.state ?? DEFAULT_STATE,
    ...(values.topics === undefined ? {} : { topics: regex(values.topics, '--topics') }),
    ...(values.groups === undefined ? {} : { groups: regex(values.groups, '--groups') }),
    ...(replicationFactor === undefined ? {} : { replicationFactor }),
    dryRun: values['dry-run'] === true,
    idleMs: idleS * 1000,
    progress: (line) => process.stderr.write(`pier: handover: ${line}\n`),
    progressIntervalMs: progressS * 1000,
  });
}

function whole(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new HandoverUsageError(`${flag} must be a whole number of at least ${min}, not '${value}'`);
  }
  return n;
}

function sasl(value: string): SASLOptions {
  const [mechanism = '', username = '', ...rest] = value.split(':');
  const password = rest.join(':');
  const known = ['plain', 'scram-sha-256', 'scram-sha-512'];
  if (!known.includes(mechanism) || !username) {
    throw new HandoverUsageError(
      `--sasl must be MECHANISM:USER:PASSWORD with MECHANISM one of ${known.join(', ')}`,
    );
  }
  return { mechanism, username, password } as SASLOptions;
}

export function formatKafkaReport(report: KafkaHandoverReport): string {
  const topics = formatTable(
    report.dryRun
      ? ['topic', 'partitions', 'records']
      : ['topic', 'partitions', 'at-start', 'copied', 'left-at-pier', 'on-target', 'check', 'error'],
    report.topics.map((t) =>
      report.dryRun
        ? [t.topic, String(t.partitions), String(t.atStart)]
        : [
            t.topic,
            String(t.partitions),
            String(t.atStart),
            String(t.copied),
            String(t.remaining),
            String(t.onTarget),
            t.problems.length === 0 ? 'same' : `${t.problems.length} different`,
            t.error ?? '-',
          ],
    ),
  );
  const groups =
    report.groups.length === 0
      ? 'no consumer groups\n'
      : formatTable(
          ['group', 'offsets', 'error'],
          report.groups.map((g) => [
            g.groupId,
            g.offsets.map((o) => `${o.topic}/${o.partition}:${o.pier}→${o.target ?? '?'}`).join(' ') || '-',
            g.error ?? '-',
          ]),
        );
  if (report.dryRun) return `dry run: nothing changed\n${topics}${groups}`;
  const problems = report.topics.flatMap((t) => t.problems.map((p) => `topic '${t.topic}': ${p}`));
  const copied = report.topics.reduce((sum, t) => sum + t.copied, 0);
  const left = report.topics.reduce((sum, t) => sum + t.remaining, 0);
  const verdict = report.complete
    ? 'hand-over complete'
    : 'hand-over incomplete: run it again (it resumes where it stopped) after fixing what is shown above';
  return `${topics}${groups}${problems.length === 0 ? '' : `${problems.join('\n')}\n`}copied ${copied} record(s), ${left} left at Pier\n${verdict}\n`;
}
