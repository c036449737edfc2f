// Shared pieces of the pages: tables with sortable headers, stat tiles, confirmation dialogs,
// notices, message lists and forms that report the API's reason on failure.
import { h, replace } from './dom.js';

/**
 * A table: columns [{ key, label, value(row) -> node|string, sort: key to sort by (false: none),
 * numeric }]. `sort` {key, reverse} marks the sorted header; `onSort(key)` re-sorts (client or
 * server side, the caller decides).
 */
export function table({ columns, rows, sort, onSort, empty = 'Nothing here yet.', caption, rowKey }) {
  const head = h(
    'tr',
    null,
    columns.map((c) => {
      const sortKey = c.sort === false ? undefined : (c.sort ?? c.key);
      const active = sort && sortKey && sort.key === sortKey;
      const ariaSort = active ? (sort.reverse ? 'descending' : 'ascending') : undefined;
      const content =
        sortKey && onSort
          ? h(
              'button',
              { type: 'button', class: 'sort', onclick: () => onSort(sortKey) },
              c.label,
              h('span', { class: 'arrow', 'aria-hidden': 'true' }, active ? (sort.reverse ? '▼' : '▲') : ''),
            )
          : c.label;
      return h('th', { scope: 'col', class: c.numeric ? 'num' : undefined, 'aria-sort': ariaSort }, content);
    }),
  );
  const body = rows.length
    ? rows.map((row) =>
        h(
          'tr',
          { dataset: rowKey ? { key: rowKey(row) } : undefined },
          columns.map((c) =>
            h(
              'td',
              { class: c.numeric ? 'num' : undefined, dataset: { label: c.label } },
              c.value ? c.value(row) : String(row[c.key] ?? ''),
            ),
          ),
        ),
      )
    : [h('tr', null, h('td', { colSpan: columns.length, class: 'empty' }, empty))];
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      caption ? h('caption', null, caption) : null,
      h('thead', null, head),
      h('tbody', null, body),
    ),
  );
}

/** Sorts rows in the browser by a dotted key. */
export function sortRows(rows, sort) {
  if (!sort?.key) return rows;
  const path = sort.key.split('.');
  const at = (row) => path.reduce((v, k) => (v === null || v === undefined ? v : v[k]), row);
  const sorted = [...rows].sort((a, b) => {
    const va = at(a);
    const vb = at(b);
    if (va === vb) return 0;
    if (va === undefined || va === null) return -1;
    if (vb === undefined || vb === null) return 1;
    if (typeof va === 'number' && typeof vb === 'number') return va - vb;
    return String(va).localeCompare(String(vb));
  });
  return sort.reverse ? sorted.reverse() : sorted;
}

/** The next sort when a header is pressed: the same key flips, another key sorts ascending. */
export function nextSort(sort, key) {
  return sort?.key === key ? { key, reverse: !sort.reverse } : { key, reverse: false };
}

export function tiles(items) {
  return h(
    'dl',
    { class: 'tiles' },
    items.map(([label, value, extra]) =>
      h('div', { class: `tile${extra?.warn ? ' warn' : ''}` }, h('dt', null, label), h('dd', null, value)),
    ),
  );
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

export function pageHeader(title, subtitle, ...actions) {
  return h(
    'div',
    { class: 'page-header' },
    h('div', null, h('h1', null, title), subtitle ? h('p', { class: 'subtitle' }, subtitle) : null),
    actions.length ? h('div', { class: 'actions' }, actions) : null,
  );
}

/** A banner for an error or result inside a page. */
export function notice(kind, text) {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** A short-lived notice in the corner (announced by the live region). */
export function toast(text, kind = 'ok') {
  const box = document.getElementById('toasts');
  const item = h('div', { class: `toast ${kind}` }, text);
  box.appendChild(item);
  setTimeout(() => item.remove(), 5000);
}

/**
 * Asks before a destructive action, in a modal <dialog> (focus moves into it, Escape cancels).
 * Resolves true only when the confirming button is pressed.
 */
export function confirmAction({ title, message, confirmLabel, danger = true }) {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-title' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'confirm-title' }, title),
        h('p', null, message),
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'submit', value: 'cancel', class: 'secondary', autofocus: true }, 'Cancel'),
          h(
            'button',
            { type: 'submit', value: 'confirm', class: danger ? 'danger' : 'primary' },
            confirmLabel,
          ),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

/**
 * A form whose submit runs `action(formData)`; while it runs the submit button is disabled; its
 * result (a string) or the API's reason is shown under the form.
 */
export function actionForm({ label, fields, submitLabel, action, danger = false, className }) {
  const output = h('div', { class: 'form-output', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, submitLabel);
  const form = h(
    'form',
    {
      class: `action-form ${className ?? ''}`,
      'aria-label': label,
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        try {
          const result = await action(new FormData(form), form);
          if (result instanceof Node) replace(output, result);
          else replace(output, result ? notice('ok', result) : '');
        } catch (error) {
          replace(output, notice('error', error.message));
        } finally {
          button.disabled = false;
        }
      },
    },
    h('div', { class: 'fields' }, fields),
    h('div', { class: 'actions' }, button),
    output,
  );
  return form;
}

/** Messages as the API returns them from get/peek: payload, routing, properties. */
export function messageList(messages, describe) {
  if (!messages.length) return notice('info', 'No messages.');
  return h(
    'ol',
    { class: 'messages' },
    messages.map((m, i) => {
      const { meta, payload, encoding } = describe(m, i);
      return h(
        'li',
        { class: 'message' },
        h(
          'p',
          { class: 'meta' },
          meta.map(([k, v]) => h('span', { class: 'kv' }, h('span', { class: 'k' }, `${k}:`), ' ', v)),
        ),
        h('pre', { class: 'payload', dataset: { encoding } }, payload),
      );
    }),
  );
}

export function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text);
}

export function link(href, text) {
  return h('a', { href }, text);
}
