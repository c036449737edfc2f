// A queue's Policy attribute as AWS evaluates it: the IAM policy language for resource-based
// policies (IAM User Guide, "IAM JSON policy elements reference" and "Policy evaluation logic";
// SQS Developer Guide, "Amazon SQS policy evaluation logic"). Pure: the caller, the request's
// context keys and the time come in; nothing is read from sockets or clocks here.
//
// Decisions: an explicit Deny in any matching statement wins; otherwise a matching Allow allows;
// otherwise the request is implicitly denied. Statement order does not matter.

/** A policy document that does not parse; the message names the element that is wrong. */
export class PolicyParseError extends Error {}

export type PolicyEffect = 'Allow' | 'Deny';

/** A principal element: `*` (anyone) or the AWS principals listed (other kinds never match a caller). */
interface PrincipalSet {
  readonly anyone: boolean;
  /** Account ids (12 digits) and principal ARNs as written. */
  readonly aws: readonly string[];
}

interface ConditionClause {
  /** Operator as written, without IfExists and set prefixes, e.g. `StringLike`. */
  readonly operator: string;
  readonly ifExists: boolean;
  readonly set: 'ForAnyValue' | 'ForAllValues' | undefined;
  /** Condition key, lower-cased (keys are case-insensitive). */
  readonly key: string;
  readonly values: readonly string[];
}

export interface PolicyStatement {
  readonly sid: string | undefined;
  readonly effect: PolicyEffect;
  readonly principal: PrincipalSet | undefined;
  readonly notPrincipal: PrincipalSet | undefined;
  readonly action: readonly string[] | undefined;
  readonly notAction: readonly string[] | undefined;
  /** Absent: the statement applies to the queue it is attached to. */
  readonly resource: readonly string[] | undefined;
  readonly notResource: readonly string[] | undefined;
  readonly conditions: readonly ConditionClause[];
}

export interface QueuePolicy {
  readonly statements: readonly PolicyStatement[];
}

/** Who asks, for what, on which queue, and the request's context keys. */
export interface PolicyRequest {
  /** The caller's 12-digit account id. */
  readonly account: string;
  /** The caller's principal ARN, e.g. `arn:aws:iam::111122223333:root`. */
  readonly principalArn: string;
  /** The IAM action name, e.g. `SendMessage` (batch actions are authorized as their single form). */
  readonly action: string;
  /** The queue's ARN. */
  readonly resource: string;
  /** Global condition keys present in the request, lower-cased names (`aws:securetransport`). */
  readonly context: ReadonlyMap<string, string | readonly string[]>;
}

export type PolicyDecision = 'allow' | 'explicit-deny' | 'implicit-deny';

const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
]);

/** The operators understood, by family; `IfExists` may follow any but Null. */
const STRING_OPERATORS = new Set([
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
]);
const ARN_OPERATORS = new Set(['ArnEquals', 'ArnNotEquals', 'ArnLike', 'ArnNotLike']);
const NUMERIC_OPERATORS = new Set([
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
]);
const DATE_OPERATORS = new Set([
  'DateEquals',
  'DateNotEquals',
  'DateLessThan',
  'DateLessThanEquals',
  'DateGreaterThan',
  'DateGreaterThanEquals',
]);
const IP_OPERATORS = new Set(['IpAddress', 'NotIpAddress']);
const KNOWN_OPERATORS = new Set([
  ...STRING_OPERATORS,
  ...ARN_OPERATORS,
  ...NUMERIC_OPERATORS,
  ...DATE_OPERATORS,
  ...IP_OPERATORS,
  'Bool',
  'BinaryEquals',
  'Null',
]);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses a Policy attribute. Throws PolicyParseError naming what is wrong; the whole document is
 * refused, never a part of it.
 */
export function parseQueuePolicy(text: string): QueuePolicy {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new PolicyParseError('the policy is not valid JSON.');
  }
  if (!isObject(document)) throw new PolicyParseError('the policy must be a JSON object.');
  for (const key of Object.keys(document)) {
    if (key !== 'Version' && key !== 'Id' && key !== 'Statement')
      throw new PolicyParseError(`unknown policy element '${key}'.`);
  }
  const version = document.Version;
  if (version !== undefined && (typeof version !== 'string' || !VERSIONS.has(version))) {
    throw new PolicyParseError(
      `Version '${String(version)}' is not a policy language version (2012-10-17 or 2008-10-17).`,
    );
  }
  if (document.Id !== undefined && typeof document.Id !== 'string')
    throw new PolicyParseError('Id must be a string.');
  const raw = document.Statement;
  if (raw === undefined) throw new PolicyParseError('the policy has no Statement.');
  const list = Array.isArray(raw) ? raw : [raw];
  return { statements: list.map((statement, index) => parseStatement(statement, index)) };
}

