// SQS: queues with depth and dead-letter links; a queue's attributes, peek (changes nothing),
// purge and re-drive of a dead-letter queue to its sources.
import { api, enc } from '../api.js';
import {
  actionForm,
  badge,
  confirmAction,
  link,
  messageList,
  notice,
  pageHeader,
  section,
  table,
  tiles,
  toast,
} from '../components.js';
import { field, h, replace } from '../dom.js';
import { bytes, duration, num, time } from '../format.js';
import { listView } from './list.js';

const sqsHref = (name) => `#/sqs/${enc(name)}`;

async function sqsListPage(view, _params, ctx) {
  const list = h('div');
  view.append(pageHeader('SQS queues', 'Amazon SQS queues served by this broker'), list);
  await listView(list, ctx, {
    path: '/api/sqs/queues',
    rowKey: (q) => q.name,
    columns: [
      {
        key: 'name',
        label: 'Queue',
        value: (q) => [link(sqsHref(q.name), q.name), q.fifo ? [' ', badge('FIFO')] : null],
      },
      { key: 'messages_visible', label: 'Visible', numeric: true, value: (q) => num(q.messages_visible) },
      {
        key: 'messages_in_flight',
        label: 'In flight',
        numeric: true,
        value: (q) => num(q.messages_in_flight),
      },
      { key: 'messages_delayed', label: 'Delayed', numeric: true, value: (q) => num(q.messages_delayed) },
      {
        key: 'oldest_message_age_seconds',
        label: 'Oldest',
        numeric: true,
        value: (q) => duration((q.oldest_message_age_seconds ?? 0) * 1000),
      },
      {
        key: 'dead_letter_queue',
        label: 'Dead letters to',
        value: (q) => (q.dead_letter_queue ? link(sqsHref(q.dead_letter_queue), q.dead_letter_queue) : '–'),
      },
      {
        key: 'dead_letter_sources',
        label: 'DLQ of',
        sort: false,
        value: (q) => (q.dead_letter_sources.length ? q.dead_letter_sources.join(', ') : '–'),
      },
    ],
  }).ready;
}

function describeSqsMessage(m) {
  const meta = [
    ['Message id', m.message_id],
    ['State', m.state === 'visible' ? 'visible' : `${m.state} until ${time(m.visible_at)}`],
    ['Receives', String(m.receive_count)],
    ['Sent', time(m.sent_timestamp)],
    ['Size', bytes(m.size_bytes)],
  ];
  if (m.message_group_id) meta.push(['Group', m.message_group_id]);
  if (m.dead_letter_source_arn) meta.push(['Dead-lettered from', m.dead_letter_source_arn]);
  const attrs = Object.keys(m.message_attributes ?? {});
  if (attrs.length) meta.push(['Attributes', attrs.join(', ')]);
  return { meta, payload: m.body, encoding: 'string' };
}

