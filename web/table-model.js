// @ts-check
// Which rows a table shows, in which order, under which headers (protocol.md §1.2 table fields).
// Pure, so the ordering rules are tested without a browser. A table keeps up to 100,000 live
// rows but shows max_rows (100 by default), so the visible rows are selected, not fully sorted.

const collator = new Intl.Collator('en', { numeric: true });

/** @typedef {[string, Record<string, unknown>]} RowEntry  a row and its key */

/**
 * A row's own value for a column: rows are arbitrary JSON objects, and a column named
 * "constructor" or "__proto__" must not reach Object.prototype.
 * @param {Record<string, unknown>} row
 * @param {string} col
 * @returns {unknown}
 */
export function cell(row, col) {
  return Object.prototype.hasOwnProperty.call(row, col) ? row[col] : undefined;
}

/**
 * "Key order" for sort_by null: numeric-aware, so "9" sorts before "10", and total, so the order
 * never depends on arrival.
 * @param {string} a
 * @param {string} b
 */
export function compareKeys(a, b) {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** @param {unknown} v */
function typeRank(v) {
  switch (typeof v) {
    case 'number': return 0;
    case 'string': return 1;
    case 'boolean': return 2;
    default: return 3;
  }
}

/**
 * Orders two non-null cell values ascending: numbers numerically, text numeric-aware, and mixed
 * types by a fixed rank (numbers, text, booleans, objects) rather than coercion.
 * @param {unknown} a
 * @param {unknown} b
 */
export function compareCells(a, b) {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return compareKeys(JSON.stringify(a) ?? '', JSON.stringify(b) ?? '');
}

/**
 * @typedef {object} Order
 * @property {string | null} sortBy  column, or null for key order
 * @property {boolean} desc          ignored for key order: sort_desc defaults to true, and a
 *                                   default that reversed key order would surprise everyone
 */

/**
 * @param {Order} order
 * @returns {(a: [string, Record<string, unknown>], b: [string, Record<string, unknown>]) => number}
 */
export function rowComparator(order) {
  const { sortBy, desc } = order;
  if (sortBy === null) return (a, b) => compareKeys(a[0], b[0]);
  return (a, b) => {
    const va = cell(a[1], sortBy);
    const vb = cell(b[1], sortBy);
    const na = va === null || va === undefined;
    const nb = vb === null || vb === undefined;
    // Rows without a value go last in both directions: they are not "smallest", they are unknown.
    if (na || nb) {
      if (!(na && nb)) return na ? 1 : -1;
    } else {
      const c = compareCells(va, vb);
      if (c !== 0) return desc ? -c : c;
    }
    return compareKeys(a[0], b[0]);
  };
}

/**
 * The first `limit` rows in `order`, without sorting all of them: O(n log limit).
 * @param {Map<string, Record<string, unknown>>} rows
 * @param {Order} order
 * @param {number} limit
 * @returns {RowEntry[]}
 */
export function selectRows(rows, order, limit) {
  return selectRowsBy(rows, rowComparator(order), limit);
}

/**
 * selectRows with a ready comparator.
 * @param {Map<string, Record<string, unknown>>} rows
 * @param {(a: RowEntry, b: RowEntry) => number} cmp
 * @param {number} limit
 * @returns {RowEntry[]}
 */
function selectRowsBy(rows, cmp, limit) {
  if (limit <= 0) return [];
  if (rows.size <= limit) return [...rows.entries()].sort(cmp);
  /** @type {RowEntry[]} */
  const top = [];
  for (const entry of rows) {
    if (top.length === limit && cmp(entry, top[limit - 1]) >= 0) continue;
    let lo = 0;
    let hi = top.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(top[mid], entry) <= 0) lo = mid + 1;
      else hi = mid;
    }
    top.splice(lo, 0, entry);
    if (top.length > limit) top.pop();
  }
  return top;
}

/**
 * The first `limit` rows of a live table in an order, kept up to date from the keys that changed
 * rather than recomputed from every row: a 10,000-row table updated 1,000 times a second would
 * otherwise be rescanned on every frame to show the same 100 rows.
 *
 * It caches the best rows, up to twice the limit, in order, under one invariant: every row it does
 * not hold ranks after every row it holds (or it holds them all). A changed row is taken out, then
 * put back only if it still ranks before the last one held; the surplus absorbs rows that drop
 * out, and only when fewer than `limit` remain is the cache refilled by a full scan.
 */
