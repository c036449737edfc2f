/**
 * Lists of thousands of objects without blocking the event loop: sort and filter on cheap keys
 * read straight from the model, build full views only for the page asked for, and send an
 * unpaginated list as a JSON array written in time-boxed chunks with the event loop let run in
 * between (10,000 queue views are ~9 MB and hundreds of milliseconds of work done at once).
 * Same conventions and replies as query.ts's listReply.
 */
import { badRequest } from './errors.js';
import {
  compareValues,
  DEFAULT_PAGE_SIZE,
  fieldAt,
  MAX_PAGE_SIZE,
  positiveInt,
  selectColumns,
} from './query.js';

type Item = Record<string, unknown>;

/** Work done between two turns of the event loop, at most. */
const SLICE_BUDGET_MS = 4;
/**
 * A write whose promise took longer than this to settle waited for the client (`drain`): the event
 * loop ran meanwhile, so the work before it no longer counts against the budget (one that did not
 * wait settles within microseconds).
 */
const WAITED_MS = 0.5;

export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The rows of a list, how to build one row's JSON, and the fields readable without building it. */
export interface ListSource<T> {
  readonly rows: readonly T[];
  readonly view: (row: T) => Item;
  /**
   * Fields (sort= paths) read from the row itself, with the same values the view holds; `name`
   * is required (the `name=` filter). A sort on any other field builds every view first.
   */
  readonly keys: { readonly name: (row: T) => string } & Readonly<Record<string, (row: T) => unknown>>;
  /**
   * The row's JSON, the same as JSON.stringify(view(row)) but cheaper (no object per row; UTF-8
   * bytes may be cached with the row);
   * used for a full list without columns=.
   */
  readonly json?: (row: T) => string | Buffer;
}

/** A row with its view once built (for a sort on a field only the view has). */
interface Entry<T> {
  readonly row: T;
  item: Item | undefined;
}

/** Rows in a slice: the unit of a write and of the slice cache. */
export const ROWS_PER_SLICE = 500;

/** A slice as last written: its rows' JSON (the same Buffer objects while unchanged) and the joined bytes. */
interface CachedSlice {
  readonly rows: readonly Buffer[];
  readonly bytes: Buffer;
}

/**
 * Slices of lists whose rows' JSON is cached as Buffers (a queue's JSON while its numbers are
 * unchanged, views.ts queueJson), keyed by the slice's first row object. A slice is reused only
 * when every row's Buffer is the very object it was joined from, so another list (a vhost, a sort)
 * starting a slice at the same row costs a rewrite, never a wrong row.
 */
const cachedSlices = new WeakMap<object, CachedSlice>();

/**
 * An unpaginated list reply: http-server.ts writes it as a JSON array, a slice of 500 rows per
 * write; the event loop runs between slices whenever building them took longer than the budget.
 * Slices whose rows are unchanged since the last listing are written from cache (no copy). Each
 * write may wait for the client to read (util/http-body.ts: backpressure), so a slow client holds
 * back the building of further slices rather than the broker queueing the whole list for it.
 */
export class JsonArrayStream {
  constructor(
    readonly count: number,
    /** The item's JSON, as text or UTF-8. */
    private readonly jsonAt: (index: number) => string | Buffer,
    /** The object the item is the JSON of (for the slice cache); without it, nothing is cached. */
    private readonly rowAt?: (index: number) => object,
  ) {}

  /** Whether the whole array fits one slice (then `whole()` builds it at once). */
  get isSmall(): boolean {
    return this.count <= ROWS_PER_SLICE;
  }

  /** The whole array as one Buffer (for a list of at most one slice). */
  whole(): Buffer {
    return this.count === 0 ? EMPTY : Buffer.concat([OPEN, this.slice(0, this.count), CLOSE]);
  }

