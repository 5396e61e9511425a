// Min/max decimation: what a chart hands uPlot when it holds far more points than pixels. The
// drawn line must light the same pixels as the full one, gaps included.
import test from 'node:test';
import assert from 'node:assert/strict';
import { decimateMinMax, markMinMax } from '../decimate.js';
import { buildChartData, buildPlotData } from '../chart-data.js';
import { Series } from '../series.js';

/** A deterministic pseudo-random sequence, so failures reproduce. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * The vertical extent, per pixel column, of the polyline through the points (x mapped onto
 * [0, width)), skipping undefined and breaking at null: what a rasterizer lights in that column.
 * @returns {([number, number] | null)[]}
 */
function extents(xs, ys, width) {
  const x0 = xs[0];
  const span = xs[xs.length - 1] - x0;
  const px = (x) => (span > 0 ? Math.min(width - 1e-9, ((x - x0) / span) * width) : 0);
  const out = Array.from({ length: Math.ceil(width) }, () => null);
  const add = (c, y) => {
    const e = out[c];
    if (!e) out[c] = [y, y];
    else {
      if (y < e[0]) e[0] = y;
      if (y > e[1]) e[1] = y;
    }
  };
  let prev = null;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y === undefined) continue;
    if (y === null) {
      prev = null;
      continue;
    }
    const p = [px(xs[i]), y];
    add(Math.floor(p[0]), y);
    if (prev) {
      // The segment also lights every column boundary it crosses, at the interpolated y.
      for (let b = Math.floor(prev[0]) + 1; b <= Math.floor(p[0]); b++) {
        const t = (b - prev[0]) / (p[0] - prev[0]);
        const yb = prev[1] + t * (p[1] - prev[1]);
        add(b - 1, yb);
        add(Math.min(b, out.length - 1), yb);
      }
    }
    prev = p;
  }
  return out;
}

test('decimation keeps each pixel column\'s first, lowest, highest and last point, in order', () => {
  // x over [0, 32] on 4 columns 8 wide: five points in each (the last x belongs to the last column).
  const xs = [0, 1, 2, 3, 4, /**/ 8, 9, 10, 11, 12, /**/ 16, 17, 18, 19, 20, /**/ 24, 25, 26, 27, 32];
  const ys = [5, 1, 9, 4, 6, /**/ 3, 3, 3, 3, 3, /**/ 0, 8, 2, 7, 1, /**/ 2, 9, 9, 0, 5];
  const [dx, dy] = decimateMinMax(xs, [ys], 0, 20, 4);
  assert.deepEqual(dx, [0, 1, 2, 4, 8, 12, 16, 17, 20, 24, 25, 27, 32]);
  assert.deepEqual(dy, [5, 1, 9, 6, 3, 3, 0, 8, 1, 2, 9, 0, 5]);
});

test('the decimated line covers the same vertical extent in every pixel column as the full line', () => {
  const rand = rng(7);
  for (const [n, width] of [[10000, 600], [5000, 123], [997, 50], [400, 7.5]]) {
    const xs = [];
    const ys = [];
    let x = 1_700_000_000_000;
    let walk = 0;
    for (let i = 0; i < n; i++) {
      x += 1 + Math.floor(rand() * 200); // uneven spacing, some columns empty
      walk += rand() - 0.5;
      xs.push(x);
      ys.push(i % 3 === 0 ? rand() * 10 : walk);
    }
    const [dx, dy] = decimateMinMax(xs, [ys], 0, n, width);
    assert.ok(dx.length < n && dx.length <= 4 * Math.ceil(width), `${n} points on ${width} px kept ${dx.length}`);
    const full = extents(xs, ys, width);
    const dec = extents(dx, dy, width);
    for (let c = 0; c < full.length; c++) {
      if (full[c] === null) {
        assert.equal(dec[c], null, `column ${c}`);
        continue;
      }
      assert.ok(Math.abs(full[c][0] - dec[c][0]) < 1e-9 && Math.abs(full[c][1] - dec[c][1]) < 1e-9,
        `column ${c}: ${full[c]} vs ${dec[c]}`);
    }
  }
});

