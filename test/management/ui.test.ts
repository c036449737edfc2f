// The web UI (src/management/ui) in real headless Chromium against an in-process broker, with
// amqplib, kafkajs and the AWS SDK making the traffic: log in with the keyboard, a queue's depth
// rising on its chart while a publisher runs, peek (nothing taken), purge only after confirming,
// an SQS dead-letter queue re-driven to its source, a Kafka group's offsets reset to earliest;
// every page drawn without a script error; and the static file server refusing path traversal.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type ChannelModel, connect } from 'amqplib';
import kafkajs from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { launchChromium } from '../helpers/chromium.js';
import { TEST_KAFKA_SETTINGS } from '../helpers/kafka.js';
import { WarpClock } from '../helpers/warp-clock.js';
import { type ApiCall, apiClient } from './api-client.js';

const { Kafka, logLevel } = kafkajs;
// biome-ignore lint/suspicious/noExplicitAny: JSON replies, read field by field
type Row = Record<string, any>;

/** A raw GET (no URL normalisation, unlike fetch): status and content type. */
function rawGet(base: string, path: string): Promise<{ status: number; type: string; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web UI in Chromium', () => {
  const clock = new WarpClock();
  let broker: TestBroker;
  let api: ApiCall;
  let amqp: ChannelModel;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    broker = await startTestBroker({
      httpPort: 0,
      kafkaPort: 0,
      sqsPort: 0,
      kafka: TEST_KAFKA_SETTINGS,
      clock,
    });
    api = apiClient(broker.http!.url);
    amqp = await connect(broker.url);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    // Refresh every second, so a test waits for at most one refresh.
    await page.addInitScript(() => localStorage.setItem('pier.refreshMs', '1000'));
  });
  after(async () => {
    await browser?.close();
    await amqp?.close().catch(() => {});
    await broker?.stop();
  });

  const open = async (hash: string, heading: string | RegExp) => {
    await page.goto(`${broker.http!.url}/#/${hash}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  };

  it('logs in with the keyboard; a wrong password is refused with the reason', async () => {
    await page.goto(`${broker.http!.url}/`);
    await page.getByRole('heading', { name: 'Log in to Pier' }).waitFor();
    // The username field has focus: type, Tab to the password, Enter submits.
    await page.keyboard.type('guest');
    await page.keyboard.press('Tab');
    await page.keyboard.type('wrong');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'Login failed' }).waitFor();
    await page.getByLabel('Password').fill('guest');
    await page.getByLabel('Password').press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    // The browser logs the refused login's 401; later pages must log nothing.
    pageErrors.length = 0;
    assert.match((await page.locator('#user').textContent()) ?? '', /guest \(administrator\)/);
    // The overview fills its tables when its data arrives, after the heading: wait for the rows.
    const listenerRows = page.locator('section', { hasText: 'Listeners' }).locator('tbody tr');
    await listenerRows.nth(3).waitFor();
    const listeners = await listenerRows.count();
    assert.ok(listeners >= 4, `listeners shown: ${listeners}`);
  });

  it("shows a queue's depth rising on its chart while a publisher runs", async () => {
    const ch = await amqp.createConfirmChannel();
    await ch.assertQueue('ui-depth', { durable: true });
    await open('queues/%2F/ui-depth', 'Queue ui-depth');
    const ready = page.locator(
      '#chart-queue-depth path[data-series="messages_ready"], #chart-queue-depth circle[data-series="messages_ready"]',
    );
    const seen: number[] = [];
    let published = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 25; i++)
        ch.sendToQueue('ui-depth', Buffer.from(`m${published++}`), { persistent: true });
      await ch.waitForConfirms();
      clock.warp(5000); // the sampler takes its 5 s sample now
      clock.warp(5000 - (clock.now() % 5000)); // and the chart's next 5 s point shows it
      await page.waitForFunction(
        ([sel, want]) => document.querySelector(sel as string)?.getAttribute('data-last') === String(want),
        ['#chart-queue-depth [data-series="messages_ready"]', published] as const,
      );
      seen.push(Number(await ready.getAttribute('data-last')));
    }
    assert.deepEqual(seen, [25, 50, 75]);
    assert.ok(Number(await ready.getAttribute('data-count')) >= 3, 'the chart has a point per sample');
    const label = (await page.locator('#chart-queue-depth svg').getAttribute('aria-label')) ?? '';
    assert.match(label, /Queued messages: Ready 75, Unacked 0/);
    await ch.close();
  });

  it('peeks without taking, then purges only after the confirmation', async () => {
    await open('queues/%2F/ui-depth', 'Queue ui-depth');
    const form = page.locator('form.read-form');
    await form.getByLabel('Count').fill('3');
    await form.getByRole('button', { name: 'Show messages' }).click();
    await page.locator('.messages .message').nth(2).waitFor();
    assert.deepEqual(await page.locator('.messages .payload').allTextContents(), ['m0', 'm1', 'm2']);
    const peeked = (await api('GET', '/api/queues/%2F/ui-depth')).body as Row;
    assert.equal(peeked.messages_ready, 75);
    const first = (await api('POST', '/api/queues/%2F/ui-depth/peek', { count: 1 })).body as Row[];
    assert.equal(first[0]!.redelivered, false);

    // Cancel leaves the messages; confirming purges.
    await page.getByRole('button', { name: 'Purge', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Purge queue?' });
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? '', /Delete the 75 ready messages of ui-depth/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(((await api('GET', '/api/queues/%2F/ui-depth')).body as Row).messages_ready, 75);
    await page.getByRole('button', { name: 'Purge', exact: true }).click();
    await dialog.getByRole('button', { name: 'Purge messages' }).click();
    await page.locator('.toast', { hasText: 'Purged ui-depth' }).waitFor();
    assert.equal(((await api('GET', '/api/queues/%2F/ui-depth')).body as Row).messages_ready, 0);
    await page
      .locator('.tile', { hasText: 'Ready' })
      .filter({ hasText: /^Ready0$/ })
      .waitFor();
  });

  it('re-drives dead-lettered messages to the queue in their x-death, and moves them to another queue', async () => {
    const ch = await amqp.createChannel();
    await ch.assertQueue('ui-parking', { durable: true });
    await ch.assertQueue('ui-work', {
      durable: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'ui-parking' },
    });
    for (let i = 0; i < 4; i++) ch.sendToQueue('ui-work', Buffer.from(`job${i}`), { persistent: true });
    for (let i = 0; i < 4; i++) {
      const m = await ch.get('ui-work', { noAck: false });
      assert.ok(m);
      ch.nack(m, false, false); // dead-lettered to ui-parking with x-death naming ui-work
    }
    const parked = async () => ((await api('GET', '/api/queues/%2F/ui-parking')).body as Row).messages_ready;
    const working = async () => ((await api('GET', '/api/queues/%2F/ui-work')).body as Row).messages_ready;
    for (let tries = 0; (await parked()) !== 4; tries++) assert.ok(tries < 100, 'dead-lettered');

    await open('queues/%2F/ui-parking', 'Queue ui-parking');
    const form = page.locator('form.move-form');
    const confirm = () =>
      page
        .getByRole('dialog', { name: 'Move messages?' })
        .getByRole('button', { name: 'Move messages' })
        .click();
    // A destination that does not exist is refused; nothing moves.
    await form.getByLabel('Name').fill('ui-missing');
    await form.getByRole('button', { name: 'Move messages' }).click();
    await confirm();
    await form.getByText("destination queue 'ui-missing' does not exist").waitFor();
    assert.equal(await parked(), 4);

    await form.getByLabel('To', { exact: true }).selectOption('x-death');
    await form.getByLabel('Name').fill('');
    await form.getByRole('button', { name: 'Move messages' }).click();
    await confirm();
    await form.getByText('Moved 4 messages.').waitFor();
    assert.equal(await parked(), 0);
    assert.equal(await working(), 4);
    const back = (await api('POST', '/api/queues/%2F/ui-work/peek', { count: 4 })).body as Row[];
    assert.deepEqual(
      back.map((m) => m.payload),
      ['job0', 'job1', 'job2', 'job3'],
    );

    await open('queues/%2F/ui-work', 'Queue ui-work');
    await form.getByLabel('To', { exact: true }).selectOption('queue');
    await form.getByLabel('Name').fill('ui-parking');
    await form.getByLabel('At most').fill('3');
    await form.getByRole('button', { name: 'Move messages' }).click();
    await confirm();
    await form.getByText('Moved 3 messages.').waitFor();
    assert.equal(await working(), 1);
    assert.equal(await parked(), 3);
    await ch.close();
  });

  it('re-drives an SQS dead-letter queue to its source', async () => {
    const sqs = new SQSClient({
      endpoint: broker.sqs!.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    });
    try {
      const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'ui-dlq' }))).QueueUrl!;
      const dlqArn = (
        await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
      ).Attributes!.QueueArn!;
      const srcUrl = (
        await sqs.send(
          new CreateQueueCommand({
            QueueName: 'ui-src',
            Attributes: {
              RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }),
            },
          }),
        )
      ).QueueUrl!;
      for (const body of ['a', 'b', 'c'])
        await sqs.send(new SendMessageCommand({ QueueUrl: srcUrl, MessageBody: body }));
      // Received once and not deleted, each message goes to the DLQ on its next receive.
      for (let i = 0; i < 3; i++) {
        await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: srcUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
        );
      }
      assert.equal(((await api('GET', '/api/sqs/queues/ui-dlq')).body as Row).messages_visible, 3);

      await open('sqs/ui-dlq', 'SQS queue ui-dlq');
      await page.getByRole('button', { name: 'Peek messages' }).click();
      await page.locator('.messages .message').nth(2).waitFor();
      assert.deepEqual((await page.locator('.messages .payload').allTextContents()).sort(), ['a', 'b', 'c']);
      await page.getByRole('button', { name: 'Re-drive messages' }).click();
      await page
        .getByRole('dialog', { name: 'Re-drive messages?' })
        .getByRole('button', { name: 'Start re-drive' })
        .click();
      await page.getByText(/Re-drive started/).waitFor();
      await page.locator('table', { hasText: 'Re-drive tasks' }).getByText('COMPLETED').waitFor();
      const dlq = (await api('GET', '/api/sqs/queues/ui-dlq')).body as Row;
      const src = (await api('GET', '/api/sqs/queues/ui-src')).body as Row;
      assert.equal(dlq.messages, 0);
      assert.equal(src.messages_visible, 3);
    } finally {
      sqs.destroy();
    }
  });

  it("resets a Kafka group's offsets to the earliest", async () => {
    const kafka = new Kafka({
      clientId: 'ui-test',
      brokers: [broker.kafka!.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    const producer = kafka.producer();
    await admin.connect();
    await producer.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'ui-topic', numPartitions: 2 }] });
      await producer.send({
        topic: 'ui-topic',
        acks: -1,
        messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `v${i}` })),
      });
      const consumer = kafka.consumer({ groupId: 'ui-group', heartbeatInterval: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic: 'ui-topic', fromBeginning: true });
      let consumed = 0;
      const all = new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async () => {
            if (++consumed === 10) resolve();
          },
        });
      });
      await all;
      await consumer.disconnect(); // commits, then leaves: the group is Empty

      await open('kafka/groups/ui-group', 'Group ui-group');
      await page.locator('.tile', { hasText: 'State' }).getByText('Empty').waitFor();
      assert.equal(await page.locator('.tile', { hasText: 'Lag' }).locator('dd').textContent(), '0');
      const form = page.locator('form.reset-form');
      await form.getByLabel('To', { exact: true }).selectOption('earliest');
      await form.getByRole('button', { name: 'Reset offsets' }).click();
      await page
        .getByRole('dialog', { name: 'Reset offsets?' })
        .getByRole('button', { name: 'Reset offsets' })
        .click();
      await page.getByText('Offsets committed: ui-topic-0 → 0, ui-topic-1 → 0.').waitFor();
      await page
        .locator('.tile', { hasText: 'Lag' })
        .filter({ hasText: /^Lag10$/ })
        .waitFor();
      // The server samples the lag every 5 s: the group's chart shows the new lag.
      clock.warp(5000);
      clock.warp(5000 - (clock.now() % 5000));
      await page.waitForFunction(
        () =>
          document.querySelector('#chart-group-lag [data-series="lag"]')?.getAttribute('data-last') === '10',
      );
      const group = (await api('GET', '/api/kafka/groups/ui-group?lengths_age=60&lengths_incr=5'))
        .body as Row;
      assert.equal(group.lag_details.samples[0].sample, 10);
      assert.deepEqual(
        group.partitions.map((p: Row) => [p.partition, p.committed_offset, p.lag]),
        [
          [0, 0, 5],
          [1, 0, 5],
        ],
      );
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it('pages, filters and sorts thousands of queues through the API', async () => {
    const ch = await amqp.createChannel();
    for (let i = 0; i < 1500; i++)
      await ch.assertQueue(`bulk-${String(i).padStart(4, '0')}`, { durable: false });
    await ch.close();
    await open('queues', 'Queues');
    const pager = page.getByRole('navigation', { name: 'Queue pages' });
    await pager.getByText(/Page 1 of 16 · 1,50\d matching of 1,50\d queues/).waitFor();
    assert.equal(await page.locator('tbody tr').count(), 100);
    await pager.getByRole('button', { name: 'Next ›' }).click();
    await pager.getByText(/^Page 2 of 16/).waitFor();
    await page.getByLabel('Filter queues by name').fill('bulk-1');
    await pager.getByText('Page 1 of 5 · 500 matching of').waitFor();
    await page.getByLabel('Regex').check();
    await page.getByLabel('Filter queues by name').fill('^bulk-14[0-9]9$');
    await pager.getByText('Page 1 of 1 · 10 matching of').waitFor();
    // Sorting by name, then the same header again for descending order.
    await page.getByRole('button', { name: 'Name' }).click();
    await page.locator('th[aria-sort="descending"]').waitFor();
    await page.locator('tbody tr').first().getByText('bulk-1499').waitFor();
    const names = await page.locator('tbody tr td:first-child').allTextContents();
    assert.deepEqual(
      names,
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map((d) => `bulk-14${d}9`),
    );
  });

  it('imports a definitions file and exports the definitions as a download', async () => {
    await open('admin/definitions', 'Definitions');
    const importForm = page.getByRole('form', { name: 'Import definitions' });
    await importForm.getByLabel('File').setInputFiles({
      name: 'defs.json',
      mimeType: 'application/json',
      buffer: Buffer.from(
        JSON.stringify({
          queues: [{ name: 'ui-imported', vhost: '/', durable: true, auto_delete: false, arguments: {} }],
        }),
      ),
    });
    await importForm.getByRole('button', { name: 'Import' }).click();
    await importForm.getByText('Imported defs.json').waitFor();
    assert.equal((await api('GET', '/api/queues/%2F/ui-imported')).status, 200);
    const exportForm = page.getByRole('form', { name: 'Export definitions' });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      exportForm.getByRole('button', { name: 'Export' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'pier-definitions.json');
    const chunks: Buffer[] = [];
    for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer);
    const exported = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Row;
    assert.ok(exported.queues.some((q: Row) => q.name === 'ui-imported'));
  });

  it('draws every page without a script error, at 1280 px and on a phone', async () => {
    pageErrors.length = 0; // the refusals above were logged by the browser as failed requests
    const pages: Array<[string, string | RegExp]> = [
      ['', 'Overview'],
      ['connections', 'Connections'],
      ['channels', 'Channels'],
      ['exchanges', 'Exchanges'],
      ['exchanges/%2F/amq.direct', 'Exchange amq.direct'],
      ['queues', 'Queues'],
      ['kafka/topics', 'Kafka topics'],
      ['kafka/topics/ui-topic', 'Topic ui-topic'],
      ['kafka/groups', 'Kafka consumer groups'],
      ['sqs', 'SQS queues'],
      ['admin/users', 'Users'],
      ['admin/vhosts', 'Virtual hosts'],
      ['admin/permissions', 'Permissions'],
      ['admin/policies', 'Policies'],
      ['admin/definitions', 'Definitions'],
    ];
    for (const [hash, heading] of pages) await open(hash, heading);
    assert.equal(await page.locator('.notice.error').count(), 0);
    await page.setViewportSize({ width: 390, height: 844 });
    await open('queues', 'Queues');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the queue list fits a phone (scroll width ${width})`);
    await page.setViewportSize({ width: 1280, height: 900 });
    assert.deepEqual(pageErrors, []);
  });

  it('serves the UI files with their types and refuses path traversal, leaving /api and /metrics alone', async () => {
    const base = broker.http!.url;
    const index = await rawGet(base, '/');
    assert.equal(index.status, 200);
    assert.equal(index.type, 'text/html; charset=utf-8');
    assert.equal((await rawGet(base, '/style.css')).type, 'text/css; charset=utf-8');
    assert.equal((await rawGet(base, '/js/app.js')).type, 'text/javascript; charset=utf-8');
    assert.equal((await rawGet(base, '/favicon.svg')).type, 'image/svg+xml');
    for (const path of [
      '/../package.json',
      '/js/../../http-server.js',
      '/%2e%2e/%2e%2e/package.json',
      '/js/%2E%2E/%2E%2E/static-files.js',
      '/js%2F..%2F..%2Fstatic-files.js',
      '/..%5C..%5Cpackage.json',
      '//etc/passwd',
      '/%2Fetc%2Fpasswd',
      '/C:%5Cwindows',
      '/index.html%00.js',
      '/nope.html',
    ]) {
      const reply = await rawGet(base, path);
      assert.ok(reply.status === 400 || reply.status === 404, `${path}: ${reply.status}`);
      assert.equal(reply.type, 'application/json', path);
    }
    // The API and the metrics are not shadowed: they still ask for credentials.
    for (const path of ['/api/overview', '/%61pi/overview', '/metrics']) {
      const reply = await rawGet(base, path);
      assert.equal(reply.status, 401, path);
      assert.equal(JSON.parse(reply.body).error, 'not_authorized');
    }
    assert.equal((await api('GET', '/api/whoami')).status, 200);
  });
});
