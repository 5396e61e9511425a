// @ts-check
// Turns chart series into uPlot's aligned columns: one shared, ascending x array and one y array
// per series. Pure, so the alignment rules are tested under node.

import { DECIMATE_MIN_PER_PX, decimateMinMax } from './decimate.js';

/** @typedef {import('./series.js').Series} Series */
/** @typedef {(number | null | undefined)[]} YColumn */

/** The dates JavaScript can represent: ±100,000,000 days from the epoch, in milliseconds. */
export const MAX_DATE_MS = 8.64e15;

/**
 * Milliseconds since 1973 and later: smaller numbers are a plain numeric axis (step counts,
 * seconds since start...). uPlot's time axis counts seconds, so these are divided by 1000.
 * Numbers past the last date JavaScript has (nanosecond timestamps, ids) are plain numbers too:
 * as times they are Invalid Date, and uPlot's time ticks never reach the end of such a range (it
 * froze the page for seconds, then threw).
 * @param {number} x
 */
export function isEpochMs(x) {
  return x > 1e11 && x <= MAX_DATE_MS;
}

/**
 * Whether a chart's series go on a time axis: their newest x is a time (isEpochMs) and no x lies
 * before the first date JavaScript has.
 * @param {Series[]} list
 */
export function isTimeAxis(list) {
  let newest = -Infinity;
  let oldest = Infinity;
  for (const s of list) {
    if (s.length === 0) continue;
    const last = /** @type {number} */ (s.lastX());
    if (last > newest) newest = last;
    if (s.sorted) {
      if (s.xs[s.head] < oldest) oldest = s.xs[s.head];
    } else {
      for (let i = s.head; i < s.xs.length; i++) if (s.xs[i] < oldest) oldest = s.xs[i];
    }
  }
  return isEpochMs(newest) && oldest >= -MAX_DATE_MS;
}

/**
 * A series' live points in ascending x (stable for equal x).
 * @param {Series} s
 * @returns {{xs: number[], ys: (number | null)[]}}
 */
export function sortedPoints(s) {
  const xs = s.xs.slice(s.head);
  const ys = s.ys.slice(s.head);
  if (s.sorted) return { xs, ys };
  const idx = xs.map((_, i) => i);
  idx.sort((a, b) => xs[a] - xs[b] || a - b);
  return { xs: idx.map((i) => xs[i]), ys: idx.map((i) => ys[i]) };
}

/**
 * @typedef {object} ChartData
 * @property {[number[], ...YColumn[]]} data  uPlot's columns: x, then one per series
 * @property {boolean} time                  x holds epoch seconds (converted from ms)
 * @property {number} points                 points held, over all series
 */

/**
 * Aligns the series on the union of their x values. Where a series has no point at an x its
 * column holds `undefined`, which uPlot draws across; a `null` y is a real gap and stays one.
 * @param {Series[]} list
 * @returns {ChartData}
 */
export function buildChartData(list) {
  let points = 0;
  for (const s of list) points += s.length;
  const time = isTimeAxis(list);
  const cols = list.map(sortedPoints);

  /** @type {number[]} */
  let xs;
  /** @type {YColumn[]} */
  let ys;
  if (cols.length === 1) {
    xs = cols[0].xs;
    ys = [cols[0].ys];
  } else if (cols.length > 1 && cols.every((c) => sameXs(c.xs, cols[0].xs))) {
    // The common case of several series sampled together: no merging needed.
    xs = cols[0].xs;
    ys = cols.map((c) => c.ys);
  } else {
    ({ xs, ys } = merge(cols));
  }
  if (time) xs = xs.map((x) => x / 1000);
  return { data: [xs, ...ys], time, points };
}

/**
 * @param {number[]} a
 * @param {number[]} b
 */
