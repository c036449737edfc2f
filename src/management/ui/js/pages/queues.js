// Queues: the list, paged, sorted and filtered by the API (`page`, `page_size`, `name`,
// `use_regex`, `sort`, `sort_reverse`, `columns`), so thousands of queues cost one page of rows;
// and a queue's page: charts, consumers, bindings, publish, peek/get, purge, move, delete.
import { api, enc } from '../api.js';
import { lineChart, ratePoints, samplePoints } from '../chart.js';
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
import { field, h, replace, select } from '../dom.js';
import { bytes, num, rate } from '../format.js';
import { exchangeHref, vhostNames } from './exchanges.js';
import { WINDOW_QUERY } from './overview.js';
import { publishForm } from './publish.js';

export const queueHref = (vhost, name) => `#/queues/${enc(vhost)}/${enc(name)}`;

const LIST_COLUMNS = [
  'name',
  'vhost',
  'type',
  'state',
  'durable',
  'auto_delete',
  'arguments',
  'policy',
  'consumers',
  'messages',
  'messages_ready',
  'messages_unacknowledged',
  'message_stats.publish_details.rate',
  'message_stats.deliver_get_details.rate',
  'message_stats.ack_details.rate',
].join(',');

const PAGE_SIZES = ['20', '100', '500'];

function queueFeatures(q) {
  const args = q.arguments ?? {};
  return [
    q.durable ? badge('D', 'info') : null,
    q.auto_delete ? badge('AD') : null,
    args['x-message-ttl'] !== undefined ? badge('TTL') : null,
    args['x-max-length'] !== undefined ? badge('Lim') : null,
    args['x-dead-letter-exchange'] !== undefined ? badge('DLX') : null,
    args['x-max-priority'] !== undefined ? badge('Pri') : null,
    q.policy ? badge(q.policy, 'policy') : null,
  ];
}