  /**
   * Writes the array through `write`, awaiting each write (it resolves when the client may take
   * more, false once the client has gone: then nothing more is built or written).
   */
  async writeTo(write: (bytes: Buffer) => Promise<boolean>): Promise<void> {
    if (!(await write(OPEN))) return;
    // Only this list's own work since the event loop last ran counts against the budget: yielding
    // after a write that waited for the client costs a turn for nothing, and under load each turn
    // is 5–25 ms of other sockets' work.
    let busyMs = 0;
    const send = async (bytes: Buffer): Promise<boolean> => {
      const called = performance.now();
      const written = write(bytes);
      const returned = performance.now();
      busyMs += returned - called;
      const more = await written;
      if (performance.now() - returned > WAITED_MS) busyMs = 0;
      return more;
    };
    for (let start = 0; start < this.count; start += ROWS_PER_SLICE) {
      const end = Math.min(this.count, start + ROWS_PER_SLICE);
      if (start > 0 && !(await send(COMMA))) return;
      const buildStarted = performance.now();
      const bytes = this.slice(start, end);
      busyMs += performance.now() - buildStarted;
      if (!(await send(bytes))) return;
      if (end < this.count && busyMs >= SLICE_BUDGET_MS) {
        await yieldToEventLoop();
        busyMs = 0;
      }
    }
    await write(CLOSE);
  }

  /** Rows start…end-1 joined with commas, from the cache when every row is unchanged. */
  private slice(start: number, end: number): Buffer {
    const rows: Buffer[] = [];
    let cacheable = this.rowAt !== undefined;
    for (let i = start; i < end; i++) {
      const json = this.jsonAt(i);
      if (typeof json === 'string') cacheable = false;
      rows.push(typeof json === 'string' ? Buffer.from(json, 'utf8') : json);
    }
    const key = cacheable ? this.rowAt!(start) : undefined;
    const cached = key && cachedSlices.get(key);
    // Reused without touching the rows' Buffers (under load each is a cache miss).
    if (cached && sameRows(cached.rows, rows)) return cached.bytes;
    let sizeBytes = rows.length - 1;
    for (const row of rows) sizeBytes += row.length;
    const bytes = Buffer.allocUnsafe(sizeBytes);
    let at = 0;
    for (let i = 0; i < rows.length; i++) {
      if (i > 0) bytes[at++] = COMMA_BYTE;
      at += rows[i]!.copy(bytes, at);
    }
    if (key) cachedSlices.set(key, { rows, bytes });
    return bytes;
  }
}

/**
 * A JSON object (a definitions export) written member by member: each array longer than a slice
 * as a JsonArrayStream (time-boxed, one write per slice), the rest as they stringify. The same
 * text as JSON.stringify(object), without building 10,000 queues' text in one turn of the loop.
 */
export class JsonObjectStream {
  private readonly members: ReadonlyArray<readonly [string, unknown]>;

  constructor(private readonly object: Readonly<Record<string, unknown>>) {
    // As JSON.stringify: members whose value has no JSON (undefined, a function, a symbol) are left
    // out — judged by type, not by stringifying them (that would build every long array at once).
    this.members = Object.entries(object).filter(
      ([, value]) => value !== undefined && typeof value !== 'function' && typeof value !== 'symbol',
    );
  }

  /** Whether no member is a long array (then `whole()` builds it at once). */
  get isSmall(): boolean {
    return this.members.every(([, value]) => !Array.isArray(value) || value.length <= ROWS_PER_SLICE);
  }

  whole(): Buffer {
    return Buffer.from(JSON.stringify(this.object), 'utf8');
  }

  /** As JsonArrayStream.writeTo. */
  async writeTo(write: (bytes: Buffer) => Promise<boolean>): Promise<void> {
    for (let i = 0; i < this.members.length; i++) {
      const [key, value] = this.members[i]!;
      const head = `${i === 0 ? '{' : ','}${JSON.stringify(key)}:`;
      if (Array.isArray(value) && value.length > ROWS_PER_SLICE) {
        if (!(await write(Buffer.from(head, 'utf8')))) return;
        // An array element without JSON is null, as JSON.stringify writes it.
        await new JsonArrayStream(value.length, (at) => JSON.stringify(value[at]) ?? 'null').writeTo(write);
      } else if (!(await write(Buffer.from(head + JSON.stringify(value), 'utf8')))) return;
    }
    await write(this.members.length === 0 ? EMPTY_OBJECT : CLOSE_OBJECT);
  }
}

