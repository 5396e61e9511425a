// @ts-check
// The browser's copy of the dashboard, kept by the server's rules (docs/protocol.md §1.3, §2, §3).
// Pure: no DOM and no timers, so every rule is pinned down by `node --test web/test/`.
// The connection feeds it server messages; the page redraws the widgets it reports as changed.

import { isPlainObject, isWidgetType, impliedType, normalizeConfig } from './config.js';
import { Series } from './series.js';
import { tableColumnsOps } from './table-columns.js';

/** @typedef {import('./config.js').WidgetConfig} WidgetConfig */
/** @typedef {import('./config.js').WidgetType} WidgetType */
/** @typedef {{value: number | null, prev: number | null, ts: number | null}} ValueState */
/**
 * A category chart (config x_type "category") keeps its x as numbers too: each category's index
 * in `categories.names`, assigned when first seen, so the series machinery stays numeric; the
 * plot shows the names.
 * @typedef {{names: string[], index: Map<string, number>}} Categories
 * `received` counts the points applied since the widget was made (snapshot points included): a
 * chart holding its view counts what arrived meanwhile from it ("paused, N new points").
 * @typedef {{series: Map<string, Series>, lastSeries: string | null, categories: Categories, received: number}} ChartState
 */
/**
 * `changed` collects the keys upserted or deleted since its reader last cleared it, so a table
 * that shows the top 100 of 10,000 rows can update its selection from the rows that changed
 * instead of rescanning all of them (table-model.js TopRows). A Set: it never holds more keys
 * than the table has, however long nobody reads it.
 * `refused` is how many keys the server's row limit left out (docs/protocol.md §1.3): the table is
 * bigger than the rows it holds.
 * @typedef {{rows: Map<string, Record<string, unknown>>, columns: string[], seen: Set<string>, changed: Set<string>, refused: number}} TableState
 */
/**
 * `asOf` is the producer's time of the widget's latest data (protocol.md §1.3 `as_of`: a Pathway
 * commit's time), null when its producer sends none.
 * @typedef {{id: string, type: 'stat' | 'gauge', config: WidgetConfig, raw: Record<string, unknown>, version: number, asOf: number | null, state: ValueState}} ValueWidget
 * @typedef {{id: string, type: 'chart', config: WidgetConfig, raw: Record<string, unknown>, version: number, asOf: number | null, state: ChartState}} ChartWidget
 * @typedef {{id: string, type: 'table', config: WidgetConfig, raw: Record<string, unknown>, version: number, asOf: number | null, state: TableState}} TableWidget
 */
/** @typedef {ValueWidget | ChartWidget | TableWidget} Widget */

/**
 * What one server message changed.
 * @typedef {object} ApplyResult
 * @property {Set<string>} changed  widgets whose config or state changed (snapshot: all of them)
 * @property {boolean} layout       the set, order, types or titles of widgets changed
 * @property {boolean} title        the dashboard title changed
 * @property {boolean} theme        the dashboard theme changed (state.theme)
 * @property {boolean} snapshot     a snapshot replaced everything
 * @property {boolean} reset        that snapshot said the old position was unusable
 * @property {boolean} gap          events were missed: reconnect without a position and discard
 *                                  the rest of this message
 * @property {number} applied       events applied (duplicates and ignored events excluded)
 */

/** @param {unknown} v */
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Warnings already given: a misfed widget would otherwise log once per event. */
const warned = new Set();

/**
 * @param {string} v
 */
const warn = (v) => {
  if (warned.has(v)) return;
  if (warned.size > 1000) warned.clear();
  warned.add(v);
  console.warn(`streamviz: ${v}`);
};

/**
 * A widget with the given config and the server's `state` (§3), or empty state.
 * @param {string} id
 * @param {WidgetType} type
 * @param {unknown} rawConfig
 * @param {unknown} rawState
 * @param {number} version
 * @returns {Widget}
 */
