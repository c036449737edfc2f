/**
 * `pier handover rabbitmq`: hands a Pier's AMQP workload over to RabbitMQ. Four steps, each safe to
 * repeat, so a run that was interrupted is simply run again:
 *   1. plan: Pier's definitions (RabbitMQ's format) narrowed and checked (definitions-plan.ts);
 *   2. import: POST /api/definitions on the target's management API (an import of objects that
 *      already exist with the same settings changes nothing);
 *   3. move: every planned queue drained into its twin on the target with on-confirm semantics
 *      (queue-mover.ts), a few queues at a time, progress reported as it goes;
 *   4. verify: the target's definitions compared with the plan, and per queue the messages moved,
 *      left at the source and waiting on the target.
 */
import { redact } from '../amqp-endpoint.js';
import {
  compareDefinitions,
  type Definitions,
  type PlanOptions,
  planDefinitions,
  type QueueRef,
} from './definitions-plan.js';
import { inParallel } from './in-parallel.js';
import { moveQueue, queueDepth } from './queue-mover.js';

export interface HandoverOptions extends PlanOptions {
  /** Pier's definitions (its export). */
  readonly pierDefinitions: Definitions;
  /** Pier's AMQP URL with credentials; the vhost part is replaced per queue. */
  readonly sourceAmqpUrl: string;
  /** The target's AMQP URL with credentials; the vhost part is replaced per queue. */
  readonly targetAmqpUrl: string;
  /** The target's management API, http(s)://user:pass@host:port. */
  readonly targetHttpUrl: string;
  readonly dryRun?: boolean;
  readonly prefetchCount?: number;
  /** Queues moved at the same time. */
  readonly parallelQueues?: number;
  readonly progress: (line: string) => void;
}

export interface QueueAccount extends QueueRef {
  /** Ready at Pier when the move started (undefined: the queue was not found at Pier). */
  readonly atStart: number | undefined;
  readonly moved: number;
  /** Left at Pier after the move. */
  readonly remaining: number | undefined;
  /** Ready on the target after the move. */
  readonly onTarget: number | undefined;
  readonly error?: string;
}

export interface HandoverReport {
  readonly dryRun: boolean;
  readonly notes: readonly string[];
  readonly planned: Record<string, number>;
  readonly queues: readonly QueueAccount[];
  /** Planned definitions missing or different on the target (empty: all there); in a dry run, those already there with other settings. */
  readonly definitionProblems: readonly string[];
  /** True when every queue is drained and every definition is on the target. */
  readonly complete: boolean;
}

export class HandoverError extends Error {}

const PROGRESS_INTERVAL_MS = 1000;

export async function handoverToRabbitmq(options: HandoverOptions): Promise<HandoverReport> {
  const http = managementClient(options.targetHttpUrl);
  const before = await http.get('/api/definitions');
  const plan = planDefinitions(options.pierDefinitions, before, options);
  const planned = Object.fromEntries(
    Object.entries(plan.definitions)
      .filter(([, value]) => Array.isArray(value))
      .map(([key, value]) => [key, (value as unknown[]).length]),
  );
  const say = options.progress;
  say(
    `plan: ${Object.entries(planned)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')} → ${redact(options.targetHttpUrl)}`,
  );
  for (const note of plan.notes) say(`note: ${note}`);

  if (options.dryRun) {
    // Objects the target has with other settings: RabbitMQ would refuse the import for them.
    const conflicts = compareDefinitions(plan.definitions, before).filter(
      (p) => !p.endsWith('missing on the target'),
    );
    for (const conflict of conflicts) say(`conflict: ${conflict}`);
    const queues: QueueAccount[] = [];
    for (const q of plan.queues) {
      const atStart = await queueDepth(vhostUrl(options.sourceAmqpUrl, q.vhost), q.name);
      say(`would move queue '${q.name}' in vhost '${q.vhost}': ${atStart ?? 'not found'} message(s)`);
      queues.push({ ...q, atStart, moved: 0, remaining: atStart, onTarget: undefined });
    }
    return {
      dryRun: true,
      notes: plan.notes,
      planned,
      queues,
      definitionProblems: conflicts,
      complete: false,
    };
  }

  await http.post('/api/definitions', plan.definitions);
  say('definitions imported into the target');

  const queues = await inParallel(plan.queues, options.parallelQueues ?? 4, (q) => moveOne(q, options));

  const after = await http.get('/api/definitions');
  const definitionProblems = compareDefinitions(plan.definitions, after);
  for (const problem of definitionProblems) say(`definitions: ${problem}`);
  const complete =
    definitionProblems.length === 0 && queues.every((q) => q.error === undefined && q.remaining === 0);
  return { dryRun: false, notes: plan.notes, planned, queues, definitionProblems, complete };
}

