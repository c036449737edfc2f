// RabbitMQ's /metrics/detailed (family= and vhost= as in 3.10) and rabbitmq_global_publishers,
// scraped over HTTP from a broker carrying amqplib traffic.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from 'amqplib';
import { addVhost, setPermissions } from '../../src/core/amqp/management.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { scrape, value } from './scrape.js';

describe('/metrics/detailed', () => {
  let broker: TestBroker;
  let base: string;
  before(async () => {
    broker = await startTestBroker({ prometheusPort: 0 });
    base = broker.prometheus!.url;
    addVhost(broker.core, 'other');
    setPermissions(broker.core, { user: 'guest', vhost: 'other', configure: '.*', write: '.*', read: '.*' });
  });
  after(async () => {
    await broker.stop();
  });

  test('answers only the identity without family=, and the groups asked for with it', async () => {
    const empty = await scrape(`${base}/detailed`);
    assert.equal(empty.status, 200);
    assert.deepEqual([...empty.types.keys()].sort(), ['rabbitmq_build_info', 'rabbitmq_identity_info']);
    assert.ok([...empty.samples.keys()].some((k) => k.includes('rabbitmq_endpoint="/metrics/detailed"')));

    const amqp = await connect(broker.url);
    const other = await connect(`${broker.url}/other`);
    const ch = await amqp.createChannel();
    const otherCh = await other.createChannel();
    await ch.assertQueue('d1', { durable: false });
    await otherCh.assertQueue('d2', { durable: false });
    await ch.assertExchange('dx', 'topic', { durable: false });
    await ch.bindQueue('d1', 'dx', 'a.#');
    ch.publish('dx', 'a.b', Buffer.from('one'));
    ch.sendToQueue('d1', Buffer.from('two'));
    await ch.consume('d1', () => {}, { noAck: false, consumerTag: 'c1' });
    await otherCh.checkQueue('d2');

    const s = await scrape(`${base}/detailed?family=queue_coarse_metrics&family=queue_consumer_count`);
    assert.equal(value(s, 'rabbitmq_detailed_queue_messages_unacked{vhost="/",queue="d1"}'), 2);
    assert.equal(value(s, 'rabbitmq_detailed_queue_messages{vhost="/",queue="d1"}'), 2);
    assert.equal(value(s, 'rabbitmq_detailed_queue_consumers{vhost="/",queue="d1"}'), 1);
    assert.equal(value(s, 'rabbitmq_detailed_queue_messages_ready{vhost="other",queue="d2"}'), 0);
    assert.ok(![...s.types.keys()].some((k) => k.startsWith('rabbitmq_queue_')), 'no per-object names');
    assert.ok(!s.types.has('rabbitmq_detailed_connections_opened_total'));

    const onlyOther = await scrape(`${base}/detailed?family=queue_metrics&vhost=other`);
    const queues = [...onlyOther.samples.keys()].filter((k) => k.startsWith('rabbitmq_detailed_queue_'));
    assert.ok(queues.length > 0);
    assert.ok(
      queues.every((k) => k.includes('vhost="other"')),
      queues.join('\n'),
    );

    const cluster = await scrape(
      `${base}/detailed?family=exchange_names&family=exchange_bindings&family=vhost_status&family=connection_churn_metrics&family=no_such_family`,
    );
    assert.equal(cluster.status, 200);
    assert.equal(value(cluster, 'rabbitmq_cluster_exchange_name{vhost="/",exchange="dx",type="topic"}'), 1);
    assert.equal(
      value(cluster, 'rabbitmq_cluster_exchange_bindings{vhost="/",exchange="dx",type="topic"}'),
      1,
    );
    assert.ok(![...cluster.samples.keys()].some((k) => k.includes('exchange=""')), 'the default exchange');
    assert.equal(value(cluster, 'rabbitmq_cluster_vhost_status{vhost="other"}'), 1);
    assert.ok(value(cluster, 'rabbitmq_detailed_connections_opened_total') >= 2);
    assert.equal(cluster.types.get('rabbitmq_detailed_queues_created_total'), 'counter');
    await amqp.close();
    await other.close();
  });

  test('rabbitmq_global_publishers counts channels that have published until they close', async () => {
    const publishers = async () =>
      value(await scrape(base), 'rabbitmq_global_publishers{protocol="amqp091"}');
    assert.equal(await publishers(), 0);
    const amqp = await connect(broker.url);
    const a = await amqp.createChannel();
    const b = await amqp.createChannel();
    await a.assertQueue('p1', { durable: false });
    assert.equal(await publishers(), 0, 'a channel that has not published is no publisher');
    a.sendToQueue('p1', Buffer.from('x'));
    a.sendToQueue('p1', Buffer.from('y'));
    b.sendToQueue('p1', Buffer.from('z'));
    await a.checkQueue('p1');
    await b.checkQueue('p1');
    assert.equal(await publishers(), 2);
    await a.close();
    assert.equal(await publishers(), 1);
    await amqp.close();
    assert.equal(await publishers(), 0);
  });
});