export function makeWidget(id, type, rawConfig, rawState, version) {
  const config = normalizeConfig(id, type, rawConfig);
  // The config as the server sent it, every field kept: exports carry it as /api/widgets does.
  const raw = isPlainObject(rawConfig) ? rawConfig : {};
  const st = isPlainObject(rawState) ? rawState : {};
  if (type === 'chart') {
    /** @type {ChartWidget} */
    const w = { id, type, config, raw, version, asOf: num(st.as_of), state: { series: new Map(), lastSeries: null, categories: { names: [], index: new Map() }, received: 0 } };
    addPoints(w, '', st.points, 'append');
    if (isPlainObject(st.series)) {
      for (const [name, pts] of Object.entries(st.series)) addPoints(w, name, pts, 'append');
    }
    const first = [...w.state.series.values()].find((s) => s.length > 0);
    w.state.lastSeries = w.state.series.get('')?.length ? '' : first ? first.name : null;
    return w;
  }
  if (type === 'table') {
    /** @type {TableWidget} */
    const w = { id, type, config, raw, version, asOf: num(st.as_of), state: { rows: new Map(), columns: [], seen: new Set(), changed: new Set(), refused: num(st.refused) ?? 0 } };
    if (isPlainObject(st.rows)) {
      for (const [key, row] of Object.entries(st.rows)) upsertRow(w.state, key, row);
    }
    return w;
  }
  return { id, type, config, raw, version, asOf: num(st.as_of), state: { value: num(st.value), prev: num(st.prev), ts: num(st.ts) } };
}

/**
 * Applies a batch of chart points to one series, creating it, then trims it (§1.3).
 * @param {ChartWidget} w
 * @param {string} name
 * @param {unknown} points
 * @param {'append' | 'upsert'} mode
 * @param {unknown} [remove]
 */
function addPoints(w, name, points, mode, remove) {
  let s = w.state.series.get(name);
  const hasPoints = Array.isArray(points) && points.length > 0;
  if (!s) {
    // Removing from a series that does not exist is a no-op; an empty series would only add a
    // legend entry with nothing behind it.
    if (!hasPoints) return;
    s = new Series(name);
    w.state.series.set(name, s);
  }
  const category = w.config.x_type === 'category';
  const cats = w.state.categories;
  if (Array.isArray(remove) && remove.length) {
    s.remove(new Set(category
      ? remove.flatMap((x) => (typeof x === 'string' && cats.index.has(x) ? [/** @type {number} */ (cats.index.get(x))] : []))
      : remove.filter((x) => typeof x === 'number')));
  }
  if (hasPoints) {
    let added = false;
    for (const p of /** @type {unknown[]} */ (points)) {
      if (!Array.isArray(p)) continue;
      const x = category ? categoryIndex(cats, p[0]) : num(p[0]);
      if (x === null) continue;
      const y = num(p[1]);
      // A category's upsert replaces its newest point or adds it after the others (§1.3).
      if (mode === 'upsert') category ? s.upsertLast(x, y) : s.upsert(x, y);
      else s.append(x, y);
      added = true;
      w.state.received++;
    }
    if (added) w.state.lastSeries = name;
  }
  s.trim(w.config.max_points);
  if (category && cats.names.length > 256 + 2 * chartPoints(w)) compactCategories(w);
  // The server drops a named series left empty (a snapshot would not list it); the default one
  // only disappears from the legend.
  if (s.length === 0) {
    w.state.series.delete(name);
    if (w.state.lastSeries === name) w.state.lastSeries = null;
  }
}

/**
 * Appends a columnar update's points (§2.2 `cols`: n, then x and y as base64 of little-endian
 * float64, or from a binary frame (§2.4, frames.js) the bytes themselves; a NaN y is a gap) to one
 * series: decoded straight from the bytes, no per-point objects, and only the points the series
 * keeps are stored.
 * @param {ChartWidget} w
 * @param {string} name
 * @param {Record<string, unknown>} cols
 */
function addColumns(w, name, cols) {
  const n = typeof cols.n === 'number' && Number.isInteger(cols.n) && cols.n > 0 ? cols.n : 0;
  const xb = columnBytes(cols.x);
  const yb = columnBytes(cols.y);
  if (n === 0 || !xb || !yb || xb.length !== 8 * n || yb.length !== 8 * n || w.config.x_type === 'category') return;
  let s = w.state.series.get(name);
  if (!s) {
    s = new Series(name);
    w.state.series.set(name, s);
  }
  const xv = new DataView(xb.buffer, xb.byteOffset, xb.length);
  const yv = new DataView(yb.buffer, yb.byteOffset, yb.length);
  const keep = Math.min(n, w.config.max_points);
  for (let i = n - keep; i < n; i++) {
    const y = yv.getFloat64(8 * i, true);
    s.append(xv.getFloat64(8 * i, true), Number.isNaN(y) ? null : y);
  }
  w.state.received += n;
  w.state.lastSeries = name;
  s.trim(w.config.max_points);
}

