// @ts-check
// Export of what the page holds (protocol.md §4.1): a widget as /api/widgets/{widget} serves it
// (config and state), as CSV by the same rules as the server's data.csv (RFC 4180, CRLF, a
// header row, formula injection neutralised), and the whole dashboard as /api/dashboard.json.
// Pure: no DOM, so node --test pins the rules; download() is the one DOM helper.

/** @typedef {import('./state.js').Widget} Widget */
/** @typedef {import('./state.js').DashboardState} DashboardState */

/**
 * The widget's config and state in the server's encoding (gateway/widget.go appendState).
 * @param {Widget} w
 * @returns {{config: Record<string, unknown>, state: Record<string, unknown>}}
 */
export function widgetJSON(w) {
  const out = shapeJSON(w);
  // As the server's state (protocol.md §3): the as-of last, when the widget has one.
  if (w.asOf !== null) out.state.as_of = w.asOf;
  return out;
}

/**
 * @param {Widget} w
 * @returns {{config: Record<string, unknown>, state: Record<string, unknown>}}
 */
function shapeJSON(w) {
  const config = { ...w.raw, id: w.id };
  if (w.type === 'chart') {
    const cat = w.config.x_type === 'category';
    const names = w.state.categories.names;
    /** @param {import('./series.js').Series | undefined} s */
    const pts = (s) => (s ? s.points().map(([x, y]) => [cat ? names[x] : x, y]) : []);
    /** @type {Record<string, unknown>} */
    const state = { points: pts(w.state.series.get('')) };
    const named = [...w.state.series.keys()].filter((n) => n !== '').sort(byBytes);
    if (named.length) {
      // fromEntries, not assignment: a series named __proto__ would set the prototype and vanish.
      state.series = Object.fromEntries(named.map((n) => [n, pts(w.state.series.get(n))]));
    }
    return { config, state };
  }
  if (w.type === 'table') {
    const rows = Object.fromEntries([...w.state.rows.keys()].sort(byBytes).map((k) => [k, w.state.rows.get(k)]));
    /** @type {Record<string, unknown>} */
    const state = { rows };
    if (w.state.refused > 0) state.refused = w.state.refused;
    return { config, state };
  }
  return { config, state: { value: w.state.value, prev: w.state.prev, ts: w.state.ts } };
}

/**
 * The whole dashboard as /api/dashboard.json: the snapshot a fresh browser gets.
 * @param {DashboardState} st
 * @param {Widget[]} widgets  in display order
 */
export function dashboardJSON(st, widgets) {
  return {
    type: 'snapshot', epoch: st.epoch, seq: st.seq, reset: false, title: st.title, theme: st.theme,
    widgets: widgets.map((w) => ({ id: w.id, ...widgetJSON(w) })),
  };
}

/**
 * Go's sort.Strings order (bytes of UTF-8), which for the strings ids and keys are is the order
 * of code points.
 * @param {string} a
 * @param {string} b
 */
function byBytes(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = /** @type {number} */ (x[i].codePointAt(0)) - /** @type {number} */ (y[i].codePointAt(0));
    if (d) return d;
  }
  return x.length - y.length;
}

/**
 * A text cell a spreadsheet would evaluate (it begins with =, +, -, an at sign, a tab or a carriage
 * return) gets a leading apostrophe (OWASP "CSV injection"), and so does each part of it after a
 * ';': a spreadsheet whose list separator is ';' splits the line there, quotes or not.
 * @param {string} s
 */
export function neutralize(s) {
  return s.replace(/(^|;)([=+\-@\t\r])/g, "$1'$2");
}

/**
 * A JSON value as a cell: text as is (neutralised), null or absent empty, a number as written,
 * anything else as its JSON (neutralised).
 * @param {unknown} v
 */
export function csvCell(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return neutralize(v);
  if (typeof v === 'number') return JSON.stringify(v);
  return neutralize(JSON.stringify(v));
}

// encoding/csv quotes a field holding a comma, a quote, CR or LF, one that begins with a space
// (unicode.IsSpace), and `\.`.
const SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** @param {string} f */
function field(f) {
  if (f === '') return f;
  if (f === '\\.' || /[,"\r\n]/.test(f) || SPACE.test(f)) return `"${f.replaceAll('"', '""')}"`;
  return f;
}

/** @param {string[][]} records */
function records(records) {
  return records.map((r) => `${r.map(field).join(',')}\r\n`).join('');
}

/**
 * The widget's CSV, as GET /api/widgets/{widget}/data.csv writes it:
 * stat, gauge: value,prev,ts; chart: series,x,y (the default series first, as ""), one row per
 * point; table: key and the config's columns (or every column a row has, sorted), rows by key.
 * @param {{config: Record<string, unknown>, state: Record<string, unknown>}} e  widgetJSON's result
 */
export function widgetCSV(e) {
  const st = e.state;
  const type = e.config.type;
  if (type === 'stat' || type === 'gauge') {
    return records([['value', 'prev', 'ts'], [csvCell(st.value), csvCell(st.prev), csvCell(st.ts)]]);
  }
  if (type === 'chart') {
    const out = [['series', 'x', 'y']];
    /**
     * @param {string} name
     * @param {unknown} pts
     */
    const add = (name, pts) => {
      if (!Array.isArray(pts)) return;
      for (const p of pts) out.push([neutralize(name), csvCell(p?.[0]), csvCell(p?.[1])]);
    };
    add('', st.points);
    const series = /** @type {Record<string, unknown>} */ (st.series ?? {});
    for (const name of Object.keys(series).sort(byBytes)) add(name, series[name]);
    return records(out);
  }
  const rows = /** @type {Record<string, Record<string, unknown>>} */ (st.rows ?? {});
  let cols = Array.isArray(e.config.columns) && e.config.columns.length
    ? /** @type {string[]} */ (e.config.columns)
    : null;
  if (!cols) {
    const seen = new Set();
    for (const row of Object.values(rows)) for (const c of Object.keys(row)) seen.add(c);
    cols = [...seen].sort(byBytes);
  }
  const out = [['key', ...cols.map(neutralize)]];
  for (const k of Object.keys(rows).sort(byBytes)) {
    out.push([neutralize(k), ...cols.map((c) => csvCell(rows[k][c]))]);
  }
  return records(out);
}

/**
 * Saves data as a file the browser downloads.
 * @param {Blob} blob
 * @param {string} name
 */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The browser starts the download after this task, reading the blob through its URL: revoked at
  // once, a busy browser can find it gone and download nothing. A minute is long enough, and the
  // blob is freed then.
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
}

/** How long a download's blob URL stays valid (ms). */
export const REVOKE_AFTER_MS = 60_000;
