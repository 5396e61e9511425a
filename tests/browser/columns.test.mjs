// Columnar chart updates (docs/protocol.md §1.7) in Chromium: the page decodes the base64 float64
// columns of the data event (§2.2 `cols`) into the chart, gaps included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, waitFor } from './harness.mjs';

const T0 = 1764230400000;

/** A columnar update: "SVC1", the head's length (uint32 LE), the JSON head, x and y as float64 LE. */
function columns(xs, ys, head = {}) {
  const h = new TextEncoder().encode(JSON.stringify({ n: xs.length, ...head }));
  const b = new Uint8Array(8 + h.length + 16 * xs.length);
  b.set(new TextEncoder().encode('SVC1'), 0);
  new DataView(b.buffer).setUint32(4, h.length, true);
  b.set(h, 8);
  const dv = new DataView(b.buffer, 8 + h.length);
  xs.forEach((x, i) => dv.setFloat64(8 * i, x, true));
  ys.forEach((y, i) => dv.setFloat64(8 * (xs.length + i), y, true));
  return b;
}

test('a chart fed columnar updates draws every point, in order, with NaN y as gaps', async (t) => {
  const n = 3000;
  const xs = Array.from({ length: n }, (_, i) => T0 + i * 1000);
  const ys = xs.map((_, i) => (i % 100 === 7 ? NaN : i * 0.5));
  const { page, errors } = await openPage(t, [
    ['sv.bulk.config', { type: 'chart', title: 'Bulk', max_points: 5000 }],
    ['sv.bulk.data', columns(xs.slice(0, 2000), ys.slice(0, 2000))],
    ['sv.bulk.data', columns(xs.slice(2000), ys.slice(2000))],
  ], { path: '/embed/bulk', viewport: { width: 800, height: 600 } });
  const chart = '[data-widget-id="bulk"] sv-chart';
  await waitFor(() => page.evaluate((s) => document.querySelector(s)?.dataset.points === '3000', chart), 15000, 'every point');
  // Zoomed out to everything with no decimation: the plot holds the points as sent.
  const data = await page.evaluate((s) => {
    const el = document.querySelector(s);
    return { x: Array.from(el.plot.data[0]), y: Array.from(el.plot.data[1]) };
  }, chart);
  if (data.x.length === n) {
    assert.deepEqual(data.x, xs.map((x) => x / 1000));
    assert.deepEqual(data.y, ys.map((y) => (Number.isNaN(y) ? null : y)));
  } else {
    // Decimated to the plot's width: still the first and last x, and gaps stay gaps.
    assert.equal(data.x[0], T0 / 1000);
    assert.equal(data.x.at(-1), xs.at(-1) / 1000);
    assert.ok(data.y.includes(null), 'the gaps are drawn as gaps');
  }
  assert.deepEqual(errors, []);
});