/**
 * A column's bytes: a binary frame's view as it is, a text frame's base64 decoded.
 * @param {unknown} col
 * @returns {Uint8Array | null}
 */
function columnBytes(col) {
  if (col instanceof Uint8Array) return col;
  return typeof col === 'string' ? base64Bytes(col) : null;
}

/**
 * The bytes of a base64 string: the browser's own decoder where it has one (Chromium 140+).
 * @param {string} text
 * @returns {Uint8Array | null}
 */
export function base64Bytes(text) {
  const U8 = /** @type {{fromBase64?: (s: string) => Uint8Array}} */ (/** @type {unknown} */ (Uint8Array));
  try {
    if (typeof U8.fromBase64 === 'function') return U8.fromBase64(text);
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/**
 * @param {ChartWidget} w
 */
function chartPoints(w) {
  let n = 0;
  for (const s of w.state.series.values()) n += s.length;
  return n;
}

/**
 * Forgets the categories no point holds any more (trimmed or removed), keeping the others' order,
 * so a chart whose categories keep changing holds a bounded dictionary.
 * @param {ChartWidget} w
 */
function compactCategories(w) {
  const cats = w.state.categories;
  /** @type {Set<number>} */
  const live = new Set();
  for (const s of w.state.series.values()) for (let i = s.head; i < s.xs.length; i++) live.add(s.xs[i]);
  /** @type {Map<number, number>} */
  const remap = new Map();
  /** @type {string[]} */
  const names = [];
  cats.names.forEach((name, i) => {
    if (!live.has(i)) return;
    remap.set(i, names.length);
    names.push(name);
  });
  for (const s of w.state.series.values()) {
    s.compact();
    s.xs = s.xs.map((x) => /** @type {number} */ (remap.get(x)));
  }
  cats.names = names;
  cats.index = new Map(names.map((name, i) => [name, i]));
}

/**
 * The index of a category (a string x), given one when first seen; null for anything else.
 * @param {Categories} cats
 * @param {unknown} x
 * @returns {number | null}
 */
function categoryIndex(cats, x) {
  if (typeof x !== 'string') return null;
  let i = cats.index.get(x);
  if (i === undefined) {
    i = cats.names.length;
    cats.names.push(x);
    cats.index.set(x, i);
  }
  return i;
}

/**
 * @param {TableState} t
 * @param {string} key
 * @param {unknown} row
 */
function upsertRow(t, key, row) {
  if (!isPlainObject(row)) return;
  t.rows.set(key, row);
  t.changed.add(key);
  for (const col of Object.keys(row)) {
    if (!t.seen.has(col)) {
      t.seen.add(col);
      t.columns.push(col);
    }
  }
}

/**
 * Keys are strings; numbers become their decimal text (§1.3).
 * @param {unknown} k
 */
function tableKey(k) {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' && Number.isFinite(k)) return String(k);
  return null;
}

/**
 * Folds a normalized data update into a widget (§2.2, applied with §1.3's rules).
 * @param {Widget} w
 * @param {Record<string, unknown>} data
 * @returns {boolean} whether the data fit the widget's type
 */
export function applyData(w, data) {
  if (!applyShape(w, data)) return false;
  // The latest as-of wins, as on the server: a late or replayed message never moves it back.
  const asOf = num(data.as_of);
  if (asOf !== null && (w.asOf === null || asOf > w.asOf)) w.asOf = asOf;
  return true;
}

/**
 * @param {Widget} w
 * @param {Record<string, unknown>} data
 */
function applyShape(w, data) {
  if (w.type === 'stat' || w.type === 'gauge') {
    if (!('value' in data)) return false;
    // The event's prev is the widget's (the server may have sent only the latest of several
    // values); without one (an older server), the value this page showed before.
    w.state.prev = 'prev' in data ? num(data.prev) : w.state.value;
    w.state.value = num(data.value);
    w.state.ts = num(data.ts);
    return true;
  }
  if (w.type === 'chart') {
    // Producers' raw single-point shape is accepted too, though the server normalizes it away.
    const name = typeof data.series === 'string' ? data.series : '';
    if (isPlainObject(data.cols)) {
      addColumns(w, name, data.cols);
      return true;
    }
    const points = 'points' in data ? data.points : 'x' in data ? [[data.x, data.y]] : undefined;
    if (points === undefined && !('remove' in data)) return false;
    addPoints(w, name, points, data.mode === 'upsert' ? 'upsert' : 'append', data.remove);
    return true;
  }
  if (w.type !== 'table') return false;
  // A binary frame's columnar table update (§2.4 `tcols`, read by frames.js) stands for its ops.
  const tcols = isPlainObject(data.tcols) && data.tcols.msg instanceof Uint8Array ? data.tcols.msg : null;
  const ops = tcols ? tableColumnsOps(tcols) : Array.isArray(data.ops) ? data.ops : 'key' in data ? [data] : null;
  if (!ops) return false;
  if ('refused' in data) w.state.refused = num(data.refused) ?? 0;
  for (const op of ops) {
    if (!isPlainObject(op)) continue;
    const key = tableKey(op.key);
    if (key === null) continue;
    if (op.delete === true) {
      if (w.state.rows.delete(key)) w.state.changed.add(key);
    } else upsertRow(w.state, key, op.row);
  }
  return true;
}

export class DashboardState {
  /**
   * @param {{filtered?: boolean}} [opts] filtered: the socket carries one widget's events only
   *   (embed mode), so `prev` refers to events this client never sees and cannot reveal gaps.
   */
  constructor(opts = {}) {
    this.filtered = !!opts.filtered;
    /** @type {string | null} */
    this.epoch = null;
    /** @type {number | null} */
    this.seq = null;
    this.title = '';
    /** The dashboard's normalized theme (protocol.md §1.1), null for the default. @type {Record<string, unknown> | null} */
    this.theme = null;
    /** @type {Map<string, Widget>} */
    this.widgets = new Map();
    /** Bumped on every applied event and stamped on the widgets it changed, so a consumer that
     * polls (rather than following ApplyResult.changed) can tell what is new since it looked. */
    this.version = 0;
  }

  /** The position to resume from, or null before the first snapshot. */
  position() {
    return this.epoch !== null && this.seq !== null ? { epoch: this.epoch, seq: this.seq } : null;
  }

  /**
   * Applies one server message (a JSON array of events), in order.
   * @param {unknown} events
   * @returns {ApplyResult}
   */
  apply(events) {
    /** @type {ApplyResult} */
    const res = { changed: new Set(), layout: false, title: false, theme: false, snapshot: false, reset: false, gap: false, applied: 0 };
    if (!Array.isArray(events)) {
      warn('a server message is not an array; resynchronising');
      res.gap = true;
      return res;
    }
    for (const ev of events) {
      if (!isPlainObject(ev)) continue;
      if (!this.applyEvent(ev, res)) {
        res.gap = true;
        break;
      }
    }
    return res;
  }

  /**
   * @param {Record<string, unknown>} ev
   * @param {ApplyResult} res
   * @returns {boolean} false on a gap
   */
  applyEvent(ev, res) {
    if (ev.type === 'snapshot') {
      this.applySnapshot(ev, res);
      return true;
    }
    if (ev.type === 'resumed') {
      // Events follow from the server's `seq`; past ours they would skip some, and another epoch
      // means another store. Neither should happen for a position the server chose to resume.
      const seq = num(ev.seq);
      if (ev.epoch !== this.epoch || seq === null || this.seq === null || seq > this.seq) {
        warn('resumed at a position this page does not hold; resynchronising');
        return false;
      }
      return true;
    }
    const seq = num(ev.seq);
    if (seq === null) return true;
    if (this.seq === null) return false; // events before any snapshot cannot be placed
    if (seq <= this.seq) return true; // a duplicate
    if (!this.filtered && ev.prev !== this.seq) return false;
    this.seq = seq;
    this.version++;
    if (ev.type === 'data') this.applyDataEvent(ev, res);
    else if (ev.type === 'config') this.applyConfigEvent(ev, res);
    else if (ev.type === 'remove') this.applyRemoveEvent(ev, res);
    else if (ev.type === 'title') {
      if (typeof ev.title === 'string' && ev.title !== this.title) {
        this.title = ev.title;
        res.title = true;
      }
      this.setTheme(ev.theme, res);
      res.applied++;
    }
    // Unknown event types still advance the position: they are part of the log.
    return true;
  }

  /**
   * @param {unknown} theme
   * @param {ApplyResult} res
   */
  setTheme(theme, res) {
    const next = isPlainObject(theme) ? theme : null;
    if (JSON.stringify(next) !== JSON.stringify(this.theme)) {
      this.theme = next;
      res.theme = true;
    }
  }

  /**
   * @param {Record<string, unknown>} ev
   * @param {ApplyResult} res
   */
  applySnapshot(ev, res) {
    this.version++;
    this.epoch = typeof ev.epoch === 'string' ? ev.epoch : null;
    this.seq = num(ev.seq);
    const title = typeof ev.title === 'string' ? ev.title : '';
    res.title = res.title || title !== this.title;
    this.title = title;
    this.setTheme(ev.theme, res);
    const old = this.widgets;
    this.widgets = new Map();
    if (Array.isArray(ev.widgets)) {
      for (const item of ev.widgets) {
        if (!isPlainObject(item) || typeof item.id !== 'string') continue;
        const cfg = isPlainObject(item.config) ? item.config : {};
        const type = isWidgetType(cfg.type) ? cfg.type : null;
        if (!type) {
          warn(`widget ${JSON.stringify(item.id)} has unknown type ${JSON.stringify(cfg.type)}`);
          continue;
        }
        this.widgets.set(item.id, makeWidget(item.id, type, cfg, item.state, this.version));
        res.changed.add(item.id);
      }
    }
    for (const id of old.keys()) if (!this.widgets.has(id)) res.changed.add(id);
    res.snapshot = true;
    res.reset = ev.reset === true;
    res.layout = true;
    res.applied++;
  }

  /**
   * A widget was removed (protocol.md §2.2): its card goes at once; a later config or data for
   * the same id starts a new widget from nothing.
   * @param {Record<string, unknown>} ev
   * @param {ApplyResult} res
   */
  applyRemoveEvent(ev, res) {
    if (typeof ev.id !== 'string' || !this.widgets.delete(ev.id)) return;
    res.changed.add(ev.id);
    res.layout = true;
    res.applied++;
  }

  /**
   * @param {Record<string, unknown>} ev
   * @param {ApplyResult} res
   */
  applyDataEvent(ev, res) {
    const id = ev.id;
    const data = ev.data;
    if (typeof id !== 'string' || !isPlainObject(data)) return;
    let w = this.widgets.get(id);
    if (!w) {
      // The server creates a widget from its first data without sending a config (§1).
      const type = impliedType(data);
      if (!type) return;
      w = makeWidget(id, type, {}, null, this.version);
      this.widgets.set(id, w);
      res.layout = true;
    }
    if (!applyData(w, data)) {
      warn(`data for ${JSON.stringify(id)} does not fit its type ${w.type}`);
      return;
    }
    w.version = this.version;
    res.changed.add(id);
    res.applied++;
  }

  /**
   * @param {Record<string, unknown>} ev
   * @param {ApplyResult} res
   */
  applyConfigEvent(ev, res) {
    const id = ev.id;
    const cfg = ev.config;
    if (typeof id !== 'string' || !isPlainObject(cfg) || !isWidgetType(cfg.type)) return;
    const old = this.widgets.get(id);
    // The event carries the full state after the change, which replaces ours (§2.2).
    const w = makeWidget(id, cfg.type, cfg, ev.state, this.version);
    this.widgets.set(id, w);
    if (!old || old.type !== w.type || old.config.order !== w.config.order || old.config.title !== w.config.title) {
      res.layout = true;
    }
    res.changed.add(id);
    res.applied++;
  }
}
