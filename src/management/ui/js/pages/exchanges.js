// Exchanges: the list (with declare) and an exchange's page (bindings, publish, delete).
import { api, enc } from '../api.js';
import { actionForm, badge, confirmAction, link, pageHeader, section, table, toast } from '../components.js';
import { field, h, replace, select } from '../dom.js';
import { listView } from './list.js';
import { publishForm } from './publish.js';

export const exchangeHref = (vhost, name) => `#/exchanges/${enc(vhost)}/${enc(name || 'amq.default')}`;

export async function vhostNames() {
  return (await api('GET', '/api/vhosts')).map((v) => v.name);
}

function features(x) {
  return [
    x.durable ? badge('D', 'info') : null,
    x.auto_delete ? badge('AD') : null,
    x.internal ? badge('I') : null,
    Object.keys(x.arguments ?? {}).length ? badge('Args') : null,
  ];
}

async function exchangesPage(view, _params, ctx) {
  const list = h('div');
  const vhosts = await vhostNames();
  const { reload, ready } = listView(list, ctx, {
    path: '/api/exchanges',
    sort: { key: 'name', reverse: false },
    columns: [
      {
        key: 'name',
        label: 'Name',
        value: (x) => link(exchangeHref(x.vhost, x.name), x.name || '(AMQP default)'),
      },
      { key: 'vhost', label: 'Virtual host' },
      { key: 'type', label: 'Type' },
      { key: 'durable', label: 'Features', value: features },
    ],
  });
  const form = actionForm({
    label: 'Add an exchange',
    submitLabel: 'Add exchange',
    fields: [
      field('Virtual host', select({ name: 'vhost' }, vhosts, '/')),
      field('Name', h('input', { name: 'name', required: true })),
      field(
        'Type',
        select({ name: 'type' }, ['direct', 'fanout', 'topic', 'headers', 'x-delayed-message'], 'direct'),
      ),
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
    ],
    action: async (data) => {
      await api('PUT', `/api/exchanges/${enc(data.get('vhost'))}/${enc(data.get('name'))}`, {
        type: data.get('type'),
        durable: data.get('durable') === 'true',
        auto_delete: false,
        internal: false,
        arguments: {},
      });
      await reload();
      return `Exchange ${data.get('name')} declared.`;
    },
  });
  view.append(
    pageHeader('Exchanges', 'AMQP exchanges in every virtual host you can see'),
    list,
    h('details', { class: 'card' }, h('summary', null, 'Add an exchange'), form),
  );
  await ready;
}

async function exchangePage(view, [vhost, rawName], ctx) {
  const name = rawName === 'amq.default' ? '' : rawName;
  const x = await api('GET', `/api/exchanges/${enc(vhost)}/${enc(rawName)}`);
  const bindings = h('div');
  const refresh = async () => {
    const [source, destination] = await Promise.all([
      api('GET', `/api/exchanges/${enc(vhost)}/${enc(rawName)}/bindings/source`),
      api('GET', `/api/exchanges/${enc(vhost)}/${enc(rawName)}/bindings/destination`),
    ]);
    const dest = (b) =>
      b.destination_type === 'queue'
        ? link(`#/queues/${enc(b.vhost)}/${enc(b.destination)}`, `queue ${b.destination}`)
        : link(exchangeHref(b.vhost, b.destination), `exchange ${b.destination}`);
    replace(
      bindings,
      table({
        caption: 'From this exchange',
        columns: [
          { key: 'destination', label: 'To', value: dest },
          { key: 'routing_key', label: 'Routing key' },
          { key: 'arguments', label: 'Arguments', value: (b) => JSON.stringify(b.arguments ?? {}) },
        ],
        rows: source,
        empty: name === '' ? 'The default exchange routes to every queue by its name.' : 'No bindings.',
      }),
      destination.length
        ? table({
            caption: 'To this exchange',
            columns: [
              { key: 'source', label: 'From', value: (b) => link(exchangeHref(b.vhost, b.source), b.source) },
              { key: 'routing_key', label: 'Routing key' },
            ],
            rows: destination,
          })
        : null,
    );
  };
  await refresh();
  ctx.refresh(refresh);
  const deletable = name !== '' && !name.startsWith('amq.');
  view.append(
    pageHeader(
      `Exchange ${name || '(AMQP default)'}`,
      `${x.type} · virtual host ${vhost}`,
      deletable
        ? h(
            'button',
            {
              type: 'button',
              class: 'danger',
              onclick: async () => {
                const ok = await confirmAction({
                  title: 'Delete exchange?',
                  message: `Delete exchange ${name} and its bindings?`,
                  confirmLabel: 'Delete exchange',
                });
                if (!ok) return;
                try {
                  await api('DELETE', `/api/exchanges/${enc(vhost)}/${enc(name)}`);
                  toast(`Deleted exchange ${name}`);
                  location.hash = '#/exchanges';
                } catch (error) {
                  toast(error.message, 'error');
                }
              },
            },
            'Delete',
          )
        : null,
    ),
    h(
      'dl',
      { class: 'props card' },
      h('dt', null, 'Type'),
      h('dd', null, x.type),
      h('dt', null, 'Features'),
      h('dd', null, features(x)),
      h('dt', null, 'Arguments'),
      h('dd', null, JSON.stringify(x.arguments ?? {})),
    ),
    section('Bindings', bindings),
    section('Publish message', publishForm({ vhost, exchange: name })),
  );
}

export const exchangePages = [
  ['exchanges', exchangesPage],
  ['exchanges/([^/]+)/([^/]+)', exchangePage],
];
