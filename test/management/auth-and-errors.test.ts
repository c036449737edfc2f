// The management API's authentication (HTTP Basic against Pier's users, management-family tags),
// its error replies ({"error","reason"} with RabbitMQ's status codes) and its handling of bad input.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import * as management from '../../src/core/amqp/management.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { type ApiCall, apiClient } from './api-client.js';

describe('management API: auth and errors', () => {
  let broker: TestBroker;
  let guest: ApiCall;
  let base: string;

  before(async () => {
    broker = await startTestBroker({ httpPort: 0 });
    base = broker.http!.url;
    guest = apiClient(base);
    management.addUser(broker.core, 'plain', 'pw', []);
    management.addUser(broker.core, 'watcher', 'pw', ['monitoring']);
    management.addUser(broker.core, 'mgr', 'pw', ['management']);
    management.addUser(broker.core, 'pol', 'pw', ['policymaker']);
  });
  after(() => broker.stop());

  it('answers application/json with the overview for an administrator', async () => {
    const reply = await guest('GET', '/api/overview');
    assert.equal(reply.status, 200);
    assert.equal(reply.contentType, 'application/json');
    const body = reply.body as Record<string, unknown>;
    assert.equal(body.management_version, '3.10.8');
    assert.equal(body.rabbitmq_version, '3.10.8');
    assert.equal(body.product_name, 'RabbitMQ');
    assert.equal(typeof body.pier_version, 'string');
    assert.deepEqual(Object.keys(body.object_totals as object).sort(), [
      'channels',
      'connections',
      'consumers',
      'exchanges',
      'queues',
    ]);
    const listeners = body.listeners as Array<{ protocol: string; port: number }>;
    assert.ok(listeners.some((l) => l.protocol === 'amqp' && l.port === broker.amqp!.port));
    assert.ok(listeners.some((l) => l.protocol === 'http' && l.port === broker.http!.port));
  });

  it('serves the Prometheus exposition on the API port to monitoring users only', async () => {
    const none = await fetch(`${base}/metrics`);
    assert.equal(none.status, 401);
    const auth = (user: string) => ({
      headers: { authorization: `Basic ${Buffer.from(`${user}:pw`).toString('base64')}` },
    });
    assert.equal((await fetch(`${base}/metrics`, auth('mgr'))).status, 403);
    for (const path of ['/metrics', '/metrics/per-object']) {
      const reply = await fetch(`${base}${path}`, auth('watcher'));
      assert.equal(reply.status, 200, path);
      assert.equal(reply.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      assert.match(await reply.text(), /^rabbitmq_identity_info\{/m);
    }
  });

  it('refuses missing or wrong credentials with 401', async () => {
    const none = await fetch(`${base}/api/overview`);
    assert.equal(none.status, 401);
    assert.deepEqual(await none.json(), { error: 'not_authorized', reason: 'Login failed' });
    const wrong = await apiClient(base, 'guest', 'nope')('GET', '/api/overview');
    assert.equal(wrong.status, 401);
    const unknown = await apiClient(base, 'nobody', 'x')('GET', '/api/queues');
    assert.equal(unknown.status, 401);
  });

  it('refuses a user without a management tag with 401, as RabbitMQ', async () => {
    const reply = await apiClient(base, 'plain', 'pw')('GET', '/api/overview');
    assert.equal(reply.status, 401);
    assert.deepEqual(reply.body, { error: 'not_authorized', reason: 'Not management user' });
  });

  it('refuses with 403 what the tags do not permit', async () => {
    const mgr = apiClient(base, 'mgr', 'pw');
    assert.equal((await mgr('GET', '/api/whoami')).status, 200);
    assert.equal((await mgr('GET', '/api/users')).status, 403);
    assert.equal((await mgr('PUT', '/api/vhosts/v1', {})).status, 403);
    assert.equal((await mgr('GET', '/api/policies')).status, 403);
    assert.equal((await mgr('GET', '/api/nodes')).status, 403);
    // A management user without permissions in '/' does not see it.
    assert.equal((await mgr('GET', '/api/queues/%2F')).status, 403);
    assert.deepEqual(((await mgr('GET', '/api/vhosts')).body as unknown[]).length, 0);
    const watcher = apiClient(base, 'watcher', 'pw');
    assert.equal((await watcher('GET', '/api/nodes')).status, 200);
    assert.equal((await watcher('GET', '/api/health/checks/alarms')).status, 200);
    assert.equal((await watcher('DELETE', '/api/users/guest')).status, 403);
    const pol = apiClient(base, 'pol', 'pw');
    assert.equal((await pol('GET', '/api/policies')).status, 200);
    assert.equal((await pol('PUT', '/api/users/x', { password: 'y', tags: '' })).status, 403);
  });

  it("acts with the caller's configure/write/read permissions, as an AMQP client of that user", async () => {
    management.addUser(broker.core, 'limited', 'pw', ['management']);
    management.setPermissions(broker.core, {
      user: 'limited',
      vhost: '/',
      configure: '^mine\\.',
      write: '^mine\\.',
      read: '^mine\\.',
    });
    const limited = apiClient(base, 'limited', 'pw');
    assert.equal((await limited('PUT', '/api/queues/%2F/mine.q', {})).status, 201);
    const refused = await limited('PUT', '/api/queues/%2F/theirs', {});
    assert.equal(refused.status, 403);
    assert.match(
      (refused.body as { reason: string }).reason,
      /access to queue 'theirs' in vhost '\/' refused for user 'limited'/,
    );
    await guest('PUT', '/api/queues/%2F/theirs', {});
    assert.equal((await limited('DELETE', '/api/queues/%2F/theirs')).status, 403);
    assert.equal((await limited('DELETE', '/api/queues/%2F/theirs/contents')).status, 403);
    assert.equal(
      (await limited('POST', '/api/queues/%2F/theirs/get', { count: 1, ackmode: 'ack_requeue_true' })).status,
      403,
    );
    const publish = { routing_key: 'mine.q', payload: 'x', payload_encoding: 'string', properties: {} };
    assert.equal((await limited('POST', '/api/exchanges/%2F/amq.default/publish', publish)).status, 403);
    assert.equal(
      (await limited('POST', '/api/bindings/%2F/e/amq.direct/q/mine.q', { routing_key: 'k' })).status,
      403,
    );
    assert.equal((await limited('DELETE', '/api/queues/%2F/mine.q')).status, 204);
    await guest('DELETE', '/api/queues/%2F/theirs');
  });

  it('gives the user creating a vhost full permissions in it', async () => {
    assert.equal((await guest('PUT', '/api/vhosts/made', {})).status, 201);
    assert.deepEqual(broker.core.permissions.list({ user: 'guest', vhost: 'made' })[0], {
      user: 'guest',
      vhost: 'made',
      configure: '.*',
      write: '.*',
      read: '.*',
    });
    assert.equal((await guest('DELETE', '/api/vhosts/made')).status, 204);
  });

  it('answers 404 Object Not Found for unknown vhosts, queues and paths', async () => {
    for (const path of [
      '/api/queues/nope',
      '/api/queues/%2F/nope',
      '/api/exchanges/%2F/nope',
      '/api/vhosts/nope',
      '/api/nonsense',
    ]) {
      const reply = await guest('GET', path);
      assert.equal(reply.status, 404, path);
      assert.deepEqual(reply.body, { error: 'Object Not Found', reason: 'Not Found' }, path);
    }
    assert.equal((await guest('DELETE', '/api/queues/%2F/nope')).status, 404);
    assert.equal(
      (await guest('POST', '/api/queues/nope/q/get', { count: 1, ackmode: 'ack_requeue_true' })).status,
      404,
    );
  });

  it('answers 405 for a known path with another method', async () => {
    const reply = await guest('POST', '/api/overview', {});
    assert.equal(reply.status, 405);
  });

  it('refuses malformed JSON and wrong types with 400', async () => {
    const malformed = await guest('PUT', '/api/queues/%2F/q1', '{"durable": tru');
    assert.equal(malformed.status, 400);
    assert.equal((malformed.body as { error: string }).error, 'bad_request');
    assert.equal((await guest('PUT', '/api/queues/%2F/q1', '[1,2]')).status, 400);
    assert.equal((await guest('PUT', '/api/queues/%2F/q1', { durable: 'yes' })).status, 400);
    assert.equal((await guest('PUT', '/api/queues/%2F/q1', { arguments: 'x' })).status, 400);
    assert.equal((await guest('PUT', '/api/exchanges/%2F/x1', { type: 5 })).status, 400);
    assert.equal((await guest('PUT', '/api/permissions/%2F/guest', { configure: '.*' })).status, 400);
    assert.equal((await guest('GET', '/api/queues?page=0')).status, 400);
    assert.equal((await guest('GET', '/api/queues?page=1&page_size=501')).status, 400);
    // Nothing was declared by the refused requests.
    assert.equal(broker.core.vhosts.get('/')!.queues.has('q1'), false);
  });

  it('refuses a body beyond the limit with 413', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/api/queues/%2F/big`, {
        method: 'PUT',
        headers: {
          authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`,
          'content-length': String(128 * 1024 * 1024),
          'content-type': 'application/json',
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 413);
  });
});
