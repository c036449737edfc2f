// Connections (with close) and channels.
import { api, enc } from '../api.js';
import { confirmAction, pageHeader, toast } from '../components.js';
import { h } from '../dom.js';
import { num, time } from '../format.js';
import { listView } from './list.js';

async function connectionsPage(view, _params, ctx) {
  const list = h('div');
  view.append(pageHeader('Connections', 'Open AMQP connections'), list);
  const { reload, ready } = listView(list, ctx, {
    path: '/api/connections',
    rowKey: (c) => c.name,
    columns: [
      {
        key: 'name',
        label: 'Name',
        value: (c) => [
          c.name,
          c.client_properties?.connection_name
            ? h('div', { class: 'hint' }, c.client_properties.connection_name)
            : null,
        ],
      },
      { key: 'user', label: 'User' },
      { key: 'vhost', label: 'Virtual host' },
      {
        key: 'client_properties.product',
        label: 'Client',
        value: (c) =>
          [c.client_properties?.product, c.client_properties?.version].filter(Boolean).join(' ') || '–',
      },
      { key: 'channels', label: 'Channels', numeric: true, value: (c) => num(c.channels) },
      { key: 'connected_at', label: 'Connected', value: (c) => time(c.connected_at) },
      {
        key: 'close',
        label: 'Actions',
        sort: false,
        value: (c) =>
          h(
            'button',
            {
              type: 'button',
              class: 'danger small',
              'aria-label': `Close connection ${c.name}`,
              onclick: async () => {
                const ok = await confirmAction({
                  title: 'Close connection?',
                  message: `Close ${c.name} (user ${c.user})? The client gets CONNECTION_FORCED.`,
                  confirmLabel: 'Close connection',
                });
                if (!ok) return;
                try {
                  await api('DELETE', `/api/connections/${enc(c.name)}`);
                  toast(`Closed ${c.name}`);
                } catch (error) {
                  toast(error.message, 'error');
                }
                reload();
              },
            },
            'Close',
          ),
      },
    ],
  });
  await ready;
}

async function channelsPage(view, _params, ctx) {
  const list = h('div');
  view.append(pageHeader('Channels', 'Channels of the open AMQP connections'), list);
  await listView(list, ctx, {
    path: '/api/channels',
    columns: [
      { key: 'name', label: 'Channel' },
      { key: 'user', label: 'User' },
      { key: 'vhost', label: 'Virtual host' },
      { key: 'number', label: 'Number', numeric: true },
      { key: 'state', label: 'State' },
    ],
  }).ready;
}

export const connectionPages = [
  ['connections', connectionsPage],
  ['channels', channelsPage],
];