function sameXs(a, b) {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * k-way merge of sorted columns onto their x union; a series with several points at one x
 * contributes the last of them.
 * @param {{xs: number[], ys: (number | null)[]}[]} cols
 * @returns {{xs: number[], ys: YColumn[]}}
 */
function merge(cols) {
  /** @type {number[]} */
  const xs = [];
  /** @type {YColumn[]} */
  const ys = cols.map(() => []);
  const pos = cols.map(() => 0);
  for (;;) {
    let x = Infinity;
    for (let k = 0; k < cols.length; k++) {
      if (pos[k] < cols[k].xs.length && cols[k].xs[pos[k]] < x) x = cols[k].xs[pos[k]];
    }
    if (x === Infinity) break;
    const row = xs.length;
    xs.push(x);
    for (let k = 0; k < cols.length; k++) {
      const c = cols[k];
      /** @type {number | null | undefined} */
      let y;
      while (pos[k] < c.xs.length && c.xs[pos[k]] === x) y = c.ys[pos[k]++];
      ys[k][row] = y;
    }
  }
  return { xs, ys };
}

/**
 * uPlot's columns for a line or area chart drawn `width` device pixels wide: min/max-decimated
 * (decimate.js) when the points far outnumber the pixel columns, otherwise as buildChartData.
 * `points` still counts every point held. A single ordered series, the common case, is decimated
 * straight from its storage, without the copies alignment makes.
 * @param {Series[]} list
 * @param {number} width  plot width in device pixels; 0 never decimates (a zoomed view, bars...)
 * @returns {ChartData & {decimated: boolean}}
 */
export function buildPlotData(list, width) {
  const limit = width * DECIMATE_MIN_PER_PX;
  if (width > 0 && list.length === 1 && list[0].sorted && list[0].length > limit) {
    const s = list[0];
    const time = isTimeAxis(list);
    const data = decimateMinMax(s.xs, [s.ys], s.head, s.xs.length, width, time ? 1000 : 1);
    return { data: /** @type {ChartData['data']} */ (data), time, points: s.length, decimated: true };
  }
  const cd = buildChartData(list);
  const [xs, ...ys] = cd.data;
  if (width > 0 && xs.length > limit) {
    const data = decimateMinMax(xs, ys, 0, xs.length, width);
    return { data: /** @type {ChartData['data']} */ (data), time: cd.time, points: cd.points, decimated: true };
  }
  return { ...cd, decimated: false };
}

/**
 * uPlot's columns for a category chart (x_type "category"): x is each live category's position
 * (0, 1, ...), in the order the categories were first seen, and `labels` names them. Each series'
 * column holds its newest y of each category, `undefined` where it has none.
 * @param {Series[]} list  their x are category indexes (state.js)
 * @param {string[]} names  index -> category
 * @returns {ChartData & {decimated: boolean, labels: string[]}}
 */
export function buildCategoryData(list, names) {
  /** @type {Map<number, number>} */
  const pos = new Map();
  let points = 0;
  for (const s of list) {
    points += s.length;
    for (let i = s.head; i < s.xs.length; i++) pos.set(s.xs[i], 0);
  }
  const live = [...pos.keys()].sort((a, b) => a - b);
  live.forEach((idx, p) => pos.set(idx, p));
  const ys = list.map((s) => {
    /** @type {YColumn} */
    const col = new Array(live.length).fill(undefined);
    for (let i = s.head; i < s.xs.length; i++) col[/** @type {number} */ (pos.get(s.xs[i]))] = s.ys[i];
    return col;
  });
  return {
    data: [live.map((_, p) => p), ...ys],
    time: false,
    points,
    decimated: false,
    labels: live.map((idx) => names[idx] ?? ''),
  };
}

/**
 * Whether a chart type stacks its series.
 * @param {string} type
 */
export function isStacked(type) {
  return type === 'stacked_bar' || type === 'stacked_area';
}

/**
 * Running sums of the shown columns, bottom (first) to top: a series with no point at an x, or a
 * null y, adds 0 there (protocol.md §1.2, chart_type). A hidden column adds nothing and holds the
 * sum below it, so it stays out of the stack and of the y autoscale's extremes.
 * @param {YColumn[]} ys
 * @param {boolean[]} shown  per column
 * @returns {number[][]}
 */
export function stackColumns(ys, shown) {
  const n = ys.length ? ys[0].length : 0;
  const acc = new Array(n).fill(0);
  return ys.map((col, k) => {
    if (shown[k] !== false) {
      for (let r = 0; r < n; r++) acc[r] += col[r] ?? 0;
    }
    return acc.slice();
  });
}

/**
 * uPlot's columns for a stacked chart: the running sums (stackColumns), plus `own`, each series'
 * own values at the same rows for the legend and tooltip. With far more rows than `width` pixel
 * columns the sums are decimated and the own values taken at the rows kept, so own[k][r] is still
 * series k's value at data[0][r].
 * @param {ChartData & {decimated?: boolean, labels?: string[]}} cd  aligned columns (buildChartData, buildCategoryData)
 * @param {boolean[]} shown  per series
 * @param {number} width  plot width in device pixels; 0 never decimates
 * @returns {ChartData & {decimated: boolean, own: YColumn[]}}
 */
export function buildStackedData(cd, shown, width) {
  const [xs, ...ys] = cd.data;
  const sums = stackColumns(ys, shown);
  if (width > 0 && xs.length > width * DECIMATE_MIN_PER_PX) {
    // The drawn sums choose the rows; the own values (for the reading) only come along.
    const [dx, ...cols] = decimateMinMax(xs, [...sums, ...ys], 0, xs.length, width, 1, sums.length);
    return {
      data: /** @type {ChartData['data']} */ ([dx, ...cols.slice(0, ys.length)]),
      own: cols.slice(ys.length),
      time: cd.time,
      points: cd.points,
      decimated: true,
    };
  }
  return { data: [xs, ...sums], own: ys, time: cd.time, points: cd.points, decimated: false };
}