async function queuesPage(view, _params, ctx) {
  const vhosts = await vhostNames();
  const state = {
    page: 1,
    pageSize: 100,
    name: '',
    regex: false,
    sort: { key: 'name', reverse: false },
    vhost: '',
  };
  const body = h('div');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Queue pages' });
  const vhostSelect = select({ 'aria-label': 'Virtual host' }, [['', 'All virtual hosts'], ...vhosts], '');
  const filter = h('input', {
    type: 'search',
    placeholder: 'Filter by name',
    'aria-label': 'Filter queues by name',
  });
  const regex = h('input', { type: 'checkbox', id: 'queue-regex' });
  const pageSize = select(
    { 'aria-label': 'Rows per page' },
    PAGE_SIZES.map((n) => [n, `${n} per page`]),
    '100',
  );

  const load = async () => {
    const query = new URLSearchParams({
      page: String(state.page),
      page_size: String(state.pageSize),
      name: state.name,
      use_regex: String(state.regex),
      pagination: 'true',
      sort: state.sort.key,
      sort_reverse: String(state.sort.reverse),
      columns: LIST_COLUMNS,
    });
    const base = state.vhost ? `/api/queues/${enc(state.vhost)}` : '/api/queues';
    let reply;
    try {
      reply = await api('GET', `${base}?${query}`);
    } catch (error) {
      if (error.status === 400 && state.page > 1 && /beyond the last page/.test(error.message)) {
        state.page = 1;
        return load();
      }
      replace(body, notice('error', error.message));
      return;
    }
    if (!ctx.isCurrent()) return;
    replace(
      body,
      table({
        columns: [
          { key: 'name', label: 'Name', value: (q) => link(queueHref(q.vhost, q.name), q.name) },
          { key: 'vhost', label: 'Virtual host' },
          { key: 'type', label: 'Type' },
          { key: 'features', label: 'Features', sort: false, value: queueFeatures },
          { key: 'consumers', label: 'Consumers', numeric: true, value: (q) => num(q.consumers) },
          { key: 'messages_ready', label: 'Ready', numeric: true, value: (q) => num(q.messages_ready) },
          {
            key: 'messages_unacknowledged',
            label: 'Unacked',
            numeric: true,
            value: (q) => num(q.messages_unacknowledged),
          },
          { key: 'messages', label: 'Total', numeric: true, value: (q) => num(q.messages) },
          {
            key: 'message_stats.publish_details.rate',
            label: 'In',
            numeric: true,
            value: (q) => rate(q.message_stats?.publish_details?.rate ?? 0),
          },
          {
            key: 'message_stats.deliver_get_details.rate',
            label: 'Out',
            numeric: true,
            value: (q) => rate(q.message_stats?.deliver_get_details?.rate ?? 0),
          },
        ],
        rows: reply.items,
        rowKey: (q) => q.name,
        sort: state.sort,
        onSort: (key) => {
          state.sort =
            state.sort.key === key ? { key, reverse: !state.sort.reverse } : { key, reverse: false };
          load();
        },
        empty: reply.total_count === 0 ? 'No queues yet.' : 'No queue matches the filter.',
      }),
    );
    const button = (label, page, disabled) =>
      h(
        'button',
        {
          type: 'button',
          class: 'secondary small',
          disabled,
          onclick: () => {
            state.page = page;
            load();
          },
        },
        label,
      );
    replace(
      pager,
      button('« First', 1, reply.page <= 1),
      button('‹ Previous', reply.page - 1, reply.page <= 1),
      h(
        'span',
        { class: 'count', 'aria-live': 'polite' },
        `Page ${reply.page} of ${reply.page_count} · ${num(reply.filtered_count)} matching of ${num(reply.total_count)} queues`,
      ),
      button('Next ›', reply.page + 1, reply.page >= reply.page_count),
      button('Last »', reply.page_count, reply.page >= reply.page_count),
    );
  };

  let debounce;
  filter.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      state.name = filter.value;
      state.page = 1;
      load();
    }, 250);
  });
  regex.addEventListener('change', () => {
    state.regex = regex.checked;
    state.page = 1;
    load();
  });
  vhostSelect.addEventListener('change', () => {
    state.vhost = vhostSelect.value;
    state.page = 1;
    load();
  });
  pageSize.addEventListener('change', () => {
    state.pageSize = Number(pageSize.value);
    state.page = 1;
    load();
  });

  const form = actionForm({
    label: 'Add a queue',
    submitLabel: 'Add queue',
    fields: [
      field('Virtual host', select({ name: 'vhost' }, vhosts, '/')),
      field('Name', h('input', { name: 'name', required: true })),
      field('Type', select({ name: 'type' }, ['classic', 'stream'], 'classic')),
      field(
        'Durability',
        select(
          { name: 'durable' },
          [
            ['true', 'Durable'],
            ['false', 'Transient'],
          ],
          'true',
        ),
      ),
      field('Arguments (JSON)', h('input', { name: 'arguments', placeholder: '{"x-max-length": 1000}' })),
    ],
    action: async (data) => {
      let args = {};
      const text = String(data.get('arguments') ?? '').trim();
      if (text) {
        try {
          args = JSON.parse(text);
        } catch {
          throw new Error('Arguments must be a JSON object, e.g. {"x-max-length": 1000}.');
        }
      }
      if (data.get('type') === 'stream') args['x-queue-type'] = 'stream';
      await api('PUT', `/api/queues/${enc(data.get('vhost'))}/${enc(data.get('name'))}`, {
        durable: data.get('durable') === 'true',
        auto_delete: false,
        arguments: args,
      });
      await load();
      return `Queue ${data.get('name')} declared.`;
    },
  });

  view.append(
    pageHeader('Queues', 'AMQP queues, paged by the broker'),
    h(
      'div',
      { class: 'toolbar' },
      vhostSelect,
      filter,
      h('label', { class: 'check', for: 'queue-regex' }, regex, 'Regex'),
      pageSize,
    ),
    body,
    pager,
    h('details', { class: 'card' }, h('summary', null, 'Add a queue'), form),
  );
  await load();
  ctx.refresh(load);
}

