/**
 * What `pier handover rabbitmq` imports into the target: Pier's export (RabbitMQ's definitions
 * format) narrowed to the chosen vhosts and queues, with what RabbitMQ would refuse or what would
 * overwrite the target's own state taken out, each removal named in `notes`. And the check after
 * the import: every planned object present on the target with the same settings. Pure.
 */

export type Row = Record<string, unknown>;
export type Definitions = Record<string, unknown>;

export interface PlanOptions {
  /** Only vhosts whose name matches (default: all). */
  readonly vhosts?: RegExp;
  /** Only queues whose name matches: their definitions, bindings and messages (default: all). */
  readonly queues?: RegExp;
  /** Durable classic queues become quorum queues on the target (arguments quorum queues refuse dropped). */
  readonly quorum?: boolean;
}

export interface QueueRef {
  readonly vhost: string;
  readonly name: string;
}

export interface DefinitionsPlan {
  /** The document to POST to the target's /api/definitions. */
  readonly definitions: Definitions;
  /** The queues whose messages move, in export order. */
  readonly queues: readonly QueueRef[];
  /** What was left out or changed, and why. */
  readonly notes: readonly string[];
}

/**
 * Runtime parameter components that belong to plugins the target may not run (RabbitMQ refuses
 * the whole import for an unknown component), or that describe Pier's own bridges.
 */
const PLUGIN_COMPONENTS = new Set(['shovel', 'federation-upstream', 'federation-upstream-set']);
/** Global parameters that name the target cluster itself: importing Pier's would rename it. */
const TARGET_OWNED_GLOBALS = new Set(['cluster_name', 'internal_cluster_id']);
/** Queue arguments a quorum queue refuses (RabbitMQ 3.10). */
const NOT_FOR_QUORUM = ['x-max-priority', 'x-queue-mode', 'x-queue-master-locator', 'x-queue-version'];

const rows = (defs: Definitions, key: string): Row[] => {
  const value = defs[key];
  return Array.isArray(value) ? (value as Row[]) : [];
};
const text = (row: Row, key: string): string => String(row[key] ?? '');

export function planDefinitions(
  pier: Definitions,
  target: Definitions,
  options: PlanOptions = {},
): DefinitionsPlan {
  const notes: string[] = [];
  const vhostChosen = (name: string) => options.vhosts === undefined || options.vhosts.test(name);
  const queueChosen = (name: string) => options.queues === undefined || options.queues.test(name);
  const inVhost = (row: Row) => vhostChosen(text(row, 'vhost'));

  const vhosts = rows(pier, 'vhosts').filter((v) => vhostChosen(text(v, 'name')));
  const permissions = rows(pier, 'permissions').filter(inVhost);
  const topicPermissions = rows(pier, 'topic_permissions').filter(inVhost);

  // Users the target already has stay as the target's operator set them (password, tags).
  const targetUsers = new Set(rows(target, 'users').map((u) => text(u, 'name')));
  const usersInScope =
    options.vhosts === undefined
      ? undefined
      : new Set([...permissions, ...topicPermissions].map((p) => text(p, 'user')));
  const users = rows(pier, 'users').filter((u) => {
    const name = text(u, 'name');
    if (usersInScope !== undefined && !usersInScope.has(name)) return false;
    if (targetUsers.has(name)) {
      notes.push(`user '${name}' exists on the target: kept as it is there (password and tags not changed)`);
      return false;
    }
    return true;
  });

  const parameters = rows(pier, 'parameters').filter((p) => {
    if (!inVhost(p)) return false;
    if (!PLUGIN_COMPONENTS.has(text(p, 'component'))) return true;
    notes.push(
      `${text(p, 'component')} parameter '${text(p, 'name')}' in vhost '${text(p, 'vhost')}' not imported (a plugin's; define it on the target if it runs that plugin)`,
    );
    return false;
  });
  const globalParameters =
    options.vhosts === undefined
      ? rows(pier, 'global_parameters').filter((p) => !TARGET_OWNED_GLOBALS.has(text(p, 'name')))
      : [];

  const queues = rows(pier, 'queues')
    .filter((q) => inVhost(q) && queueChosen(text(q, 'name')))
    .map((q) => (options.quorum ? asQuorum(q, notes) : q));
  const chosenQueues = new Set(queues.map((q) => `${text(q, 'vhost')}\0${text(q, 'name')}`));
  const bindings = rows(pier, 'bindings').filter(
    (b) =>
      inVhost(b) &&
      (text(b, 'destination_type') !== 'queue' ||
        chosenQueues.has(`${text(b, 'vhost')}\0${text(b, 'destination')}`)),
  );

  const definitions: Definitions = {
    ...(pier.rabbit_version === undefined ? {} : { rabbit_version: pier.rabbit_version }),
    ...(pier.rabbitmq_version === undefined ? {} : { rabbitmq_version: pier.rabbitmq_version }),
    users,
    vhosts,
    permissions,
    topic_permissions: topicPermissions,
    parameters,
    global_parameters: globalParameters,
    policies: rows(pier, 'policies').filter(inVhost),
    queues,
    exchanges: rows(pier, 'exchanges').filter(inVhost),
    bindings,
  };
  return {
    definitions,
    queues: queues.map((q) => ({ vhost: text(q, 'vhost'), name: text(q, 'name') })),
    notes,
  };
}

