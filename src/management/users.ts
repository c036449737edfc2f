/**
 * /api/users: list, show, create or update (PUT with `password` or `password_hash`, and `tags`),
 * delete. Password hashes are RabbitMQ's rabbit_password_hashing_sha256 layout, which Pier stores.
 */
import { addUser, deleteUser } from '../core/amqp/management.js';
import { parseUserTags } from '../core/amqp/rabbit-definitions.js';
import { passwordCredentials, type User } from '../core/users.js';
import type { ManagementContext } from './context.js';
import { badRequest, objectNotFound } from './errors.js';
import { listReply, objectReply } from './query.js';
import { type ApiRequest, bodyObject, CREATED, NO_CONTENT, optionalString } from './request.js';
import { type Route, route } from './router.js';

export const HASHING_ALGORITHM = 'rabbit_password_hashing_sha256';

export function userView(user: User): Record<string, unknown> {
  return {
    name: user.name,
    password_hash: user.passwordHash,
    hashing_algorithm: HASHING_ALGORITHM,
    tags: [...user.tags],
    limits: { ...(user.limits ?? {}) },
  };
}

/** Tags as a list, or RabbitMQ's older comma-separated string. */
export function parseTags(value: unknown): string[] {
  const tags = parseUserTags(value);
  if (tags === undefined) throw badRequest('tags must be a string or a list of strings');
  return tags;
}

/** A stored password hash must be base64 of a 4-byte salt and a SHA-256 digest. */
export function checkPasswordHash(hash: string): void {
  const bytes = Buffer.from(hash, 'base64');
  if (hash !== '' && (bytes.length !== 36 || bytes.toString('base64') !== hash)) {
    throw badRequest(
      'password_hash must be base64 of a 4-byte salt and a SHA-256 digest (rabbit_password_hashing_sha256)',
    );
  }
}

export function checkHashingAlgorithm(value: unknown): void {
  if (value !== undefined && value !== null && value !== HASHING_ALGORITHM) {
    throw badRequest(`hashing_algorithm '${String(value)}' is not supported; Pier uses ${HASHING_ALGORITHM}`);
  }
}

function putUser(req: ApiRequest, ctx: ManagementContext) {
  const name = req.params[0]!;
  const body = bodyObject(req);
  const password = optionalString(body, 'password');
  const hash = optionalString(body, 'password_hash');
  const tags = parseTags(body.tags);
  checkHashingAlgorithm(body.hashing_algorithm);
  const existing = ctx.core.users.get(name);
  if (password === undefined && hash === undefined && !existing) {
    throw badRequest('[{key_missing,password_hash}]');
  }
  if (hash !== undefined) checkPasswordHash(hash);
  if (!existing && password !== undefined) {
    addUser(ctx.core, name, password, tags);
    return CREATED;
  }
  const base = existing ?? { name, passwordHash: '', tags: [] };
  const credentials =
    password !== undefined
      ? passwordCredentials(password)
      : hash !== undefined
        ? // A hash carries no SCRAM keys: Kafka SCRAM needs the password set again.
          { passwordHash: hash, scram: undefined }
        : {};
  ctx.core.putUser({ ...base, ...credentials, tags });
  return existing ? NO_CONTENT : CREATED;
}

export const userRoutes: Route[] = [
  route('GET', '/api/users', 'administrator', (req, ctx) =>
    listReply(
      [...ctx.core.users.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(userView),
      req.query,
    ),
  ),
  route('GET', '/api/users/:user', 'administrator', (req, ctx) => {
    const user = ctx.core.users.get(req.params[0]!);
    if (!user) throw objectNotFound();
    return objectReply(userView(user), req.query);
  }),
  route('PUT', '/api/users/:user', 'administrator', putUser),
  route('DELETE', '/api/users/:user', 'administrator', (req, ctx) => {
    if (!ctx.core.users.has(req.params[0]!)) throw objectNotFound();
    deleteUser(ctx.core, req.params[0]!);
    return NO_CONTENT;
  }),
  route('GET', '/api/users/:user/topic-permissions', 'administrator', (req, ctx) => {
    if (!ctx.core.users.has(req.params[0]!)) throw objectNotFound();
    return listReply(
      ctx.core.topicPermissions.list({ user: req.params[0]! }).map((p) => ({ ...p })),
      req.query,
    );
  }),
  route('GET', '/api/users/:user/permissions', 'administrator', (req, ctx) => {
    if (!ctx.core.users.has(req.params[0]!)) throw objectNotFound();
    return listReply(
      ctx.core.permissions.list({ user: req.params[0]! }).map((p) => ({ ...p })),
      req.query,
    );
  }),
];
