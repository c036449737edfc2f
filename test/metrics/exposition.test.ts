// The text exposition format 0.0.4 writer: HELP/TYPE lines, label escaping, special values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExpositionWriter, formatLabels, formatValue } from '../../src/metrics/exposition.js';

test('a family is its HELP and TYPE lines then its samples', () => {
  const out = new ExpositionWriter();
  out.family('rabbitmq_queue_messages', 'gauge', 'Sum of ready and unacknowledged messages');
  out.sample(3, { vhost: '/', queue: 'a' }).sample(0, { vhost: '/', queue: 'b' });
  out.single('rabbitmq_queues', 'gauge', 'Queues available', 2);
  assert.equal(
    out.text(),
    [
      '# HELP rabbitmq_queue_messages Sum of ready and unacknowledged messages',
      '# TYPE rabbitmq_queue_messages gauge',
      'rabbitmq_queue_messages{vhost="/",queue="a"} 3',
      'rabbitmq_queue_messages{vhost="/",queue="b"} 0',
      '# HELP rabbitmq_queues Queues available',
      '# TYPE rabbitmq_queues gauge',
      'rabbitmq_queues 2',
      '',
    ].join('\n'),
  );
});

test('label values escape backslash, double quote and newline; HELP escapes backslash and newline', () => {
  assert.equal(formatLabels({ queue: 'a"b\\c\nd' }), '{queue="a\\"b\\\\c\\nd"}');
  assert.equal(formatLabels({}), '');
  assert.equal(formatLabels(undefined), '');
  const out = new ExpositionWriter().family('x', 'counter', 'two\nlines \\ here');
  assert.equal(out.text(), '# HELP x two\\nlines \\\\ here\n# TYPE x counter\n');
});

test('special values are written as Prometheus reads them', () => {
  assert.equal(formatValue(Number.NaN), 'NaN');
  assert.equal(formatValue(Number.POSITIVE_INFINITY), '+Inf');
  assert.equal(formatValue(Number.NEGATIVE_INFINITY), '-Inf');
  assert.equal(formatValue(-1), '-1');
  assert.equal(formatValue(0.25), '0.25');
});

test('a family cannot be written twice, nor a sample before a family', () => {
  const out = new ExpositionWriter().family('x', 'gauge', 'x');
  assert.throws(() => out.family('x', 'gauge', 'x'), /written twice/);
  assert.throws(() => new ExpositionWriter().sample(1), /before family/);
});

test('UTF-8 label values and an exposition larger than the initial buffer come out whole', () => {
  const out = new ExpositionWriter().family('rabbitmq_queue_messages', 'gauge', 'h');
  for (let i = 0; i < 5000; i++) out.sample(i, { vhost: '/', queue: `очередь-${i}-✓` });
  const text = out.text();
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 5002);
  assert.equal(lines[2], 'rabbitmq_queue_messages{vhost="/",queue="очередь-0-✓"} 0');
  assert.equal(lines[5001], 'rabbitmq_queue_messages{vhost="/",queue="очередь-4999-✓"} 4999');
  assert.ok(out.bytes().length > 64 * 1024);
  assert.equal(out.bytes().toString('utf8'), text);
});