function describeMessage(m, i) {
  const props = m.properties ?? {};
  const meta = [
    ['#', String(i + 1)],
    ['Exchange', m.exchange || '(AMQP default)'],
    ['Routing key', m.routing_key],
    ['Redelivered', m.redelivered ? 'yes' : 'no'],
    ['Size', bytes(m.payload_bytes)],
  ];
  for (const [k, v] of Object.entries(props))
    meta.push([k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  return { meta, payload: m.payload, encoding: m.payload_encoding };
}

async function queuePage(view, [vhost, name], ctx) {
  const path = `/api/queues/${enc(vhost)}/${enc(name)}`;
  const summary = h('div');
  const charts = h('div', { class: 'charts' });
  const consumers = h('div');
  const bindings = h('div');
  const refresh = async () => {
    const [q, bound] = await Promise.all([
      api('GET', `${path}?${WINDOW_QUERY}`),
      api('GET', `${path}/bindings`),
    ]);
    if (!ctx.isCurrent()) return;
    const ms = q.message_stats ?? {};
    replace(
      summary,
      tiles([
        ['Ready', num(q.messages_ready)],
        ['Unacked', num(q.messages_unacknowledged)],
        ['Total', num(q.messages)],
        ['Bytes', bytes(q.message_bytes)],
        ['Consumers', num(q.consumers)],
        ['Publish', rate(ms.publish_details?.rate)],
        ['Deliver / get', rate(ms.deliver_get_details?.rate)],
        ['Ack', rate(ms.ack_details?.rate)],
      ]),
    );
    replace(
      charts,
      lineChart({
        title: 'Queued messages',
        id: 'chart-queue-depth',
        series: [
          { name: 'messages_ready', label: 'Ready', points: samplePoints(q.messages_ready_details) },
          {
            name: 'messages_unacknowledged',
            label: 'Unacked',
            points: samplePoints(q.messages_unacknowledged_details),
          },
        ],
      }),
      lineChart({
        title: 'Message rates',
        id: 'chart-queue-rates',
        format: rate,
        series: [
          { name: 'publish', label: 'Publish', points: ratePoints(ms.publish_details) },
          { name: 'deliver_get', label: 'Deliver / get', points: ratePoints(ms.deliver_get_details) },
          { name: 'ack', label: 'Ack', points: ratePoints(ms.ack_details) },
        ],
      }),
    );
    replace(
      consumers,
      table({
        columns: [
          { key: 'consumer_tag', label: 'Consumer tag' },
          { key: 'channel', label: 'Channel', value: (c) => c.channel_details?.name ?? '–' },
          { key: 'ack_required', label: 'Ack required', value: (c) => (c.ack_required ? 'yes' : 'no') },
          { key: 'prefetch_count', label: 'Prefetch', numeric: true, value: (c) => num(c.prefetch_count) },
          { key: 'exclusive', label: 'Exclusive', value: (c) => (c.exclusive ? 'yes' : 'no') },
        ],
        rows: q.consumer_details ?? [],
        empty: 'No consumers.',
      }),
    );
    replace(
      bindings,
      table({
        columns: [
          {
            key: 'source',
            label: 'From exchange',
            value: (b) => link(exchangeHref(b.vhost, b.source), b.source || '(AMQP default)'),
          },
          { key: 'routing_key', label: 'Routing key' },
          { key: 'arguments', label: 'Arguments', value: (b) => JSON.stringify(b.arguments ?? {}) },
          {
            key: 'unbind',
            label: 'Actions',
            value: (b) =>
              b.source === ''
                ? ''
                : h(
                    'button',
                    {
                      type: 'button',
                      class: 'secondary small',
                      onclick: async () => {
                        try {
                          await api(
                            'DELETE',
                            `/api/bindings/${enc(vhost)}/e/${enc(b.source)}/q/${enc(name)}/${enc(b.properties_key)}`,
                          );
                          toast('Binding removed');
                        } catch (error) {
                          toast(error.message, 'error');
                        }
                        refresh();
                      },
                    },
                    'Unbind',
                  ),
          },
        ],
        rows: bound,
      }),
    );
  };
  await refresh();
  ctx.refresh(refresh);

  const bindForm = actionForm({
    label: 'Add a binding',
    submitLabel: 'Bind',
    fields: [
      field('From exchange', h('input', { name: 'source', required: true })),
      field('Routing key', h('input', { name: 'routing_key' })),
    ],
    action: async (data) => {
      await api('POST', `/api/bindings/${enc(vhost)}/e/${enc(data.get('source'))}/q/${enc(name)}`, {
        routing_key: String(data.get('routing_key') ?? ''),
        arguments: {},
      });
      await refresh();
      return 'Bound.';
    },
  });

  const messagesOut = h('div', { class: 'messages-out' });
  const readForm = actionForm({
    label: 'Peek or get messages',
    submitLabel: 'Show messages',
    className: 'read-form',
    fields: [
      field(
        'Mode',
        select(
          { name: 'mode' },
          [
            ['peek', 'Peek (leave in place)'],
            ['ack_requeue_true', 'Get, requeue'],
            ['ack_requeue_false', 'Get, ack (remove)'],
            ['reject_requeue_false', 'Get, reject (dead-letter)'],
          ],
          'peek',
        ),
      ),
      field('Count', h('input', { name: 'count', type: 'number', min: 1, max: 1000, value: '10' })),
      field(
        'Encoding',
        select(
          { name: 'encoding' },
          [
            ['auto', 'Auto (text or base64)'],
            ['base64', 'Base64'],
          ],
          'auto',
        ),
      ),
    ],
    action: async (data) => {
      const mode = data.get('mode');
      const count = Number(data.get('count'));
      const encoding = data.get('encoding');
      const messages =
        mode === 'peek'
          ? await api('POST', `${path}/peek`, { count, encoding })
          : await api('POST', `${path}/get`, { count, ackmode: mode, encoding });
      replace(messagesOut, messageList(messages, describeMessage));
      if (mode !== 'peek') refresh();
      return `${messages.length} message${messages.length === 1 ? '' : 's'}.`;
    },
  });

  const purgeButton = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      id: 'purge',
      onclick: async () => {
        const q = await api('GET', `${path}?columns=messages_ready`);
        const ok = await confirmAction({
          title: 'Purge queue?',
          message: `Delete the ${num(q.messages_ready)} ready messages of ${name}? This cannot be undone; unacknowledged messages stay.`,
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
  const deleteButton = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      onclick: async () => {
        const ok = await confirmAction({
          title: 'Delete queue?',
          message: `Delete ${name} and every message in it?`,
          confirmLabel: 'Delete queue',
        });
        if (!ok) return;
        try {
          await api('DELETE', path);
          toast(`Deleted ${name}`);
          location.hash = '#/queues';
        } catch (error) {
          toast(error.message, 'error');
        }
      },
    },
    'Delete',
  );

  const moveForm = actionForm({
    label: 'Move messages',
    submitLabel: 'Move messages',
    className: 'move-form',
    fields: [
      field(
        'To',
        select(
          { name: 'destination_type' },
          [
            ['queue', 'A queue'],
            ['exchange', 'An exchange'],
            ['x-death', 'Re-drive: back to the queue in x-death'],
          ],
          'queue',
        ),
      ),
      field('Name', h('input', { name: 'destination' }), 'The queue or exchange (not for re-drive).'),
      field(
        'Routing key',
        h('input', { name: 'routing_key' }),
        'For an exchange; each message’s own key when empty.',
      ),
      field(
        'At most',
        h('input', { name: 'count', type: 'number', min: 1, placeholder: 'all ready messages' }),
      ),
    ],
    action: async (data) => {
      const body = { destination_type: data.get('destination_type') };
      const destination = String(data.get('destination') ?? '').trim();
      if (body.destination_type !== 'x-death') {
        if (!destination) throw new Error(`Name the ${body.destination_type} to move the messages to.`);
        body.destination = destination;
      }
      if (body.destination_type === 'exchange' && data.get('routing_key'))
        body.routing_key = data.get('routing_key');
      if (data.get('count')) body.count = Number(data.get('count'));
      const where =
        body.destination_type === 'x-death'
          ? 'the queues named in their x-death headers'
          : `${body.destination_type} ${destination}`;
      const ok = await confirmAction({
        title: 'Move messages?',
        message: `Move ${body.count ? `up to ${num(body.count)}` : 'the'} ready messages of ${name} to ${where}? Each is removed here only once its copy is stored there.`,
        confirmLabel: 'Move messages',
        danger: false,
      });
      if (!ok) return '';
      const reply = await api('POST', `${path}/move`, body);
      refresh();
      return `Moved ${num(reply.moved)} message${reply.moved === 1 ? '' : 's'}.`;
    },
  });

  view.append(
    pageHeader(`Queue ${name}`, `virtual host ${vhost}`, purgeButton, deleteButton),
    summary,
    charts,
    h(
      'div',
      { class: 'grid-2' },
      section('Consumers', consumers),
      section('Bindings', bindings, h('details', null, h('summary', null, 'Add a binding'), bindForm)),
    ),
    section('Get messages', readForm, messagesOut),
    h(
      'div',
      { class: 'grid-2' },
      section(
        'Publish message',
        publishForm({ vhost, exchange: '', routingKey: name, lockRoutingKey: true }),
      ),
      section('Move or re-drive messages', moveForm),
    ),
  );
}

export const queuePages = [
  ['queues', queuesPage],
  ['queues/([^/]+)/([^/]+)', queuePage],
];
