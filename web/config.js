// @ts-check
// Widget configs as the browser uses them: every field present and of the right type. The server
// already sends normalized configs (protocol.md §2.2), but a widget created implicitly by its
// first data event has none, and a config that arrives malformed must not break rendering, so the
// client fills and checks the same defaults (protocol.md §1.2). Pure: no DOM.

/** @typedef {'stat' | 'gauge' | 'chart' | 'table'} WidgetType */

/**
 * @typedef {object} WidgetConfig
 * @property {string} id
 * @property {WidgetType} type
 * @property {string} title
 * @property {string} dashboard
 * @property {number} order
 * @property {1 | 2 | 3 | 4 | 'full' | null} width  grid columns the card spans (null: its type's default)
 * @property {'small' | 'medium' | 'large' | number | null} height  a size name or pixels (null: its content's)
 * @property {number | null} stale_after  seconds without newer data (as_of) before the card shows itself stale (null: never)
 * @property {string} unit
 * @property {string | null} format
 * @property {string | null} color
 * @property {boolean} delta
 * @property {number} min
 * @property {number} max
 * @property {[number, string][]} thresholds
 * @property {'line' | 'area' | 'bar' | 'scatter' | 'stacked_bar' | 'stacked_area'} chart_type
 * @property {number} max_points
 * @property {'number' | 'category'} x_type  a chart's x axis: numbers and times, or text categories
 * @property {number | null} y_min  a chart's fixed y axis start (null: the data's)
 * @property {number | null} y_max  a chart's fixed y axis end (null: the data's)
 * @property {'linear' | 'log'} y_scale
 * @property {string | null} label  the name of a chart's default series (null: the title)
 * @property {string[] | null} columns
 * @property {Record<string, string>} column_labels
 * @property {Record<string, string>} column_format
 * @property {number} max_rows
 * @property {string | null} sort_by
 * @property {boolean} sort_desc
 */

export const WIDGET_TYPES = /** @type {const} */ (['stat', 'gauge', 'chart', 'table']);
export const CHART_TYPES = /** @type {const} */ (['line', 'area', 'bar', 'scatter', 'stacked_bar', 'stacked_area']);
/** `serve --history`'s default; a server with another setting sends max_points explicitly. */
export const DEFAULT_MAX_POINTS = 1000;
const MAX_MAX_POINTS = 100000;

/**
 * @param {unknown} t
 * @returns {t is WidgetType}
 */
export function isWidgetType(t) {
  return typeof t === 'string' && /** @type {readonly string[]} */ (WIDGET_TYPES).includes(t);
}

/**
 * @param {unknown} v
 * @returns {v is Record<string, unknown>}
 */
export function isPlainObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** @param {unknown} v */
const finite = (v) => typeof v === 'number' && Number.isFinite(v);
/** @param {unknown} v */
const strOrNull = (v) => (typeof v === 'string' && v !== '' ? v : null);

/**
 * @param {unknown} v
 * @returns {Record<string, string>}
 */
function stringMap(v) {
  /** @type {Record<string, string>} */
  const out = Object.create(null);
  if (!isPlainObject(v)) return out;
  for (const [k, s] of Object.entries(v)) if (typeof s === 'string') out[k] = s;
  return out;
}

/**
 * The config of a widget of this type, with `raw`'s valid fields over the defaults.
 * @param {string} id
 * @param {WidgetType} type
 * @param {unknown} [raw]
 * @returns {WidgetConfig}
 */
