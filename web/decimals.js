// @ts-check
// Stable decimals for numbers shown without a format (issue: a gauge jumped between 59.66, 59.8
// and 60 because the default format drops trailing zeros). A widget, a table column or a chart
// series keeps the largest number of decimals its data has needed so far and shows every value
// with that many, so digits stay put while the value moves. Pure: no DOM.

import { formatDefault, formatValue } from './format.js';

/** More would only show binary noise. */
export const MAX_DECIMALS = 6;

/**
 * The decimals the default format shows for this value, or null when it shows an exponent
 * (too large or too small for fixed decimals), NaN or infinity.
 * @param {number} v
 * @returns {number | null}
 */
export function decimalsOf(v) {
  const text = formatDefault(v);
  if (!/^-?[\d,]+(\.\d+)?$/.test(text)) return null;
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : Math.min(MAX_DECIMALS, text.length - dot - 1);
}

/**
 * A number with exactly `decimals` decimals, grouped like the default format; values the default
 * format writes with an exponent keep it.
 * @param {number} v
 * @param {number} decimals
 */
export function formatFixed(v, decimals) {
  if (decimalsOf(v) === null) return formatDefault(v);
  const negative = v < 0;
  const body = Math.abs(v).toFixed(decimals);
  const [int, frac] = body.split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const text = frac === undefined ? grouped : `${grouped}.${frac}`;
  return (negative && /[1-9]/.test(text) ? '-' : '') + text;
}

/** The decimals one stream of values has needed so far. */
export class Decimals {
  constructor() {
    this.n = 0;
  }

  /**
   * Widens to what v needs; returns whether that changed the decimals (earlier text is stale).
   * @param {unknown} v
   */
  see(v) {
    if (typeof v !== 'number') return false;
    const d = decimalsOf(v);
    if (d === null || d <= this.n) return false;
    this.n = d;
    return true;
  }

  /**
   * Formats any value: with the spec when one is given, else numbers with the stable decimals.
   * @param {unknown} v
   * @param {string | null | undefined} spec
   */
  format(v, spec) {
    if (spec || typeof v !== 'number') return formatValue(v, spec);
    this.see(v);
    return formatFixed(v, this.n);
  }
}
