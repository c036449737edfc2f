// The publish form shared by the exchange page and the queue page (the queue publishes through
// the default exchange with its name as routing key).
import { api, enc } from '../api.js';
import { actionForm } from '../components.js';
import { field, h, select } from '../dom.js';

export function publishForm({ vhost, exchange, routingKey, lockRoutingKey = false }) {
  const fields = [
    field(
      'Routing key',
      h('input', { name: 'routing_key', value: routingKey ?? '', readOnly: lockRoutingKey }),
    ),
    field(
      'Delivery mode',
      select(
        { name: 'delivery_mode' },
        [
          ['2', 'Persistent'],
          ['1', 'Non-persistent'],
        ],
        '2',
      ),
    ),
    field('Content type', h('input', { name: 'content_type', placeholder: 'e.g. application/json' })),
    field(
      'Headers (JSON)',
      h('input', { name: 'headers', placeholder: '{"x-tenant": "a"}' }),
      'An object; values as strings, numbers or booleans.',
    ),
    h(
      'div',
      { class: 'field wide' },
      h('label', { for: `payload-${exchange}` }, 'Payload'),
      h('textarea', { id: `payload-${exchange}`, name: 'payload', rows: 4 }),
    ),
  ];
  return actionForm({
    label: 'Publish a message',
    fields,
    submitLabel: 'Publish message',
    action: async (data) => {
      const properties = { delivery_mode: Number(data.get('delivery_mode')) };
      if (data.get('content_type')) properties.content_type = data.get('content_type');
      const headersText = String(data.get('headers') ?? '').trim();
      if (headersText) {
        try {
          properties.headers = JSON.parse(headersText);
        } catch {
          throw new Error('Headers must be a JSON object, e.g. {"x-tenant": "a"}.');
        }
      }
      const reply = await api(
        'POST',
        `/api/exchanges/${enc(vhost)}/${enc(exchange || 'amq.default')}/publish`,
        {
          routing_key: String(data.get('routing_key')),
          payload: String(data.get('payload')),
          payload_encoding: 'string',
          properties,
        },
      );
      return reply.routed
        ? 'Message published and routed.'
        : 'Message published but not routed to any queue.';
    },
  });
}
