// @ts-check
// What a chart says in words and on its axes: the text alternative, the cursor's reading, tick
// labels short enough never to collide, and a sensible x range for one or a few points. Pure: no
// DOM, so the rules are tested under node.

import { instantText } from './asof.js';
import { formatDefault } from './format.js';
import { UNNAMED } from './table-model.js';

/**
 * @typedef {object} SeriesFacts
 * @property {string} name  as the legend names it
 * @property {string} last  the latest value, formatted
 * @property {string} min
 * @property {string} max
 * @property {number} count
 */

/**
 * The chart's text alternative: what it plots, the latest values and the ranges.
 * @param {{title: string, kind: string, series: SeriesFacts[], from: string, to: string}} f
 */
export function chartSummary(f) {
  const n = f.series.length;
  const shown = f.series.filter((s) => s.count > 0);
  if (shown.length === 0) return `${f.title}: ${f.kind} chart, no data yet.`;
  const parts = shown.map((s) => `${s.name}: latest ${s.last}, ranging ${s.min} to ${s.max} over ${s.count} ${s.count === 1 ? 'point' : 'points'}`);
  const span = f.from === f.to ? `at ${f.from}` : `from ${f.from} to ${f.to}`;
  return `${f.title}: ${f.kind} chart of ${n} series, ${span}. ${parts.join('; ')}. Arrow keys step through the points.`;
}

/**
 * The names a chart's series go by, in the legend, the cursor's reading and the text alternative
 * alike. The default series (named "") is the chart's own line: alone, it goes by the config's
 * label, else the chart's title. Beside named series it is one of them whose name is empty (a
 * Pathway series_column value of ""): it goes by its label, else "(unnamed)"; named by the title,
 * it read as a caption repeating the card's title. Names that are blank are "(unnamed)", numbered
 * when there are several, so each stays told apart.
 * @param {{title: string, label: string | null}} config
 * @param {string[]} names  the series' own names, the default one ("") first when present
 * @returns {string[]}
 */
export function seriesNames(config, names) {
  const alone = names.length === 1;
  const out = names.map((n) => {
    if (n !== '') return n.trim() !== '' ? n : null;
    if (config.label) return config.label;
    return alone && config.title.trim() !== '' ? config.title : null;
  });
  const blanks = out.filter((n) => n === null).length;
  let k = 0;
  return out.map((n) => n ?? (blanks > 1 ? `${UNNAMED.slice(0, -1)} ${++k})` : UNNAMED));
}

const pad2 = (/** @type {number} */ n) => String(n).padStart(2, '0');
// Month names by hand, read from the Date's local fields as the clock is: an Intl formatter fixes
// its time zone when made, and the page's texts are English whatever the browser's language.
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const dayText = (/** @type {Date} */ d) => `${MONTHS[d.getMonth()]} ${d.getDate()}`;
const monthText = (/** @type {Date} */ d) => `${MONTHS[d.getMonth()]} ${d.getFullYear()}`;

/**
 * A time axis label in the fewest characters the tick spacing needs: seconds only when ticks are
 * under a minute apart, the day only when they are a day or more apart. Ticks under a day apart
 * name the day at its local midnight ("Nov 1" instead of "00:00"): an axis of several days read
 * "00:00, 12:00, 00:00, 12:00", one label per day and no way to tell the days apart. The cursor's
 * reading gives the full date and time.
 * @param {number} sec  epoch seconds (uPlot's time unit)
 * @param {number} incr  seconds between ticks
 */
export function timeTick(sec, incr) {
  const ms = Math.round(sec * 1000);
  const d = new Date(ms);
  if (incr < 86400 && d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0 && d.getMilliseconds() === 0) {
    return dayText(d);
  }
  if (incr < 1) {
    // Ticks under a second apart (a chart's first seconds, a fast short series) carry the fraction
    // their spacing needs; without it neighbouring ticks read the same second.
    const digits = fractionDigits(incr);
    const frac = String(((ms % 1000) + 1000) % 1000).padStart(3, '0').slice(0, digits);
    return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${frac}`;
  }
  if (incr < 60) return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  if (incr < 86400) return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  if (incr < 28 * 86400) return dayText(d);
  return monthText(d);
}

/**
 * The decimals of a second (1 to 3) that a tick spacing under a second needs: 0.5 one, 0.25 two.
 * @param {number} incr  seconds
 */
function fractionDigits(incr) {
  for (let k = 1; k < 3; k++) {
    const scaled = incr * 10 ** k;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6) return k;
  }
  return 3;
}

/** The widest label timeTick writes, for sizing the tick spacing. */
export const WIDEST_TIME_TICK = '00:00:00';

/** The widest label timeTick writes for ticks under a second apart. */
export const WIDEST_SUBSECOND_TICK = '00:00:00.000';

/**
 * Time spans (seconds) short enough that uPlot may space ticks under a second apart: even a
 * 2,560-pixel axis holds fewer than 60 labels.
 */
export const SUBSECOND_SPAN = 60;

/**
 * The x range a line or area chart shows: the data's, except that a single x (one point, or
 * several at the same x) gets a minute around it on a time axis and ±1 on a numeric one, never
 * the years uPlot would pick.
 * @param {number | null} min
 * @param {number | null} max
 * @param {boolean} time  x in epoch seconds
 * @returns {[number | null, number | null]}
 */
export function xRangeOf(min, max, time) {
  if (min === null || max === null) return [min, max];
  if (max > min) return [min, max];
  const half = time ? 30 : Math.max(1, Math.abs(min) * 0.05);
  return [min - half, max + half];
}

/**
 * The index of the x nearest to v in ascending xs, or -1 when xs is empty.
 * @param {ArrayLike<number>} xs
 * @param {number} v
 */
export function nearestIndex(xs, v) {
  let lo = 0;
  let hi = xs.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(xs[lo - 1] - v) <= Math.abs(xs[lo] - v)) return lo - 1;
  return lo;
}

/**
 * An x value as the cursor reads it: the full local date and time (instantText), or the number.
 * @param {number} x  epoch seconds when time, else the raw x
 * @param {boolean} time
 */
export function xText(x, time) {
  if (!time) return formatDefault(x);
  return instantText(Math.round(x * 1000));
}