async function sqsQueuePage(view, [name], ctx) {
  const path = `/api/sqs/queues/${enc(name)}`;
  const summary = h('div');
  const attributes = h('div');
  const tasks = h('div');
  let q;
  const refresh = async () => {
    q = await api('GET', path);
    if (!ctx.isCurrent()) return;
    replace(
      summary,
      tiles([
        ['Visible', num(q.messages_visible)],
        ['In flight', num(q.messages_in_flight)],
        ['Delayed', num(q.messages_delayed)],
        ['Oldest', duration((q.oldest_message_age_seconds ?? 0) * 1000)],
        ['Sent', num(q.message_stats.sent)],
        ['Received', num(q.message_stats.received)],
        ['Deleted', num(q.message_stats.deleted)],
        ['Empty receives', num(q.message_stats.empty_receives)],
      ]),
    );
    replace(
      attributes,
      h(
        'dl',
        { class: 'props' },
        h('dt', null, 'ARN'),
        h('dd', null, h('code', null, q.arn)),
        Object.entries(q.attributes).map(([k, v]) => [h('dt', null, k), h('dd', null, String(v))]),
        h('dt', null, 'Dead letters to'),
        h('dd', null, q.dead_letter_queue ? link(sqsHref(q.dead_letter_queue), q.dead_letter_queue) : '–'),
        h('dt', null, 'Dead-letter queue of'),
        h(
          'dd',
          null,
          q.dead_letter_sources.length
            ? q.dead_letter_sources.flatMap((s, i) => [i ? ', ' : '', link(sqsHref(s), s)])
            : '–',
        ),
        h('dt', null, 'Created'),
        h('dd', null, time(q.created_timestamp)),
      ),
    );
    if (q.dead_letter_sources.length) {
      const list = await api('GET', `${path}/redrive`);
      replace(
        tasks,
        table({
          caption: 'Re-drive tasks',
          columns: [
            {
              key: 'status',
              label: 'Status',
              value: (t) => badge(t.status, t.status === 'COMPLETED' ? 'ok' : ''),
            },
            { key: 'messages_moved', label: 'Moved', numeric: true, value: (t) => num(t.messages_moved) },
            {
              key: 'messages_to_move',
              label: 'To move',
              numeric: true,
              value: (t) => num(t.messages_to_move),
            },
            { key: 'started_timestamp', label: 'Started', value: (t) => time(t.started_timestamp) },
            { key: 'failure_reason', label: 'Failure', value: (t) => t.failure_reason ?? '–' },
          ],
          rows: list,
          empty: 'No re-drive yet.',
        }),
      );
    }
  };
  await refresh();
  ctx.refresh(refresh);

  const out = h('div');
  const peekForm = actionForm({
    label: 'Peek messages',
    submitLabel: 'Peek messages',
    fields: [field('Count', h('input', { name: 'count', type: 'number', min: 1, max: 1000, value: '10' }))],
    action: async (data) => {
      const messages = await api('POST', `${path}/peek`, { count: Number(data.get('count')) });
      replace(out, messageList(messages, describeSqsMessage));
      return `${messages.length} messages; none was received or hidden.`;
    },
  });

  const purge = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      onclick: async () => {
        const ok = await confirmAction({
          title: 'Purge queue?',
          message: `Delete every message of ${name} (${num(q.messages)} now)? This cannot be undone.`,
          confirmLabel: 'Purge messages',
        });
        if (!ok) return;
        try {
          await api('DELETE', `${path}/contents`);
          toast(`Purged ${name}`);
        } catch (error) {
          toast(error.message, 'error');
        }
        refresh();
      },
    },
    'Purge',
  );

  const redrive = q.dead_letter_sources.length
    ? section(
        'Re-drive',
        h(
          'p',
          null,
          `Move this dead-letter queue's messages back to the queue each came from (${q.dead_letter_sources.join(', ')}).`,
        ),
        actionForm({
          label: 'Re-drive messages',
          submitLabel: 'Re-drive messages',
          className: 'redrive-form',
          fields: [
            field(
              'Messages per second',
              h('input', {
                name: 'rate',
                type: 'number',
                min: 1,
                max: 500,
                placeholder: 'as fast as possible',
              }),
            ),
          ],
          action: async (data) => {
            const ok = await confirmAction({
              title: 'Re-drive messages?',
              message: `Move the ${num(q.messages)} messages of ${name} back to their source queues?`,
              confirmLabel: 'Start re-drive',
              danger: false,
            });
            if (!ok) return '';
            const body = data.get('rate') ? { max_messages_per_second: Number(data.get('rate')) } : {};
            const task = await api('POST', `${path}/redrive`, body);
            await refresh();
            return `Re-drive started (${task.status ?? 'RUNNING'}).`;
          },
        }),
        tasks,
      )
    : null;

  view.append(
    pageHeader(`SQS queue ${name}`, q.fifo ? 'FIFO queue' : 'Standard queue', purge),
    summary,
    h(
      'div',
      { class: 'grid-2' },
      section('Attributes', attributes),
      redrive ?? section('Dead letters', notice('info', 'No queue dead-letters to this one.')),
    ),
    section('Peek messages', peekForm, out),
  );
}

export const sqsPages = [
  ['sqs', sqsListPage],
  ['sqs/([^/]+)', sqsQueuePage],
];