export function normalizeConfig(id, type, raw) {
  const r = isPlainObject(raw) ? raw : {};
  const min = finite(r.min) ? /** @type {number} */ (r.min) : 0;
  const max = finite(r.max) ? /** @type {number} */ (r.max) : 100;
  const scaleOk = min < max;
  const maxPoints = finite(r.max_points) ? Math.floor(/** @type {number} */ (r.max_points)) : DEFAULT_MAX_POINTS;
  const maxRows = finite(r.max_rows) ? Math.floor(/** @type {number} */ (r.max_rows)) : 100;
  /** @type {[number, string][]} */
  const thresholds = [];
  if (Array.isArray(r.thresholds)) {
    for (const t of r.thresholds) {
      if (Array.isArray(t) && finite(t[0]) && typeof t[1] === 'string') thresholds.push([t[0], t[1]]);
    }
    // "Ascending" is the documented contract; sorting makes "first ≥ value" mean what users expect
    // even when a config lists them out of order.
    thresholds.sort((a, b) => a[0] - b[0]);
  }
  const chartType = /** @type {readonly unknown[]} */ (CHART_TYPES).includes(r.chart_type)
    ? /** @type {WidgetConfig['chart_type']} */ (r.chart_type)
    : 'line';
  return {
    id,
    type,
    // A title of only spaces would leave the card's heading and its menu button without a name.
    title: typeof r.title === 'string' && r.title.trim() !== '' ? r.title : id,
    dashboard: typeof r.dashboard === 'string' ? r.dashboard : '',
    order: finite(r.order) ? /** @type {number} */ (r.order) : 0,
    width: r.width === 'full' || (Number.isInteger(r.width) && /** @type {number} */ (r.width) >= 1 && /** @type {number} */ (r.width) <= 4)
      ? /** @type {WidgetConfig['width']} */ (r.width)
      : null,
    height: r.height === 'small' || r.height === 'medium' || r.height === 'large'
      || (Number.isInteger(r.height) && /** @type {number} */ (r.height) >= 60 && /** @type {number} */ (r.height) <= 2000)
      ? /** @type {WidgetConfig['height']} */ (r.height)
      : null,
    stale_after: finite(r.stale_after) && /** @type {number} */ (r.stale_after) > 0 ? /** @type {number} */ (r.stale_after) : null,
    unit: typeof r.unit === 'string' ? r.unit : '',
    format: strOrNull(r.format),
    color: strOrNull(r.color),
    delta: typeof r.delta === 'boolean' ? r.delta : true,
    min: scaleOk ? min : 0,
    max: scaleOk ? max : 100,
    thresholds,
    chart_type: chartType,
    max_points: Math.min(Math.max(maxPoints, 1), MAX_MAX_POINTS),
    x_type: r.x_type === 'category' ? 'category' : 'number',
    label: typeof r.label === 'string' && r.label.trim() !== '' ? r.label : null,
    y_min: finite(r.y_min) ? /** @type {number} */ (r.y_min) : null,
    y_max: finite(r.y_max) ? /** @type {number} */ (r.y_max) : null,
    y_scale: r.y_scale === 'log' ? 'log' : 'linear',
    columns: Array.isArray(r.columns) ? r.columns.filter((c) => typeof c === 'string') : null,
    column_labels: stringMap(r.column_labels),
    column_format: stringMap(r.column_format),
    max_rows: Math.max(maxRows, 0),
    sort_by: strOrNull(r.sort_by),
    sort_desc: typeof r.sort_desc === 'boolean' ? r.sort_desc : true,
  };
}

/**
 * The type a data update implies for a widget that has no config yet (protocol.md §1).
 * @param {unknown} data
 * @returns {WidgetType | null}
 */
export function impliedType(data) {
  if (!isPlainObject(data)) return null;
  if ('value' in data) return 'stat';
  if ('points' in data || 'x' in data || 'y' in data) return 'chart';
  if ('ops' in data || 'key' in data || 'tcols' in data) return 'table';
  return null;
}

/**
 * Widgets sort by order, then id (protocol.md §1.2).
 * @param {{id: string, config: {order: number}}} a
 * @param {{id: string, config: {order: number}}} b
 */
export function compareWidgets(a, b) {
  if (a.config.order !== b.config.order) return a.config.order - b.config.order;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