function parseStatement(raw: unknown, index: number): PolicyStatement {
  const where = `Statement[${index}]`;
  if (!isObject(raw)) throw new PolicyParseError(`${where} must be an object.`);
  for (const key of Object.keys(raw)) {
    if (!STATEMENT_KEYS.has(key)) throw new PolicyParseError(`${where} has an unknown element '${key}'.`);
  }
  if (raw.Sid !== undefined && typeof raw.Sid !== 'string')
    throw new PolicyParseError(`${where}.Sid must be a string.`);
  const effect = raw.Effect;
  if (effect !== 'Allow' && effect !== 'Deny')
    throw new PolicyParseError(`${where}.Effect must be Allow or Deny, not ${JSON.stringify(effect)}.`);
  const exactlyOne = (a: string, b: string, required: boolean) => {
    if (raw[a] !== undefined && raw[b] !== undefined)
      throw new PolicyParseError(`${where} has both ${a} and ${b}.`);
    if (required && raw[a] === undefined && raw[b] === undefined)
      throw new PolicyParseError(`${where} has neither ${a} nor ${b}.`);
  };
  exactlyOne('Principal', 'NotPrincipal', true);
  exactlyOne('Action', 'NotAction', true);
  exactlyOne('Resource', 'NotResource', false);
  const action = raw.Action === undefined ? undefined : stringList(raw.Action, `${where}.Action`);
  const notAction = raw.NotAction === undefined ? undefined : stringList(raw.NotAction, `${where}.NotAction`);
  for (const pattern of [...(action ?? []), ...(notAction ?? [])]) {
    if (pattern !== '*' && !/^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$/.test(pattern))
      throw new PolicyParseError(
        `${where}: '${pattern}' is not an action (service:Action, e.g. sqs:SendMessage).`,
      );
  }
  const resource = raw.Resource === undefined ? undefined : stringList(raw.Resource, `${where}.Resource`);
  const notResource =
    raw.NotResource === undefined ? undefined : stringList(raw.NotResource, `${where}.NotResource`);
  for (const pattern of [...(resource ?? []), ...(notResource ?? [])]) {
    if (pattern !== '*' && !pattern.startsWith('arn:'))
      throw new PolicyParseError(`${where}: '${pattern}' is not a resource ARN.`);
  }
  return {
    sid: raw.Sid as string | undefined,
    effect,
    principal: raw.Principal === undefined ? undefined : parsePrincipal(raw.Principal, `${where}.Principal`),
    notPrincipal:
      raw.NotPrincipal === undefined ? undefined : parsePrincipal(raw.NotPrincipal, `${where}.NotPrincipal`),
    // Action names are case-insensitive: kept lower-cased, matched against the lower-cased action.
    action: action?.map((pattern) => pattern.toLowerCase()),
    notAction: notAction?.map((pattern) => pattern.toLowerCase()),
    resource,
    notResource,
    conditions: raw.Condition === undefined ? [] : parseConditions(raw.Condition, `${where}.Condition`),
  };
}

function stringList(value: unknown, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new PolicyParseError(`${where} is empty.`);
  for (const item of list) {
    if (typeof item !== 'string' || item === '')
      throw new PolicyParseError(`${where} must be a string or a list of strings.`);
  }
  return list as string[];
}

const PRINCIPAL_KINDS = new Set(['AWS', 'Service', 'Federated', 'CanonicalUser']);

function parsePrincipal(value: unknown, where: string): PrincipalSet {
  if (value === '*') return { anyone: true, aws: [] };
  if (!isObject(value)) throw new PolicyParseError(`${where} must be "*" or an object such as {"AWS": ...}.`);
  let anyone = false;
  const aws: string[] = [];
  for (const [kind, entries] of Object.entries(value)) {
    if (!PRINCIPAL_KINDS.has(kind))
      throw new PolicyParseError(`${where} has an unknown principal type '${kind}'.`);
    const list = stringList(entries, `${where}.${kind}`);
    if (kind !== 'AWS') continue; // service and federated principals never sign requests to Pier
    for (const entry of list) {
      if (entry === '*') anyone = true;
      else if (/^\d{12}$/.test(entry) || /^arn:aws:iam::\d{12}:.+$/.test(entry)) aws.push(entry);
      else
        throw new PolicyParseError(
          `${where}.AWS: '${entry}' is not an account id or an IAM principal ARN (arn:aws:iam::<account>:root).`,
        );
    }
  }
  return { anyone, aws };
}

