// @ts-check
// Min/max decimation for line and area charts. A chart may hold 10,000 points per series on a plot
// 600 pixels wide: handing all of them to uPlot costs a copy, a y-range scan and a path walk over
// every point on every redraw, for a picture that can only show ~4 of them per pixel column.
// Keeping, per pixel column, the first, lowest, highest and last point (the "M4" rule) keeps
// exactly the points a line through all of them touches at that column's edges and extremes, so
// the line drawn through the kept points lights the same pixels: the min/max envelope stays, only
// invisible detail goes. Pure, so the rule is tested under node.

/**
 * Points per pixel column above which decimating pays: M4 keeps up to 4 per column, so below that
 * it would copy about as much as it saves (uPlot uses the same threshold for its own paths).
 */
export const DECIMATE_MIN_PER_PX = 4;

/**
 * Marks the points to keep: per pixel column and per series, the first, lowest, highest and last
 * point of each run of values. A `null` y is a gap: it ends the run and is kept (one per run of
 * nulls), so the gap is drawn where it was. An `undefined` y (that series has no point at this x,
 * in aligned multi-series data) is skipped, as uPlot draws across it.
 * @param {ArrayLike<number>} xs  ascending x
 * @param {ArrayLike<number | null | undefined>[]} ysList  y columns aligned with xs
 * @param {number} from  first index
 * @param {number} to  end index (exclusive)
 * @param {number} width  pixel columns spanned by [xs[from], xs[to - 1]]
 * @param {Uint8Array} keep  at least to - from long and zeroed; keep[i - from] is set to 1 for kept points
 */
export function markMinMax(xs, ysList, from, to, width, keep) {
  if (to <= from) return;
  const x0 = xs[from];
  const span = xs[to - 1] - x0;
  // All points at one x fall in one column (whose first/min/max/last still draw it right).
  const k = span > 0 ? width / span : 0;
  const lastCol = Math.max(0, Math.ceil(width) - 1);
  for (const ys of ysList) {
    let col = -1;
    let first = -1;
    let lo = -1;
    let hi = -1;
    let last = -1;
    let loV = 0;
    let hiV = 0;
    let inGap = false;
    const flush = () => {
      if (first < 0) return;
      keep[first - from] = 1;
      keep[lo - from] = 1;
      keep[hi - from] = 1;
      keep[last - from] = 1;
      first = -1;
    };
    for (let i = from; i < to; i++) {
      const y = ys[i];
      if (y === undefined) continue;
      if (y === null) {
        if (!inGap) {
          flush();
          keep[i - from] = 1;
          inGap = true;
        }
        continue;
      }
      inGap = false;
      let c = Math.floor((xs[i] - x0) * k);
      if (c > lastCol) c = lastCol;
      if (c !== col || first < 0) {
        flush();
        col = c;
        first = lo = hi = last = i;
        loV = hiV = y;
        continue;
      }
      last = i;
      if (y < loV) {
        loV = y;
        lo = i;
      } else if (y > hiV) {
        hiV = y;
        hi = i;
      }
    }
    flush();
  }
}

/**
 * The columns uPlot draws, decimated to `width` pixel columns: x (divided by `xDiv`, which turns
 * milliseconds into uPlot's seconds exactly as an undecimated chart does) and each y column, at
 * the kept indices.
 * @param {ArrayLike<number>} xs  ascending x
 * @param {ArrayLike<number | null | undefined>[]} ysList  y columns aligned with xs
 * @param {number} from  first index
 * @param {number} to  end index (exclusive)
 * @param {number} width  pixel columns
 * @param {number} [xDiv]  divisor applied to the x values written out
 * @param {number} [marked]  how many of the leading y columns choose the kept rows (default all);
 *   the others only come along at those rows (a stack's own values beside its drawn sums)
 * @returns {[number[], ...(number | null | undefined)[][]]}
 */
export function decimateMinMax(xs, ysList, from, to, width, xDiv = 1, marked = ysList.length) {
  const n = Math.max(0, to - from);
  const keep = new Uint8Array(n);
  markMinMax(xs, marked === ysList.length ? ysList : ysList.slice(0, marked), from, to, width, keep);
  /** @type {number[]} */
  const outX = [];
  /** @type {(number | null | undefined)[][]} */
  const outY = ysList.map(() => []);
  for (let j = 0; j < n; j++) {
    if (keep[j] === 0) continue;
    const i = from + j;
    outX.push(xDiv === 1 ? xs[i] : xs[i] / xDiv);
    for (let s = 0; s < ysList.length; s++) outY[s].push(ysList[s][i]);
  }
  return [outX, ...outY];
}