export class TopRows {
  constructor() {
    /** @type {RowEntry[]} best first */
    this.top = [];
    /** @type {Map<string, RowEntry>} key → its entry in `top` */
    this.held = new Map();
    /** `top` holds every row of the table. */
    this.complete = false;
    /** @type {Map<string, Record<string, unknown>> | null} the rows `top` was built from */
    this.source = null;
    this.orderKey = '';
    this.limit = -1;
    /** @type {(a: RowEntry, b: RowEntry) => number} */
    this.cmp = rowComparator({ sortBy: null, desc: true });
    /** Full scans done, for tests and profiling. */
    this.rebuilds = 0;
  }

  /**
   * Brings the selection up to date and returns it.
   * @param {Map<string, Record<string, unknown>>} rows  every live row by key
   * @param {Set<string>} changed  keys upserted or deleted since the last call; cleared here
   * @param {Order} order
   * @param {number} limit
   * @returns {RowEntry[]} the first `limit` rows in `order`
   */
  sync(rows, changed, order, limit) {
    if (limit <= 0) {
      changed.clear();
      this.source = null;
      return [];
    }
    const orderKey = JSON.stringify([order.sortBy, order.desc]);
    // Another table (a snapshot replaced the state), another order or limit, or so many changes
    // that one scan is cheaper than applying them one by one.
    if (rows !== this.source || orderKey !== this.orderKey || limit !== this.limit || changed.size > rows.size / 4) {
      this.source = rows;
      this.orderKey = orderKey;
      this.limit = limit;
      this.cmp = rowComparator(order);
      this.rebuild();
    } else {
      for (const key of changed) this.apply(key);
      if (this.top.length < limit && !this.complete) this.rebuild();
    }
    changed.clear();
    return this.top.length > limit ? this.top.slice(0, limit) : this.top;
  }

  rebuild() {
    const rows = /** @type {Map<string, Record<string, unknown>>} */ (this.source);
    this.top = selectRowsBy(rows, this.cmp, this.limit * 2);
    this.complete = this.top.length === rows.size;
    this.held = new Map(this.top.map((e) => [e[0], e]));
    this.rebuilds++;
  }

  /** @param {string} key */
  apply(key) {
    const old = this.held.get(key);
    if (old !== undefined) {
      this.top.splice(this.indexOf(old), 1);
      this.held.delete(key);
    }
    const row = /** @type {Map<string, Record<string, unknown>>} */ (this.source).get(key);
    if (row === undefined) return; // deleted
    /** @type {RowEntry} */
    const entry = [key, row];
    const cap = this.limit * 2;
    if (!this.complete && !(this.top.length > 0 && this.cmp(entry, this.top[this.top.length - 1]) < 0)) {
      // It ranks after every row held, so the invariant holds without it.
      return;
    }
    this.top.splice(this.insertionPoint(entry), 0, entry);
    this.held.set(key, entry);
    if (this.top.length > cap) {
      const dropped = /** @type {RowEntry} */ (this.top.pop());
      this.held.delete(dropped[0]);
      this.complete = false;
    }
  }

  /**
   * Where `entry` goes in `top`: the comparator is total (ties fall to the key), so this is also
   * where an entry already held is.
   * @param {RowEntry} entry
   */
  insertionPoint(entry) {
    let lo = 0;
    let hi = this.top.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cmp(this.top[mid], entry) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** @param {RowEntry} entry  an entry held in `top` */
  indexOf(entry) {
    const i = this.insertionPoint(entry);
    // A comparator that is not a strict total order on odd values would miss it: look it up.
    return this.top[i] === entry ? i : this.top.indexOf(entry);
  }
}

/**
 * The columns to show: the config's list, or every column in order of first appearance.
 * @param {{columns: string[] | null}} config
 * @param {{columns: string[]}} state
 */
export function displayColumns(config, state) {
  return config.columns ?? state.columns;
}

/** What names a column, or a series, whose own name is empty or only spaces. */
export const UNNAMED = '(unnamed)';

/**
 * A column's header text: its label, else its name. A blank one (a column named "" or " ", a label
 * of "") would leave the header's sort button without a name for a screen reader, and the reader
 * without a header: the column's name stands in, or UNNAMED.
 * @param {{column_labels: Record<string, string>}} config
 * @param {string} col
 */
export function columnLabel(config, col) {
  const label = Object.prototype.hasOwnProperty.call(config.column_labels, col) ? config.column_labels[col] : col;
  if (label.trim() !== '') return label;
  return col.trim() !== '' ? col : UNNAMED;
}
