/**
 * Stream views under Kafka ACLs (`--kafka-acls on`): an AMQP client reaching a Kafka partition
 * through a view (`x-kafka-topic`) is `User:<its user>` to the ACLs, as a Kafka client logging in
 * as that user would be. Declaring needs DESCRIBE (CREATE when the view creates the topic),
 * consuming READ, publishing through the default exchange or binding WRITE; a refusal is AMQP's
 * 403 ACCESS_REFUSED naming the missing ACL. amqplib and kafkajs over real sockets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqplib from 'amqplib';
import kafkajs from 'kafkajs';
import { addUser, setPermissions } from '../../src/core/amqp/management.js';
import { AclOperation, AclPermission, PatternType, ResourceType } from '../../src/core/kafka/acls.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

const { Kafka, logLevel } = kafkajs;
const USERS = ['admin', 'reader', 'writer', 'nobody'] as const;
type User = (typeof USERS)[number];

const VIEW = { 'x-queue-type': 'stream', 'x-kafka-topic': 'orders' };

/** The 403 text of a channel closed by the broker, or 'ok'. */
async function refusal(action: (channel: amqplib.Channel) => Promise<unknown>, channel: amqplib.Channel) {
  const closed = new Promise<string>((resolve) => channel.once('close', () => resolve('closed')));
  const errored = new Promise<string>((resolve) => channel.once('error', (e: Error) => resolve(e.message)));
  try {
    await action(channel);
    return 'ok';
  } catch (error) {
    const message = await Promise.race([errored, closed.then(() => (error as Error).message)]);
    return message;
  }
}

describe('stream views under Kafka ACLs', () => {
  let broker: TestBroker;
  const connections: amqplib.ChannelModel[] = [];
  const amqpAs = async (user: User) => {
    const url = new URL(broker.url);
    url.username = user;
    url.password = `${user}-secret`;
    const connection = await amqplib.connect(url.toString());
    connection.on('error', () => {});
    connections.push(connection);
    return connection;
  };

  before(async () => {
    broker = await startTestBroker({
      kafkaPort: 0,
      kafka: { sasl: true, acls: true, superUsers: ['User:admin'], groupInitialRebalanceDelayMs: 0 },
    });
    for (const user of USERS) {
      addUser(broker.core, user, `${user}-secret`);
      setPermissions(broker.core, { user, vhost: '/', configure: '.*', write: '.*', read: '.*' });
    }
    const admin = new Kafka({
      brokers: [broker.kafka!.bootstrap],
      sasl: { mechanism: 'plain', username: 'admin', password: 'admin-secret' },
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'orders' }] });
    const acl = (principal: string, operation: number, resourceName = 'orders') =>
      ({
        resourceType: ResourceType.TOPIC,
        resourceName,
        resourcePatternType: PatternType.LITERAL,
        principal,
        host: '*',
        operation,
        permissionType: AclPermission.ALLOW,
      }) as unknown as kafkajs.AclEntry;
    await admin.createAcls({
      acl: [
        acl('User:reader', AclOperation.READ),
        acl('User:writer', AclOperation.WRITE),
        acl('User:writer', AclOperation.CREATE, 'new-topic'),
      ],
    });
    await admin.disconnect();
  });
  after(async () => {
    for (const connection of connections) await connection.close().catch(() => {});
    await broker?.stop();
  });

  it('declaring a view needs DESCRIBE on the topic (READ or WRITE imply it), CREATE when it creates one', async () => {
    const nobody = await amqpAs('nobody');
    const text = await refusal(
      (ch) => ch.assertQueue('orders-view', { durable: true, arguments: VIEW }),
      await nobody.createChannel(),
    );
    assert.match(text, /ACCESS_REFUSED/);
    assert.match(text, /access to Kafka topic 'orders' refused for user 'nobody'.*Describe/);
    const reader = await amqpAs('reader');
    const declared = await (await reader.createChannel()).assertQueue('orders-view', {
      durable: true,
      arguments: VIEW,
    });
    assert.equal(declared.queue, 'orders-view');
    const creating = { 'x-queue-type': 'stream', 'x-kafka-topic': 'new-topic' };
    assert.match(
      await refusal(
        (ch) => ch.assertQueue('new-view', { durable: true, arguments: creating }),
        await reader.createChannel(),
      ),
      /access to Kafka topic 'new-topic' refused for user 'reader'.*Create/,
    );
    const writer = await amqpAs('writer');
    await (await writer.createChannel()).assertQueue('new-view', { durable: true, arguments: creating });
  });

  it('consuming needs READ; publishing through the default exchange or binding needs WRITE', async () => {
    const writer = await amqpAs('writer');
    assert.match(
      await refusal(
        async (ch) => {
          await ch.prefetch(10);
          await ch.consume('orders-view', () => {});
        },
        await writer.createChannel(),
      ),
      /access to Kafka topic 'orders' refused for user 'writer'.*Read/,
    );
    const confirm = await writer.createConfirmChannel();
    await new Promise<void>((resolve, reject) =>
      confirm.sendToQueue('orders-view', Buffer.from('by writer'), {}, (error) =>
        error ? reject(error) : resolve(),
      ),
    );

    const reader = await amqpAs('reader');
    const publishing = await reader.createConfirmChannel();
    const closed = new Promise<Error>((resolve) => publishing.once('error', resolve));
    publishing.sendToQueue('orders-view', Buffer.from('by reader'));
    assert.match((await closed).message, /ACCESS_REFUSED.*'orders' refused for user 'reader'.*Write/);
    assert.match(
      await refusal(
        async (ch) => {
          await ch.assertExchange('fan', 'fanout', { durable: false });
          await ch.bindQueue('orders-view', 'fan', '');
        },
        await reader.createChannel(),
      ),
      /'orders' refused for user 'reader'.*Write/,
    );

    const channel = await reader.createChannel();
    await channel.prefetch(10);
    const got = await new Promise<string>((resolve) => {
      void channel.consume('orders-view', (message) => resolve(message!.content.toString()), {
        arguments: { 'x-stream-offset': 'first' },
      });
    });
    assert.equal(got, 'by writer', 'only the writer’s publish reached the log');
  });
});
