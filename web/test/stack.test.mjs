// Stacked charts: each series sits on the sum of the shown series before it; a missing point or a
// null y adds 0; a hidden series adds nothing; decimation keeps each series' own value beside its sum.
import test from 'node:test';
import assert from 'node:assert/strict';
import { buildChartData, buildStackedData, isStacked, stackColumns } from '../chart-data.js';
import { decimateMinMax } from '../decimate.js';
import { Series } from '../series.js';

/** @param {string} name @param {[number, number | null][]} pts */
function series(name, pts) {
  const s = new Series(name);
  for (const [x, y] of pts) s.append(x, y);
  return s;
}

test('only stacked_bar and stacked_area stack', () => {
  assert.deepEqual(['line', 'area', 'bar', 'scatter', 'stacked_bar', 'stacked_area'].filter(isStacked), ['stacked_bar', 'stacked_area']);
});

test('each column is the running sum of the shown columns up to it; missing and null count as 0', () => {
  const sums = stackColumns([[1, 2, undefined], [10, null, 30], [100, 200, 300]], [true, true, true]);
  assert.deepEqual(sums, [[1, 2, 0], [11, 2, 30], [111, 202, 330]]);
});

test('a hidden column adds nothing: the ones above it stack on what is below it', () => {
  const sums = stackColumns([[1, 2], [10, 20], [100, 200]], [true, false, true]);
  assert.deepEqual(sums[2], [101, 202]);
  assert.deepEqual(sums[1], [1, 2], 'the hidden one holds the sum below it');
});

test('series sampled at different x are aligned first, and each keeps its own value for the reading', () => {
  const cd = buildChartData([series('a', [[1, 1], [2, 2], [3, 3]]), series('b', [[2, 10], [4, 40]])]);
  const st = buildStackedData(cd, [true, true], 0);
  assert.deepEqual(st.data, [[1, 2, 3, 4], [1, 2, 3, 0], [1, 12, 3, 40]]);
  assert.deepEqual(st.own, [[1, 2, 3, undefined], [undefined, 10, undefined, 40]]);
  assert.equal(st.decimated, false);
});

test('decimated stacks keep rows whole: own values stay the differences of the sums', () => {
  const n = 20000;
  const a = series('a', Array.from({ length: n }, (_, i) => [i, Math.sin(i / 7) + 2]));
  const b = series('b', Array.from({ length: n }, (_, i) => [i, (i * 7919) % 13]));
  const st = buildStackedData(buildChartData([a, b]), [true, true], 300);
  assert.equal(st.decimated, true);
  const [xs, sa, sb] = st.data;
  assert.ok(xs.length < n / 4, `${xs.length} rows kept of ${n}`);
  for (let r = 0; r < xs.length; r++) {
    const i = xs[r];
    assert.equal(st.own[0][r], Math.sin(i / 7) + 2);
    assert.equal(st.own[1][r], (i * 7919) % 13);
    assert.equal(sb[r], sa[r] + st.own[1][r]);
  }
  // The tallest stack survives decimation: the y autoscale sees the true maximum.
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, Math.sin(i / 7) + 2 + ((i * 7919) % 13));
  assert.equal(Math.max(...sb), max);
});

test('the drawn sums alone choose the rows a decimated stack keeps', () => {
  const n = 20000;
  const a = series('a', Array.from({ length: n }, (_, i) => [i, (i * 31) % 17]));
  const b = series('b', Array.from({ length: n }, (_, i) => [i, (i * 7919) % 13]));
  const cd = buildChartData([a, b]);
  const st = buildStackedData(cd, [true, true], 300);
  const sums = stackColumns(cd.data.slice(1), [true, true]);
  assert.deepEqual(st.data, decimateMinMax(cd.data[0], sums, 0, n, 300));
});