function parseConditions(value: unknown, where: string): ConditionClause[] {
  if (!isObject(value)) throw new PolicyParseError(`${where} must be an object of operators.`);
  const clauses: ConditionClause[] = [];
  for (const [written, block] of Object.entries(value)) {
    let operator = written;
    let set: ConditionClause['set'];
    const colon = operator.indexOf(':');
    if (colon !== -1) {
      const prefix = operator.slice(0, colon);
      if (prefix !== 'ForAnyValue' && prefix !== 'ForAllValues')
        throw new PolicyParseError(`${where}: '${written}' is not a condition operator.`);
      set = prefix;
      operator = operator.slice(colon + 1);
    }
    const ifExists = operator.endsWith('IfExists') && operator !== 'IfExists';
    if (ifExists) operator = operator.slice(0, -'IfExists'.length);
    if (!KNOWN_OPERATORS.has(operator) || (ifExists && operator === 'Null'))
      throw new PolicyParseError(`${where}: '${written}' is not a condition operator.`);
    if (!isObject(block)) throw new PolicyParseError(`${where}.${written} must be an object of keys.`);
    for (const [key, raw] of Object.entries(block)) {
      const list = Array.isArray(raw) ? raw : [raw];
      if (list.length === 0) throw new PolicyParseError(`${where}.${written}.${key} is empty.`);
      const values = list.map((item) => {
        if (typeof item === 'string') return item;
        if (typeof item === 'boolean' || typeof item === 'number') return String(item);
        throw new PolicyParseError(`${where}.${written}.${key} must hold strings.`);
      });
      for (const text of values) checkConditionValue(operator, text, `${where}.${written}.${key}`);
      clauses.push({ operator, ifExists, set, key: key.toLowerCase(), values });
    }
  }
  return clauses;
}