async function moveOne(q: QueueRef, options: HandoverOptions): Promise<QueueAccount> {
  const sourceUrl = vhostUrl(options.sourceAmqpUrl, q.vhost);
  const targetUrl = vhostUrl(options.targetAmqpUrl, q.vhost);
  const label = `queue '${q.name}' in vhost '${q.vhost}'`;
  const say = options.progress;
  const atStart = await queueDepth(sourceUrl, q.name);
  if (atStart === undefined) {
    say(`${label}: not found at Pier (deleted since the export?); skipped`);
    return { ...q, atStart, moved: 0, remaining: undefined, onTarget: await queueDepth(targetUrl, q.name) };
  }
  say(`${label}: ${atStart} message(s) to move`);
  let lastReportMs = Date.now();
  let error: string | undefined;
  let moved = 0;
  try {
    const result = await moveQueue({
      sourceUrl,
      targetUrl,
      queue: q.name,
      prefetchCount: options.prefetchCount ?? 500,
      onMoved: (n) => {
        moved = n;
        const now = Date.now();
        if (now - lastReportMs < PROGRESS_INTERVAL_MS) return;
        lastReportMs = now;
        say(`${label}: moved ${n} of ${atStart}`);
      },
      onRetry: (e, attempt) => say(`${label}: ${e.message}; retrying (attempt ${attempt + 1})`),
    });
    moved = result.moved;
  } catch (e) {
    error = (e as Error).message;
    say(`${label}: stopped: ${error}`);
  }
  const remaining = await queueDepth(sourceUrl, q.name).catch(() => undefined);
  const onTarget = await queueDepth(targetUrl, q.name).catch(() => undefined);
  say(`${label}: moved ${moved}, ${remaining ?? '?'} left at Pier, ${onTarget ?? '?'} on the target`);
  return { ...q, atStart, moved, remaining, onTarget, ...(error === undefined ? {} : { error }) };
}

/** The AMQP URL for one vhost (its path is the vhost, percent-encoded: '/' is %2F). */
export function vhostUrl(url: string, vhost: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(vhost)}`;
  return parsed.toString();
}

interface ManagementClient {
  get(path: string): Promise<Definitions>;
  post(path: string, body: unknown): Promise<void>;
}

/** RabbitMQ's management API with the credentials of the URL (http://user:pass@host:port). */
function managementClient(url: string): ManagementClient {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  if (!user) {
    throw new HandoverError(
      `--http ${redact(url)} has no credentials: give them in the URL, e.g. http://admin:secret@rabbit:15672`,
    );
  }
  const base = `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/$/, '')}`;
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const call = async (method: string, path: string, body?: unknown) => {
    let response: Response;
    try {
      response = await fetch(base + path, {
        method,
        headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new HandoverError(
        `cannot reach the target's management API at ${redact(url)}: ${(error as Error).message}; is rabbitmq_management enabled there?`,
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw new HandoverError(
        `${method} ${path} on the target answered ${response.status}: ${text.slice(0, 500)}${
          response.status === 401
            ? ' (check the user and password in --http; the user needs the administrator tag)'
            : ''
        }`,
      );
    }
    return text;
  };
  return {
    async get(path) {
      return JSON.parse(await call('GET', path)) as Definitions;
    },
    async post(path, body) {
      await call('POST', path, body);
    },
  };
}