function sameRows(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const COMMA_BYTE = 0x2c;
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');
const EMPTY = Buffer.from('[]');
const EMPTY_OBJECT = Buffer.from('{}');
const CLOSE_OBJECT = Buffer.from('}');

/** Builds every entry's view in time-boxed slices. */
async function buildAll<T>(entries: Entry<T>[], view: (row: T) => Item): Promise<void> {
  let started = performance.now();
  for (const entry of entries) {
    entry.item ??= view(entry.row);
    if (performance.now() - started >= SLICE_BUDGET_MS) {
      await yieldToEventLoop();
      started = performance.now();
    }
  }
}

/**
 * listReply's sort=/sort_reverse=, pagination (page, page_size, name, use_regex) and columns=,
 * building views only where needed: a page builds its rows' views; a full list streams.
 */
export async function lazyListReply<T>(source: ListSource<T>, query: URLSearchParams): Promise<unknown> {
  let entries: Entry<T>[] = source.rows.map((row) => ({ row, item: undefined }));
  const sort = query.get('sort');
  if (sort) {
    const cheap = source.keys[sort];
    let keyOf: (entry: Entry<T>) => unknown;
    if (cheap) keyOf = (entry) => cheap(entry.row);
    else {
      await buildAll(entries, source.view);
      const path = sort.split('.');
      keyOf = (entry) => fieldAt(entry.item, path);
    }
    const keyed = entries.map((entry) => ({ entry, key: keyOf(entry) }));
    keyed.sort((a, b) => compareValues(a.key, b.key));
    entries = keyed.map((k) => k.entry);
  }
  if (query.get('sort_reverse') === 'true') entries.reverse();
  const columnsParam = query.get('columns');
  const columns = columnsParam ? columnsParam.split(',').filter((c) => c !== '') : undefined;
  const itemOf = (entry: Entry<T>): Item => {
    const item = entry.item ?? source.view(entry.row);
    return columns ? selectColumns(item, columns) : item;
  };
  const paginated = query.has('page') || query.get('pagination') === 'true';
  if (!paginated) {
    const json = source.json;
    if (json && !columns)
      return new JsonArrayStream(
        entries.length,
        (i) => {
          const entry = entries[i]!;
          return entry.item ? JSON.stringify(entry.item) : json(entry.row);
        },
        (i) => entries[i]!.row as unknown as object,
      );
    return new JsonArrayStream(entries.length, (i) => JSON.stringify(itemOf(entries[i]!)));
  }

  const page = positiveInt(query, 'page', 1);
  const pageSize = positiveInt(query, 'page_size', DEFAULT_PAGE_SIZE);
  if (pageSize > MAX_PAGE_SIZE) throw badRequest(`page_size must be at most ${MAX_PAGE_SIZE}`);
  const filtered = filterByName(entries, source.keys.name, query);
  const pageCount = Math.max(1, Math.ceil(filtered.length / pageSize));
  if (page > pageCount) throw badRequest(`page ${page} is beyond the last page (${pageCount})`);
  const rows = filtered.slice((page - 1) * pageSize, page * pageSize);
  return {
    filtered_count: filtered.length,
    item_count: rows.length,
    items: rows.map(itemOf),
    page,
    page_count: pageCount,
    page_size: pageSize,
    total_count: source.rows.length,
  };
}

function filterByName<T>(
  entries: Entry<T>[],
  nameOf: (row: T) => string,
  query: URLSearchParams,
): Entry<T>[] {
  const name = query.get('name') ?? '';
  if (name === '') return entries;
  if (query.get('use_regex') === 'true') {
    let pattern: RegExp;
    try {
      pattern = new RegExp(name);
    } catch {
      throw badRequest(`invalid regular expression '${name}'`);
    }
    return entries.filter((e) => pattern.test(nameOf(e.row)));
  }
  const lower = name.toLowerCase();
  return entries.filter((e) => nameOf(e.row).toLowerCase().includes(lower));
}
