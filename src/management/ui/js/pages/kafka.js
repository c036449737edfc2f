// Kafka: topics (partitions' offsets and sizes, peek) and consumer groups (members, per-partition
// lag, a lag chart, offset reset while the group is empty).
import { api, enc } from '../api.js';
import { lineChart, samplePoints } from '../chart.js';
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
} from '../components.js';
import { field, h, replace, select } from '../dom.js';
import { bytes, duration, num, time } from '../format.js';
import { listView } from './list.js';

const topicHref = (name) => `#/kafka/topics/${enc(name)}`;
const groupHref = (id) => `#/kafka/groups/${enc(id)}`;

async function topicsPage(view, _params, ctx) {
  const list = h('div');
  view.append(pageHeader('Kafka topics', 'Topics, their partitions, sizes and retention'), list);
  await listView(list, ctx, {
    path: '/api/kafka/topics',
    columns: [
      { key: 'name', label: 'Topic', value: (t) => link(topicHref(t.name), t.name) },
      { key: 'partition_count', label: 'Partitions', numeric: true },
      { key: 'records', label: 'Records', numeric: true, value: (t) => num(t.records) },
      { key: 'size_bytes', label: 'Size', numeric: true, value: (t) => bytes(t.size_bytes) },
      {
        key: 'config.retention.ms',
        label: 'Retention',
        sort: false,
        value: (t) => {
          const ms = t.config?.['retention.ms'];
          return ms === -1 ? 'forever' : duration(ms);
        },
      },
      {
        key: 'config.cleanup.policy',
        label: 'Cleanup',
        sort: false,
        value: (t) => t.config?.['cleanup.policy'],
      },
    ],
  }).ready;
}

function describeRecord(r) {
  return {
    meta: [
      ['Offset', String(r.offset)],
      ['Timestamp', time(r.timestamp)],
      ['Key', r.key ?? '(null)'],
      ['Headers', r.headers.length ? r.headers.map((x) => `${x.key}=${x.value}`).join(', ') : '–'],
      ['Size', bytes(r.value_bytes)],
    ],
    payload: r.compressed ? '(compressed batch)' : (r.value ?? '(null)'),
    encoding: r.value_encoding,
  };
}

async function topicPage(view, [name], ctx) {
  const partitions = h('div');
  let topic;
  const refresh = async () => {
    topic = await api('GET', `/api/kafka/topics/${enc(name)}`);
    if (!ctx.isCurrent()) return;
    replace(
      partitions,
      table({
        columns: [
          { key: 'partition', label: 'Partition', numeric: true },
          {
            key: 'log_start_offset',
            label: 'Start offset',
            numeric: true,
            value: (p) => num(p.log_start_offset),
          },
          { key: 'log_end_offset', label: 'End offset', numeric: true, value: (p) => num(p.log_end_offset) },
          { key: 'records', label: 'Records', numeric: true, value: (p) => num(p.records) },
          { key: 'size_bytes', label: 'Size', numeric: true, value: (p) => bytes(p.size_bytes) },
        ],
        rows: topic.partitions,
      }),
    );
  };
  await refresh();
  ctx.refresh(refresh);
  const out = h('div');
  const peekForm = actionForm({
    label: 'Peek records',
    submitLabel: 'Peek records',
    fields: [
      field(
        'Partition',
        select(
          { name: 'partition' },
          topic.partitions.map((p) => String(p.partition)),
          '0',
        ),
      ),
      field('From offset', h('input', { name: 'offset', type: 'number', min: 0, placeholder: 'log start' })),
      field('Count', h('input', { name: 'count', type: 'number', min: 1, max: 1000, value: '10' })),
    ],
    action: async (data) => {
      const body = { count: Number(data.get('count')) };
      if (data.get('offset') !== '') body.offset = Number(data.get('offset'));
      const records = await api(
        'POST',
        `/api/kafka/topics/${enc(name)}/partitions/${enc(data.get('partition'))}/peek`,
        body,
      );
      replace(out, messageList(records, describeRecord));
      return `${records.length} records; no consumer group was used.`;
    },
  });
  view.append(
    pageHeader(`Topic ${name}`, `${topic.partition_count} partitions · ${num(topic.records)} records`),
    h(
      'dl',
      { class: 'props card' },
      Object.entries(topic.config).map(([k, v]) => [
        h('dt', null, k),
        h('dd', null, String(v), topic.overrides?.[k] !== undefined ? [' ', badge('override')] : null),
      ]),
    ),
    section('Partitions', partitions),
    section('Peek records', peekForm, out),
  );
}

function stateBadge(state) {
  const kind = state === 'Stable' ? 'ok' : state === 'Empty' ? '' : 'warn';
  return badge(state, kind);
}

async function groupsPage(view, _params, ctx) {
  const list = h('div');
  view.append(
    pageHeader('Kafka consumer groups', 'Lag as kafka_exporter computes it: end offset − committed'),
    list,
  );
  await listView(list, ctx, {
    path: '/api/kafka/groups',
    nameOf: (g) => g.group_id,
    sort: { key: 'group_id', reverse: false },
    columns: [
      { key: 'group_id', label: 'Group', value: (g) => link(groupHref(g.group_id), g.group_id) },
      { key: 'state', label: 'State', value: (g) => stateBadge(g.state) },
      { key: 'protocol', label: 'Assignor' },
      { key: 'member_count', label: 'Members', numeric: true },
      {
        key: 'topics',
        label: 'Topics',
        sort: false,
        value: (g) => [...new Set(g.partitions.map((p) => p.topic))].join(', '),
      },
      { key: 'lag', label: 'Lag', numeric: true, value: (g) => num(g.lag) },
    ],
  }).ready;
}