function asQuorum(queue: Row, notes: string[]): Row {
  const args = { ...((queue.arguments as Row | undefined) ?? {}) };
  const type = args['x-queue-type'];
  if (type !== undefined && type !== 'classic') return queue;
  if (queue.auto_delete === true) {
    notes.push(`queue '${text(queue, 'name')}' stays classic: quorum queues cannot be auto-delete`);
    return queue;
  }
  const dropped = NOT_FOR_QUORUM.filter((name) => name in args);
  for (const name of dropped) delete args[name];
  if (dropped.length > 0) {
    notes.push(
      `queue '${text(queue, 'name')}' in vhost '${text(queue, 'vhost')}' as a quorum queue without ${dropped.join(', ')} (quorum queues refuse them)`,
    );
  }
  return { ...queue, arguments: { ...args, 'x-queue-type': 'quorum' } };
}

/**
 * The planned objects missing on the target, or present with other settings: one line each.
 * Users are compared by name and tags (the target may rehash passwords); the rest field by field.
 */
export function compareDefinitions(planned: Definitions, target: Definitions): string[] {
  const problems: string[] = [];
  const check = (section: string, keyOf: (row: Row) => string, fields: readonly string[], what: string) => {
    const there = new Map(rows(target, section).map((row) => [keyOf(row), row]));
    for (const row of rows(planned, section)) {
      const found = there.get(keyOf(row));
      const label = `${what} ${describeKey(keyOf(row))}`;
      if (!found) {
        problems.push(`${label}: missing on the target`);
        continue;
      }
      for (const field of fields) {
        if (!sameValue(row[field], found[field], field)) {
          problems.push(
            `${label}: ${field} is ${JSON.stringify(found[field])} on the target, ${JSON.stringify(row[field])} on Pier`,
          );
        }
      }
    }
  };
  const by =
    (...keys: string[]) =>
    (row: Row) =>
      keys.map((k) => text(row, k)).join('\0');
  check('vhosts', by('name'), [], 'vhost');
  check('users', by('name'), ['tags'], 'user');
  check('permissions', by('user', 'vhost'), ['configure', 'write', 'read'], 'permissions of');
  check('topic_permissions', by('user', 'vhost', 'exchange'), ['write', 'read'], 'topic permissions of');
  check('parameters', by('component', 'vhost', 'name'), ['value'], 'parameter');
  check('global_parameters', by('name'), ['value'], 'global parameter');
  check('policies', by('vhost', 'name'), ['pattern', 'apply-to', 'priority', 'definition'], 'policy');
  check('queues', by('vhost', 'name'), ['durable', 'auto_delete', 'arguments'], 'queue');
  check(
    'exchanges',
    by('vhost', 'name'),
    ['type', 'durable', 'auto_delete', 'internal', 'arguments'],
    'exchange',
  );
  check(
    'bindings',
    (b) =>
      [
        text(b, 'vhost'),
        text(b, 'source'),
        text(b, 'destination_type'),
        text(b, 'destination'),
        text(b, 'routing_key'),
        canonical(b.arguments ?? {}),
      ].join('\0'),
    [],
    'binding',
  );
  return problems;
}

function describeKey(key: string): string {
  return key
    .split('\0')
    .map((part) => `'${part}'`)
    .join(' ');
}

/** Tags may be a list or a comma-separated string (RabbitMQ 3.10 writes either by version). */
function sameValue(a: unknown, b: unknown, field: string): boolean {
  if (field === 'tags') return tagList(a) === tagList(b);
  return canonical(a ?? null) === canonical(b ?? null);
}

function tagList(value: unknown): string {
  const list = Array.isArray(value) ? value.map(String) : String(value ?? '').split(',');
  return list
    .map((t) => t.trim())
    .filter(Boolean)
    .sort()
    .join(',');
}

/** JSON with object keys sorted, so key order does not count as a difference. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Row).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
