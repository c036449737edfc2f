// A list page read whole from the API, sorted and filtered in the browser (connections,
// channels, exchanges, users, …); the queue list pages on the server instead (queues.js).
import { api } from '../api.js';
import { nextSort, notice, sortRows, table } from '../components.js';
import { h, replace } from '../dom.js';

/**
 * Draws a filterable, sortable table of `path`'s items into `into`, refreshed with the page.
 * Returns { reload } for pages that change the list.
 */
export function listView(
  into,
  ctx,
  { path, columns, sort, filterLabel = 'Filter by name', nameOf = (r) => r.name, rowKey },
) {
  let rows = [];
  let state = sort ?? { key: columns[0].key, reverse: false };
  const filter = h('input', { type: 'search', placeholder: filterLabel, 'aria-label': filterLabel });
  const count = h('span', { class: 'count' });
  const body = h('div');
  const draw = () => {
    const text = filter.value.toLowerCase();
    const shown = sortRows(
      rows.filter((r) => String(nameOf(r)).toLowerCase().includes(text)),
      state,
    );
    count.textContent = `${shown.length} of ${rows.length}`;
    replace(
      body,
      table({
        columns,
        rows: shown,
        sort: state,
        rowKey,
        onSort: (key) => {
          state = nextSort(state, key);
          draw();
        },
      }),
    );
  };
  filter.addEventListener('input', draw);
  replace(into, h('div', { class: 'toolbar' }, filter, count), body);
  const reload = async () => {
    try {
      rows = await api('GET', typeof path === 'function' ? path() : path);
    } catch (error) {
      replace(body, notice('error', error.message));
      return;
    }
    if (ctx.isCurrent()) draw();
  };
  ctx.refresh(reload);
  return { reload, ready: reload() };
}
