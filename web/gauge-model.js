// @ts-check
// Gauge geometry and colour, apart from the element so both are tested under node.

/** The arc opens at the bottom: 240° clockwise from lower left to lower right. */
export const START_DEG = 150;
export const SWEEP_DEG = 240;

/**
 * Where a value sits on the scale, clamped to [0, 1] so out-of-range values pin to an end.
 * @param {number} value
 * @param {number} min
 * @param {number} max
 */
export function gaugeFraction(value, min, max) {
  if (!(max > min)) return 0;
  // In halves: max - min of a scale across most of the doubles (-1e308 to 1e308) is Infinity,
  // which put every value at the start of the arc.
  return Math.min(1, Math.max(0, (value / 2 - min / 2) / (max / 2 - min / 2)));
}

/**
 * The arc's colour: that of the first threshold ≥ the value (protocol.md §1.2), else the
 * configured colour, else null for the theme's default.
 * @param {number | null} value
 * @param {{thresholds: [number, string][], color: string | null}} config
 * @returns {string | null}
 */
export function gaugeColor(value, config) {
  if (value !== null) {
    for (const [limit, color] of config.thresholds) if (limit >= value) return color;
  }
  return config.color;
}

/**
 * @param {number} cx
 * @param {number} cy
 * @param {number} r
 * @param {number} deg  clockwise from the positive x axis, as SVG's y points down
 */
export function polar(cx, cy, r, deg) {
  const rad = (deg * Math.PI) / 180;
  return { x: cx + r * Math.cos(rad), y: cy + r * Math.sin(rad) };
}

/**
 * An SVG path for the part of the gauge's arc covering [0, fraction] of the scale.
 * @param {number} cx
 * @param {number} cy
 * @param {number} r
 * @param {number} fraction
 * @returns {string} "" for an empty arc, which SVG draws as nothing
 */
export function arcPath(cx, cy, r, fraction) {
  if (!(fraction > 0)) return '';
  const sweep = Math.min(fraction, 1) * SWEEP_DEG;
  const a = polar(cx, cy, r, START_DEG);
  const b = polar(cx, cy, r, START_DEG + sweep);
  const large = sweep > 180 ? 1 : 0;
  const f = (/** @type {number} */ n) => n.toFixed(2);
  return `M ${f(a.x)} ${f(a.y)} A ${r} ${r} 0 ${large} 1 ${f(b.x)} ${f(b.y)}`;
}
