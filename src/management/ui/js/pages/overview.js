// Overview: totals, message rates and queue depth from the server's sample ring, Kafka lag,
// alarms, listeners and the node.
import { api } from '../api.js';
import { lineChart, ratePoints, samplePoints } from '../chart.js';
import { link, notice, pageHeader, section, table, tiles } from '../components.js';
import { h, replace } from '../dom.js';
import { bytes, duration, num, rate } from '../format.js';

/** Ten minutes of samples at the ring's 5 s interval. */
export const WINDOW_QUERY = 'lengths_age=600&lengths_incr=5&msg_rates_age=600&msg_rates_incr=5';

async function optional(path) {
  try {
    return await api('GET', path);
  } catch (error) {
    if (error.status === 403 || error.status === 404) return undefined;
    throw error;
  }
}

export async function overviewPage(view, _params, ctx) {
  const totals = h('div');
  const charts = h('div', { class: 'charts' });
  const lag = h('div');
  const status = h('div', { class: 'grid-2' });
  replace(view, pageHeader('Overview', 'The broker at a glance'), totals, charts, lag, status);

  async function refresh() {
    const [overview, nodes, alarms, groups] = await Promise.all([
      api('GET', `/api/overview?${WINDOW_QUERY}`),
      optional('/api/nodes'),
      optional('/api/health/checks/alarms').catch((e) => ({ status: 'failed', reason: e.reason })),
      optional('/api/kafka/groups?lengths_age=600&lengths_incr=5'),
    ]);
    if (!ctx.isCurrent()) return;
    const q = overview.queue_totals ?? {};
    const m = overview.message_stats ?? {};
    const o = overview.object_totals ?? {};
    replace(
      totals,
      tiles([
        ['Ready', num(q.messages_ready)],
        ['Unacked', num(q.messages_unacknowledged)],
        ['Publish', rate(m.publish_details?.rate)],
        ['Deliver', rate(m.deliver_get_details?.rate)],
        ['Connections', num(o.connections)],
        ['Channels', num(o.channels)],
        ['Queues', num(o.queues)],
        ['Consumers', num(o.consumers)],
      ]),
    );
    const chartList = [
      lineChart({
        title: 'Queued messages',
        id: 'chart-depth',
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
        id: 'chart-rates',
        format: rate,
        series: [
          { name: 'publish', label: 'Publish', points: ratePoints(m.publish_details) },
          { name: 'deliver_get', label: 'Deliver / get', points: ratePoints(m.deliver_get_details) },
          { name: 'ack', label: 'Ack', points: ratePoints(m.ack_details) },
        ],
      }),
    ];
    if (groups?.length) {
      chartList.push(
        lineChart({
          title: 'Kafka consumer lag',
          id: 'chart-lag',
          series: groups.slice(0, 6).map((g) => ({
            name: g.group_id,
            label: g.group_id,
            points: samplePoints(g.lag_details),
          })),
        }),
      );
    }
    replace(charts, chartList);
    replace(
      lag,
      groups?.length
        ? section(
            'Kafka consumer groups',
            table({
              columns: [
                {
                  key: 'group_id',
                  label: 'Group',
                  value: (g) => link(`#/kafka/groups/${encodeURIComponent(g.group_id)}`, g.group_id),
                },
                { key: 'state', label: 'State' },
                { key: 'member_count', label: 'Members', numeric: true },
                { key: 'lag', label: 'Lag', numeric: true, value: (g) => num(g.lag) },
              ],
              rows: groups.slice(0, 10),
            }),
          )
        : '',
    );
    const node = nodes?.[0];
    const alarmList = [];
    if (node?.mem_alarm) alarmList.push('Memory alarm: publishers are blocked.');
    if (node?.disk_free_alarm) alarmList.push('Disk alarm: publishers are blocked.');
    replace(
      status,
      section(
        'Alarms',
        alarms === undefined
          ? notice('info', 'Alarms need the monitoring tag.')
          : alarms.status === 'ok' && alarmList.length === 0
            ? notice('ok', 'No alarms: memory and disk are within their limits.')
            : [
                ...alarmList.map((a) => notice('error', a)),
                alarms.reason ? notice('error', alarms.reason) : null,
              ],
        node
          ? h(
              'dl',
              { class: 'props' },
              h('dt', null, 'Node'),
              h('dd', null, node.name),
              h('dt', null, 'Version'),
              h('dd', null, `Pier ${overview.pier_version} (RabbitMQ ${overview.rabbitmq_version} API)`),
              h('dt', null, 'Runtime'),
              h('dd', null, overview.erlang_version),
              h('dt', null, 'Uptime'),
              h('dd', null, duration(node.uptime)),
              h('dt', null, 'Memory'),
              h('dd', null, bytes(node.mem_used)),
            )
          : null,
      ),
      section(
        'Listeners',
        table({
          columns: [
            { key: 'protocol', label: 'Protocol' },
            { key: 'ip_address', label: 'Address' },
            { key: 'port', label: 'Port', numeric: true },
          ],
          rows: overview.listeners ?? [],
        }),
      ),
    );
  }
  await refresh();
  ctx.refresh(refresh);
}
