// @ts-check
// Which rows a table shows, in which order, under which headers (protocol.md §1.2 table fields).
// Pure, so the ordering rules are tested without a browser. A table keeps up to 100,000 live
// rows but shows max_rows (100 by default), so the visible rows are selected, not fully sorted.

const collator = new Intl.Collator('en', { numeric: true });

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
 * @returns {[string, Record<string, unknown>][]}
 */
export function selectRows(rows, order, limit) {
  const cmp = rowComparator(order);
  if (limit <= 0) return [];
  if (rows.size <= limit) return [...rows.entries()].sort(cmp);
  /** @type {[string, Record<string, unknown>][]} */
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
 * The columns to show: the config's list, or every column in order of first appearance.
 * @param {{columns: string[] | null}} config
 * @param {{columns: string[]}} state
 */
export function displayColumns(config, state) {
  return config.columns ?? state.columns;
}

/**
 * @param {{column_labels: Record<string, string>}} config
 * @param {string} col
 */
export function columnLabel(config, col) {
  return Object.prototype.hasOwnProperty.call(config.column_labels, col) ? config.column_labels[col] : col;
}
