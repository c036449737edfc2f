/**
 * SQS MD5 digests: AWS's published sample values for the attribute digest, and the body digest
 * checked by @aws-sdk/client-sqs itself against a tiny in-test HTTP server answering with our MD5s.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  md5OfMessageAttributes,
  md5OfMessageBody,
  md5OfMessageSystemAttributes,
} from '../../../src/protocol/sqs/md5.js';
import { listenNodeServer } from '../../helpers/broker.js';

test('md5OfMessageBody is the hex MD5 of the UTF-8 body', () => {
  assert.equal(md5OfMessageBody(''), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.equal(md5OfMessageBody('abc'), '900150983cd24fb0d6963f7d28e17f72');
  // UTF-8, not UTF-16 or Latin-1: 'é' is c3 a9 (md5 of those two bytes).
  assert.equal(md5OfMessageBody('é'), '66ddcd97cfdeabb2f6fb8a999b4bc76f');
});

test('md5OfMessageAttributes matches AWS sample values for String and Binary attributes', () => {
  // The SQS documentation example (SellerName).
  assert.equal(
    md5OfMessageAttributes({ SellerName: { DataType: 'String', StringValue: 'Example Store' } }),
    'cd28f3b68aeee4b2eac9c66f2f694b58',
  );
  // AWS SDK samples: two strings given out of order (the digest sorts names), and one binary.
  assert.equal(
    md5OfMessageAttributes({
      test_attribute_name_2: { DataType: 'String', StringValue: 'test_attribute_value_2' },
      test_attribute_name_1: { DataType: 'String', StringValue: 'test_attribute_value_1' },
    }),
    'd53f3b558fe951154770f25cb63dbba9',
  );
  assert.equal(
    md5OfMessageAttributes({
      test_attribute_name: { DataType: 'Binary', BinaryValue: Buffer.from('test_attribute_value') },
    }),
    '23f6bd27ea87aab7dfeadcc9aebee495',
  );
});

test('md5OfMessageAttributes is undefined without attributes and depends on type, name and value', () => {
  assert.equal(md5OfMessageAttributes(undefined), undefined);
  assert.equal(md5OfMessageAttributes({}), undefined);
  const base = md5OfMessageAttributes({ n: { DataType: 'Number', StringValue: '1' } });
  assert.notEqual(base, md5OfMessageAttributes({ n: { DataType: 'String', StringValue: '1' } }));
  assert.notEqual(base, md5OfMessageAttributes({ n: { DataType: 'Number.int', StringValue: '1' } }));
  assert.notEqual(base, md5OfMessageAttributes({ m: { DataType: 'Number', StringValue: '1' } }));
  assert.notEqual(base, md5OfMessageAttributes({ n: { DataType: 'Number', StringValue: '2' } }));
  // Same bytes as string and as binary differ by the transport byte.
  assert.notEqual(
    md5OfMessageAttributes({ n: { DataType: 'String', StringValue: 'x' } }),
    md5OfMessageAttributes({ n: { DataType: 'String', BinaryValue: Buffer.from('x') } }),
  );
});

test('md5OfMessageSystemAttributes digests AWSTraceHeader with the same encoding', () => {
  const trace = {
    AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793' },
  };
  assert.equal(md5OfMessageSystemAttributes(trace), md5OfMessageAttributes(trace));
  assert.match(md5OfMessageSystemAttributes(trace)!, /^[0-9a-f]{32}$/);
  assert.equal(md5OfMessageSystemAttributes({}), undefined);
});

// A stand-in SQS endpoint that answers with MD5s computed by md5.ts, or deliberately wrong ones.
let server: Server;
let client: SQSClient;
let corrupt = false;

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      const target = String(req.headers['x-amz-target']);
      const digest = (body: string) => (corrupt ? md5OfMessageBody(`${body}!`) : md5OfMessageBody(body));
      let output: unknown;
      if (target === 'AmazonSQS.SendMessage') {
        output = { MessageId: 'm-1', MD5OfMessageBody: digest(String(input.MessageBody)) };
      } else {
        const body = 'stored body ✓ 😀';
        output = {
          Messages: [{ MessageId: 'm-1', ReceiptHandle: 'r-1', Body: body, MD5OfBody: digest(body) }],
        };
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(output));
    });
  });
  const port = await listenNodeServer(server);
  client = new SQSClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'a', secretAccessKey: 's' },
    maxAttempts: 1,
  });
});

after(async () => {
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('@aws-sdk/client-sqs accepts our MD5OfMessageBody on SendMessage and ReceiveMessage, refuses a wrong one', async () => {
  const QueueUrl = 'http://127.0.0.1/000000000000/q';
  corrupt = false;
  const sent = await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'héllo 😀 \r\n' }));
  assert.equal(sent.MessageId, 'm-1');
  const received = await client.send(new ReceiveMessageCommand({ QueueUrl }));
  assert.equal(received.Messages?.[0]?.Body, 'stored body ✓ 😀');
  corrupt = true;
  await assert.rejects(
    client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' })),
    /InvalidChecksumError/,
  );
  await assert.rejects(client.send(new ReceiveMessageCommand({ QueueUrl })), /Invalid MD5 checksum/);
});