function checkConditionValue(operator: string, text: string, where: string): void {
  if (DATE_OPERATORS.has(operator) && dateMs(text) === undefined)
    throw new PolicyParseError(`${where}: '${text}' is not a date (ISO 8601 or epoch seconds).`);
  if (NUMERIC_OPERATORS.has(operator) && !Number.isFinite(Number(text)))
    throw new PolicyParseError(`${where}: '${text}' is not a number.`);
  if (IP_OPERATORS.has(operator) && parseCidr(text) === undefined)
    throw new PolicyParseError(`${where}: '${text}' is not an IP address or CIDR block.`);
  if ((operator === 'Bool' || operator === 'Null') && text !== 'true' && text !== 'false')
    throw new PolicyParseError(`${where}: '${text}' must be true or false.`);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** The decision of a policy for a request (no policy: implicit deny). */
export function evaluateQueuePolicy(policy: QueuePolicy | undefined, request: PolicyRequest): PolicyDecision {
  if (!policy) return 'implicit-deny';
  let allowed = false;
  const target: Target = {
    action: `sqs:${request.action.toLowerCase()}`,
    resource: splitArn(request.resource),
  };
  for (const statement of policy.statements) {
    if (!statementApplies(statement, request, target)) continue;
    if (statement.effect === 'Deny') return 'explicit-deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}

/** The request's action (lower-cased, `sqs:` prefixed) and queue ARN (split), computed once. */
interface Target {
  readonly action: string;
  readonly resource: string[] | undefined;
}

function statementApplies(statement: PolicyStatement, request: PolicyRequest, target: Target): boolean {
  if (statement.principal && !principalMatches(statement.principal, request)) return false;
  if (statement.notPrincipal && principalMatches(statement.notPrincipal, request)) return false;
  const { action, resource } = target;
  if (statement.action && !statement.action.some((pattern) => wildcardMatch(pattern, action))) return false;
  if (statement.notAction?.some((pattern) => wildcardMatch(pattern, action))) return false;
  const matches = (pattern: string) => pattern === request.resource || arnPartsLike(pattern, resource);
  if (statement.resource && !statement.resource.some(matches)) return false;
  if (statement.notResource?.some(matches)) return false;
  return statement.conditions.every((clause) => conditionHolds(clause, request.context));
}

/** An account id or `arn:aws:iam::<account>:root` names every principal of the account. */
function principalMatches(principal: PrincipalSet, request: PolicyRequest): boolean {
  if (principal.anyone) return true;
  return principal.aws.some(
    (entry) =>
      entry === request.account ||
      entry === `arn:aws:iam::${request.account}:root` ||
      entry === request.principalArn,
  );
}

/** `*` matches any run of characters, `?` one; the rest literally (case-sensitive). */
export function wildcardMatch(pattern: string, text: string): boolean {
  // Iterative glob with backtracking over the last `*` (linear in practice, no regex built from input).
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * ArnLike: each of the six colon-separated parts matched on its own, with wildcards (the last part
 * keeps any further colons). `*` alone matches any ARN.
 */
function arnLike(pattern: string, arn: string): boolean {
  if (pattern === '*' || pattern === arn) return true;
  return arnPartsLike(pattern, splitArn(arn));
}

function arnPartsLike(pattern: string, arnParts: string[] | undefined): boolean {
  if (pattern === '*') return true;
  const p = splitArn(pattern);
  if (!p || !arnParts) return false;
  return p.every((part, index) => wildcardMatch(part, arnParts[index]!));
}

function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6) return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

function conditionHolds(clause: ConditionClause, context: PolicyRequest['context']): boolean {
  const present = context.get(clause.key);
  if (clause.operator === 'Null') {
    // Null: true asks that the key be absent, false that it be present.
    return (present === undefined) === (clause.values[0] === 'true');
  }
  if (present === undefined) {
    // A missing key matches nothing: positive operators are false, negated ones true; IfExists
    // makes the clause true; ForAllValues over no values is true (IAM User Guide, condition keys).
    if (clause.ifExists) return true;
    if (clause.set === 'ForAllValues') return true;
    if (clause.set === 'ForAnyValue') return false;
    return isNegated(clause.operator);
  }
  const requestValues = typeof present === 'string' ? [present] : present;
  if (clause.set === 'ForAllValues')
    return requestValues.every((value) => matchesAny(clause.operator, value, clause.values));
  if (clause.set === 'ForAnyValue' || requestValues.length > 1)
    return requestValues.some((value) => matchesAny(clause.operator, value, clause.values));
  return matchesAny(clause.operator, requestValues[0]!, clause.values);
}

const isNegated = (operator: string) => operator.includes('Not');

/** One request value against the policy's values: positive operators OR them, negated ones NOR them. */
function matchesAny(operator: string, value: string, policyValues: readonly string[]): boolean {
  if (isNegated(operator)) {
    const positive = operator.replace('Not', '');
    return !policyValues.some((expected) => compare(positive, value, expected));
  }
  return policyValues.some((expected) => compare(operator, value, expected));
}

function compare(operator: string, value: string, expected: string): boolean {
  switch (operator) {
    case 'StringEquals':
    case 'BinaryEquals':
      return value === expected;
    case 'StringEqualsIgnoreCase':
      return value.toLowerCase() === expected.toLowerCase();
    case 'StringLike':
      return wildcardMatch(expected, value);
    // IAM matches ArnEquals exactly as ArnLike: per ARN part, wildcards allowed in both.
    case 'ArnEquals':
    case 'ArnLike':
      return arnLike(expected, value);
    case 'Bool':
      return value.toLowerCase() === expected.toLowerCase();
    case 'IpAddress':
      return ipInCidr(value, expected);
    default:
      if (NUMERIC_OPERATORS.has(operator)) return ordered(operator, Number(value), Number(expected));
      if (DATE_OPERATORS.has(operator)) {
        const got = dateMs(value);
        const want = dateMs(expected);
        return got !== undefined && want !== undefined && ordered(operator, got, want);
      }
      return false;
  }
}

function ordered(operator: string, value: number, expected: number): boolean {
  if (operator.endsWith('LessThanEquals')) return value <= expected;
  if (operator.endsWith('LessThan')) return value < expected;
  if (operator.endsWith('GreaterThanEquals')) return value >= expected;
  if (operator.endsWith('GreaterThan')) return value > expected;
  return value === expected;
}

/** ISO 8601 dates and epoch seconds, as IAM accepts them for Date operators. */
function dateMs(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

// IPv4 and IPv6 addresses and CIDR blocks for IpAddress / NotIpAddress.

interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefixBits: number;
}

function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const bytes = parseIp(address);
  if (!bytes) return undefined;
  const maxBits = bytes.length * 8;
  const prefixBits = slash === -1 ? maxBits : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefixBits) || prefixBits < 0 || prefixBits > maxBits) return undefined;
  return { bytes, prefixBits };
}

function parseIp(text: string): Uint8Array | undefined {
  const mapped = text.toLowerCase().startsWith('::ffff:') && text.includes('.') ? text.slice(7) : text;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(mapped)) {
    const parts = mapped.split('.').map(Number);
    return parts.every((part) => part <= 255) ? Uint8Array.from(parts) : undefined;
  }
  if (!/^[0-9a-fA-F:]+$/.test(text) || !text.includes(':')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string) => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const group = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    const value = Number.parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  }
  return bytes;
}

function ipInCidr(address: string, cidrText: string): boolean {
  const ip = parseIp(address);
  const cidr = parseCidr(cidrText);
  if (!ip || !cidr || ip.length !== cidr.bytes.length) return false;
  let bits = cidr.prefixBits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (cidr.bytes[i]! & mask)) return false;
  }
  return true;
}