async function groupPage(view, [groupId], ctx) {
  const summary = h('div');
  const chart = h('div', { class: 'charts single' });
  const partitions = h('div');
  const members = h('div');
  let group;
  const refresh = async () => {
    group = await api('GET', `/api/kafka/groups/${enc(groupId)}?lengths_age=600&lengths_incr=5`);
    if (!ctx.isCurrent()) return;
    replace(
      summary,
      tiles([
        ['State', stateBadge(group.state)],
        ['Members', num(group.member_count)],
        ['Partitions', num(group.partitions.length)],
        ['Lag', num(group.lag), { warn: group.lag > 0 }],
      ]),
    );
    replace(
      chart,
      lineChart({
        title: 'Consumer lag',
        id: 'chart-group-lag',
        wide: true,
        series: [{ name: 'lag', label: 'Lag', points: samplePoints(group.lag_details) }],
      }),
    );
    replace(
      partitions,
      table({
        columns: [
          { key: 'topic', label: 'Topic', value: (p) => link(topicHref(p.topic), p.topic) },
          { key: 'partition', label: 'Partition', numeric: true },
          {
            key: 'committed_offset',
            label: 'Committed',
            numeric: true,
            value: (p) => (p.committed_offset < 0 ? 'none' : num(p.committed_offset)),
          },
          { key: 'log_end_offset', label: 'End offset', numeric: true, value: (p) => num(p.log_end_offset) },
          { key: 'lag', label: 'Lag', numeric: true, value: (p) => (p.lag < 0 ? '–' : num(p.lag)) },
          {
            key: 'client_id',
            label: 'Consumer',
            value: (p) => (p.client_id ? `${p.client_id} (${p.client_host})` : '–'),
          },
        ],
        rows: group.partitions,
        rowKey: (p) => `${p.topic}-${p.partition}`,
      }),
    );
    replace(
      members,
      table({
        columns: [
          { key: 'client_id', label: 'Client' },
          { key: 'client_host', label: 'Host' },
          { key: 'member_id', label: 'Member id' },
          {
            key: 'assignment',
            label: 'Assignment',
            value: (m) => m.assignment.map((a) => `${a.topic}: ${a.partitions.join(', ')}`).join('; ') || '–',
          },
        ],
        rows: group.members,
        empty: 'No members: the group is empty and its offsets may be reset.',
      }),
    );
  };
  await refresh();
  ctx.refresh(refresh);

  const topics = [...new Set(group.partitions.map((p) => p.topic))];
  const allTopics = topics.length
    ? topics
    : (await api('GET', '/api/kafka/topics?columns=name')).map((t) => t.name);
  const resetForm = actionForm({
    label: 'Reset offsets',
    submitLabel: 'Reset offsets',
    className: 'reset-form',
    fields: [
      field('Topic', select({ name: 'topic' }, allTopics, allTopics[0])),
      field(
        'To',
        select(
          { name: 'to' },
          [
            ['earliest', 'Earliest (log start)'],
            ['latest', 'Latest (log end)'],
            ['timestamp', 'First record at or after a time'],
            ['offset', 'An exact offset'],
          ],
          'earliest',
        ),
      ),
      field(
        'Time',
        h('input', { name: 'timestamp', type: 'datetime-local', step: 1 }),
        'For “at or after a time” (local time).',
      ),
      field('Offset', h('input', { name: 'offset', type: 'number', min: 0 }), 'For “an exact offset”.'),
      field('Partitions', h('input', { name: 'partitions', placeholder: 'all, or e.g. 0,2' })),
    ],
    action: async (data) => {
      const body = { topic: data.get('topic'), to: data.get('to') };
      if (body.to === 'timestamp') {
        const when = Date.parse(String(data.get('timestamp')));
        if (Number.isNaN(when)) throw new Error('Choose a time to reset to.');
        body.timestamp = when;
      }
      if (body.to === 'offset') {
        if (data.get('offset') === '') throw new Error('Enter the offset to reset to.');
        body.offset = Number(data.get('offset'));
      }
      const parts = String(data.get('partitions') ?? '').trim();
      if (parts && parts !== 'all') body.partitions = parts.split(/[\s,]+/).map(Number);
      const ok = await confirmAction({
        title: 'Reset offsets?',
        message: `Commit new offsets for group ${groupId} on ${body.topic} (${body.to})? Consumers that join later start there.`,
        confirmLabel: 'Reset offsets',
      });
      if (!ok) return '';
      const reply = await api('POST', `/api/kafka/groups/${enc(groupId)}/reset-offsets`, body);
      await refresh();
      return `Offsets committed: ${reply.partitions.map((p) => `${reply.topic}-${p.partition} → ${p.offset}`).join(', ')}.`;
    },
  });

  view.append(
    pageHeader(`Group ${groupId}`, 'Kafka consumer group'),
    summary,
    chart,
    section('Partitions', partitions),
    h(
      'div',
      { class: 'grid-2' },
      section('Members', members),
      section(
        'Reset offsets',
        notice('info', 'Kafka refuses a reset while the group has members: stop its consumers first.'),
        resetForm,
      ),
    ),
  );
}

export const kafkaPages = [
  ['kafka/topics', topicsPage],
  ['kafka/topics/([^/]+)', topicPage],
  ['kafka/groups', groupsPage],
  ['kafka/groups/([^/]+)', groupPage],
];
