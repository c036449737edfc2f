/**
 * `pier handover sqs --endpoint URL`: Pier's SQS queues and their messages moved to another SQS
 * endpoint (src/bridge/handover/sqs-handover.ts). Progress on stderr, the account on stdout.
 * Exit codes: 0 everything moved and verified, 1 something left or different, 2 usage error.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { handoverToSqs, type SqsHandoverReport } from '../bridge/handover/sqs-handover.js';
import { sqsAddressOf } from '../bridge/sqs-endpoint.js';
import { formatTable } from './table.js';

const DEFAULT_FROM = 'http://127.0.0.1:9324';

export const HANDOVER_SQS_HELP = `Usage: pier handover sqs --endpoint URL [flags]

Hands this Pier's SQS queues over to another SQS endpoint (AWS SQS, or any SQS-compatible one):
each queue is created there with its attributes (FifoQueue, ContentBasedDeduplication, delays,
retention, visibility timeout, ...), its tags, its Policy and its RedrivePolicy (queue ARNs
rewritten to the target's; dead-letter queues created first and taken along even when --queues
leaves them out). Then its messages are moved: received at Pier, sent to the target in batches
with their body, message attributes and, for FIFO queues, MessageGroupId and
MessageDeduplicationId in group order, and deleted at Pier only once the target acknowledged
them. Then the target's attributes and tags are checked and each queue accounted for.
Not carried (SQS cannot set them): SentTimestamp, receive counts, MessageId, SequenceNumber,
messages in flight at Pier (they move once they are visible again).
Interrupted? Run it again: it resumes, and no message is lost. A message the target acknowledged
just before the interruption may arrive twice in a standard queue; in a FIFO queue the target
drops the copy when the rerun comes within its 5-minute deduplication window.

Flags:
  --endpoint URL             the target SQS endpoint, e.g. https://sqs.eu-west-1.amazonaws.com
  --region R                 the target's region (default: AWS_REGION, else from the endpoint's
                             host name, else us-east-1)
  --access-key-id ID         the target's credentials (default: the AWS SDK's chain:
  --secret-access-key KEY      AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, ...)
  --session-token TOKEN      with temporary credentials
  --from URL                 this Pier's SQS endpoint (default ${DEFAULT_FROM}, env
                             PIER_HANDOVER_SQS_FROM); credentials and region in the URL, e.g.
                             http://KEY:SECRET@127.0.0.1:9324/?region=eu-west-1
  --queues REGEX             only queues whose whole name matches (plus their dead-letter queues)
  --visibility-timeout S     how long a message received for the move stays hidden at Pier
                             (default 30): after an interruption it is back this much later
  --max-wait S               how long to wait for messages in flight or delayed at Pier before
                             giving up on a queue (default 120)
  --dry-run                  print the plan and the queue depths; change nothing
  --json                     print the account as JSON
`;

export class HandoverUsageError extends Error {}

export interface SqsFlags {
  endpoint?: string | undefined;
  region?: string | undefined;
  'access-key-id'?: string | undefined;
  'secret-access-key'?: string | undefined;
  'session-token'?: string | undefined;
  from?: string | undefined;
  queues?: string | undefined;
  'visibility-timeout'?: string | undefined;
  'max-wait'?: string | undefined;
  'dry-run'?: boolean | undefined;
  json?: boolean | undefined;
}

export const SQS_OPTIONS = {
  endpoint: { type: 'string' },
  region: { type: 'string' },
  'access-key-id': { type: 'string' },
  'secret-access-key': { type: 'string' },
  'session-token': { type: 'string' },
  from: { type: 'string' },
  queues: { type: 'string' },
  'visibility-timeout': { type: 'string' },
  'max-wait': { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

export async function handoverSqs(values: SqsFlags, regex: (source: string, flag: string) => RegExp) {
  if (!values.endpoint)
    throw new HandoverUsageError('handover sqs needs --endpoint URL (pier handover sqs --help)');
  let endpoint: URL;
  try {
    endpoint = new URL(values.endpoint);
  } catch {
    throw new HandoverUsageError(
      `--endpoint '${values.endpoint}' is not a URL, e.g. https://sqs.eu-west-1.amazonaws.com`,
    );
  }
  if ((values['access-key-id'] === undefined) !== (values['secret-access-key'] === undefined)) {
    throw new HandoverUsageError('give --access-key-id and --secret-access-key together');
  }
  const region =
    values.region ??
    process.env.AWS_REGION ??
    process.env.AWS_DEFAULT_REGION ??
    /sqs[.-]([a-z0-9-]+)\.amazonaws/.exec(endpoint.hostname)?.[1] ??
    'us-east-1';
  const target = new SQSClient({
    endpoint: values.endpoint,
    region,
    ...(values['access-key-id'] === undefined
      ? {}
      : {
          credentials: {
            accessKeyId: values['access-key-id'],
            secretAccessKey: values['secret-access-key']!,
            ...(values['session-token'] === undefined ? {} : { sessionToken: values['session-token'] }),
          },
        }),
  });
  const from = sqsAddressOf(values.from ?? process.env.PIER_HANDOVER_SQS_FROM ?? DEFAULT_FROM);
  // Pier without --sqs-access-key takes any well-formed signature on loopback: sign with a placeholder.
  const source = new SQSClient({
    endpoint: from.endpoint,
    region: from.region,
    credentials: from.credentials ?? { accessKeyId: 'pier-handover', secretAccessKey: 'pier-handover' },
  });
  try {
    return await handoverToSqs({
      source,
      target,
      ...(values.queues === undefined ? {} : { queues: regex(values.queues, '--queues') }),
      dryRun: values['dry-run'] === true,
      visibilityTimeoutS: seconds(values['visibility-timeout'], '--visibility-timeout', 30),
      maxWaitMs: seconds(values['max-wait'], '--max-wait', 120) * 1000,
      progress: (line) => process.stderr.write(`pier: handover: ${line}\n`),
    });
  } finally {
    source.destroy();
    target.destroy();
  }
}

function seconds(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 43_200) {
    throw new HandoverUsageError(`${flag} must be a whole number of seconds from 0 to 43200, not '${value}'`);
  }
  return n;
}

export function formatSqsReport(report: SqsHandoverReport): string {
  const dash = (n: number | undefined) => (n === undefined ? '-' : String(n));
  const table = formatTable(
    report.dryRun
      ? ['queue', 'type', 'messages']
      : ['queue', 'type', 'at-start', 'moved', 'left-at-pier', 'on-target', 'attributes', 'error'],
    report.queues.map((q) =>
      report.dryRun
        ? [q.name, q.fifo ? 'fifo' : 'standard', dash(q.atStart)]
        : [
            q.name,
            q.fifo ? 'fifo' : 'standard',
            dash(q.atStart),
            String(q.moved),
            dash(q.remaining),
            dash(q.onTarget),
            q.problems.length === 0 ? 'same' : `${q.problems.length} different`,
            q.error ?? '-',
          ],
    ),
  );
  if (report.dryRun) return `dry run: nothing changed\n${table}`;
  const moved = report.queues.reduce((sum, q) => sum + q.moved, 0);
  const left = report.queues.reduce((sum, q) => sum + (q.remaining ?? 0), 0);
  const problems = report.queues.flatMap((q) => q.problems);
  const verdict = report.complete
    ? 'hand-over complete'
    : 'hand-over incomplete: run it again (it resumes where it stopped) after fixing what is shown above';
  return `${table}${problems.length === 0 ? '' : `${problems.join('\n')}\n`}moved ${moved} message(s), ${left} left at Pier\n${verdict}\n`;
}
