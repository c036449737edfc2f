/**
 * RabbitMQ's list conventions (rabbit_mgmt_util): `sort=` (a dotted field) with `sort_reverse=`,
 * pagination (`page`, `page_size` ≤ 500, `name`, `use_regex`) replying
 * {filtered_count,item_count,items,page,page_count,page_size,total_count}, and `columns=a,b.c`.
 */
import { badRequest } from './errors.js';

export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 100;

type Item = Record<string, unknown>;

export function fieldAt(item: unknown, path: readonly string[]): unknown {
  let value = item;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Item)[key];
  }
  return value;
}

export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = typeof a === 'string' ? a : JSON.stringify(a);
  const sb = typeof b === 'string' ? b : JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Keeps only the named columns (dotted paths keep nested fields). */
export function selectColumns(item: Item, columns: readonly string[]): Item {
  const out: Item = {};
  for (const column of columns) {
    const path = column.split('.');
    const value = fieldAt(item, path);
    if (value === undefined) continue;
    let target = out;
    for (const key of path.slice(0, -1)) {
      target[key] ??= {};
      target = target[key] as Item;
    }
    target[path[path.length - 1]!] = value;
  }
  return out;
}

export function positiveInt(query: URLSearchParams, key: string, fallback: number): number {
  const raw = query.get(key);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw badRequest(`${key} must be a positive integer`);
  return Number(raw);
}

/** Applies sort, filter, pagination and columns to a list reply. */
export function listReply(items: Item[], query: URLSearchParams): unknown {
  const sort = query.get('sort');
  let list = items;
  if (sort) {
    const path = sort.split('.');
    list = [...items].sort((a, b) => compareValues(fieldAt(a, path), fieldAt(b, path)));
  }
  if (query.get('sort_reverse') === 'true') list = sort ? list.reverse() : [...list].reverse();
  const columnsParam = query.get('columns');
  const columns = columnsParam ? columnsParam.split(',').filter((c) => c !== '') : undefined;
  const project = (rows: Item[]) => (columns ? rows.map((r) => selectColumns(r, columns)) : rows);
  const paginated = query.has('page') || query.get('pagination') === 'true';
  if (!paginated) return project(list);
  const page = positiveInt(query, 'page', 1);
  const pageSize = positiveInt(query, 'page_size', DEFAULT_PAGE_SIZE);
  if (pageSize > MAX_PAGE_SIZE) throw badRequest(`page_size must be at most ${MAX_PAGE_SIZE}`);
  const name = query.get('name') ?? '';
  let filtered = list;
  if (name !== '') {
    if (query.get('use_regex') === 'true') {
      let pattern: RegExp;
      try {
        pattern = new RegExp(name);
      } catch {
        throw badRequest(`invalid regular expression '${name}'`);
      }
      filtered = list.filter((i) => pattern.test(String(i.name ?? '')));
    } else {
      const lower = name.toLowerCase();
      filtered = list.filter((i) =>
        String(i.name ?? '')
          .toLowerCase()
          .includes(lower),
      );
    }
  }
  const pageCount = Math.max(1, Math.ceil(filtered.length / pageSize));
  if (page > pageCount) throw badRequest(`page ${page} is beyond the last page (${pageCount})`);
  const rows = filtered.slice((page - 1) * pageSize, page * pageSize);
  return {
    filtered_count: filtered.length,
    item_count: rows.length,
    items: project(rows),
    page,
    page_count: pageCount,
    page_size: pageSize,
    total_count: items.length,
  };
}

/** `columns=` on a single object. */
export function objectReply(item: Item, query: URLSearchParams): Item {
  const columnsParam = query.get('columns');
  return columnsParam
    ? selectColumns(
        item,
        columnsParam.split(',').filter((c) => c !== ''),
      )
    : item;
}