test('a gap (null y) survives decimation where it was, and the runs on either side keep their extremes', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i);
  const ys = xs.map((i) => (i >= 40 && i < 45 ? null : Math.sin(i)));
  const [dx, dy] = decimateMinMax(xs, [ys], 0, 100, 5);
  const gaps = dx.filter((_, j) => dy[j] === null);
  assert.deepEqual(gaps, [40], 'one null marks the whole run of nulls');
  // The points around the gap stay, so the line ends and restarts at the right places.
  assert.ok(dx.includes(39) && dx.includes(45));
  const full = extents(xs, ys, 5);
  const dec = extents(dx, dy, 5);
  assert.deepEqual(dec, full);
});

test('aligned multi-series data: each series keeps its own extremes and undefined is skipped, not a gap', () => {
  const xs = Array.from({ length: 60 }, (_, i) => i);
  const a = xs.map((i) => (i % 2 === 0 ? i % 7 : undefined));
  const b = xs.map((i) => (i % 2 === 1 ? -(i % 5) : undefined));
  const [dx, da, db] = decimateMinMax(xs, [a, b], 0, 60, 3);
  assert.ok(dx.length < 60);
  assert.ok(!da.includes(null) && !db.includes(null));
  assert.deepEqual(extents(dx, da, 3), extents(xs, a, 3));
  assert.deepEqual(extents(dx, db, 3), extents(xs, b, 3));
});

test('points all at one x decimate to that x\'s first, lowest, highest and last', () => {
  const keep = new Uint8Array(5);
  markMinMax([3, 3, 3, 3, 3], [[2, 0, 5, 1, 4]], 0, 5, 100, keep);
  assert.deepEqual([...keep], [1, 1, 1, 0, 1]);
});

test('decimation honours the live window of a series (head offset) and converts ms to seconds', () => {
  const s = new Series('');
  for (let i = 0; i < 3000; i++) s.append(1_700_000_000_000 + i * 1000, i % 10);
  s.trim(2000); // head moves past the first 1000 points
  const [dx] = decimateMinMax(s.xs, [s.ys], s.head, s.xs.length, 100, 1000);
  assert.equal(dx[0], (1_700_000_000_000 + 1000 * 1000) / 1000);
  assert.equal(dx[dx.length - 1], (1_700_000_000_000 + 2999 * 1000) / 1000);
});

test('plot data decimates a series with far more points than pixels but still counts every point held', () => {
  const s = new Series('');
  for (let i = 0; i < 10000; i++) s.append(1_700_000_000_000 + i * 100, Math.sin(i / 50));
  const pd = buildPlotData([s], 600);
  assert.equal(pd.decimated, true);
  assert.equal(pd.points, 10000);
  assert.equal(pd.time, true);
  assert.ok(pd.data[0].length <= 2400);
  assert.equal(pd.data[0][0], 1_700_000_000_000 / 1000);
  assert.equal(pd.data[1][pd.data[1].length - 1], Math.sin(9999 / 50));
});

test('plot data passes short series, and any chart drawn at width 0, through unchanged', () => {
  const s = new Series('');
  for (let i = 0; i < 500; i++) s.append(i, i * 2);
  assert.deepEqual(buildPlotData([s], 600).data, buildChartData([s]).data);
  assert.equal(buildPlotData([s], 600).decimated, false);
  const big = new Series('');
  for (let i = 0; i < 10000; i++) big.append(i, i);
  assert.equal(buildPlotData([big], 0).decimated, false);
  assert.equal(buildPlotData([big], 0).data[0].length, 10000);
});

test('plot data decimates several series on their aligned x union', () => {
  const a = new Series('a');
  const b = new Series('b');
  for (let i = 0; i < 5000; i++) {
    a.append(i * 2, Math.cos(i));
    b.append(i * 2 + 1, Math.sin(i));
  }
  const pd = buildPlotData([a, b], 100);
  assert.equal(pd.decimated, true);
  assert.equal(pd.points, 10000);
  assert.equal(pd.data.length, 3);
  const full = buildChartData([a, b]).data;
  assert.deepEqual(extents(pd.data[0], pd.data[1], 100), extents(full[0], full[1], 100));
  assert.deepEqual(extents(pd.data[0], pd.data[2], 100), extents(full[0], full[2], 100));
});
