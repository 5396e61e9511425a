// The legend toggles series: each entry is a button (aria-pressed) that Enter, Space or a click
// flips; a hidden series disappears from the canvas, from the y autoscale and from a stack, and
// stays hidden when the plot is rebuilt.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, publish, waitFor } from './harness.mjs';

const T0 = 1764230400000;
const pts = (n, f) => Array.from({ length: n }, (_, i) => [T0 + i * 1000, f(i)]);
const frames = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

/** Pixels of the chart's canvas close to series k's stroke colour, and the y scale's top. */
function look(page, id, k) {
  return page.evaluate(([i, k]) => {
    const u = document.querySelector(`[data-widget-id="${i}"] sv-chart`).plot;
    const probe = document.createElement('canvas').getContext('2d');
    const stroke = u.series[k].stroke;
    probe.fillStyle = typeof stroke === 'function' ? stroke(u, k) : stroke;
    probe.fillRect(0, 0, 1, 1);
    const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
    const c = u.ctx.canvas;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let p = 0; p < d.length; p += 4) if (d[p + 3] > 128 && Math.abs(d[p] - r) + Math.abs(d[p + 1] - g) + Math.abs(d[p + 2] - b) < 40) n++;
    return { ink: n, ymax: u.scales.y.max, show: u.series[k].show, data: u.data.map((col) => [...col]) };
  }, [id, k]);
}

test('Space and Enter on a legend entry hide and show its series: gone from the canvas and from the y autoscale', async (t) => {
  const { server, page, errors } = await openPage(t, [
    ['sv.two.config', { type: 'chart', title: 'Two' }],
    ['sv.two.data', { series: 'small', points: pts(30, (i) => 1 + (i % 3)) }],
    ['sv.two.data', { series: 'big', points: pts(30, (i) => 100 + (i % 7)) }],
  ], { path: '/embed/two', viewport: { width: 900, height: 500 } });
  await waitFor(() => page.evaluate(() => document.querySelector('sv-chart')?.dataset.points === '60'), 15000, 'the chart');
  await frames(page);
  // Named series sort by name: big is series 1, small series 2.
  const shown = await look(page, 'two', 1);
  assert.ok(shown.ink > 50, `big's colour on the canvas: ${shown.ink} px`);
  assert.ok(shown.ymax >= 106, `the y axis holds big: ${shown.ymax}`);
  const big = page.getByRole('button', { name: /^big/ });
  assert.equal(await big.getAttribute('aria-pressed'), 'true');
  await big.focus();
  await page.keyboard.press('Space');
  await waitFor(async () => (await big.getAttribute('aria-pressed')) === 'false', 5000, 'pressed off');
  await frames(page);
  const hidden = await look(page, 'two', 1);
  assert.equal(hidden.show, false);
  assert.ok(hidden.ink < shown.ink / 20, `big's colour left on the canvas: ${hidden.ink} px of ${shown.ink}`);
  assert.ok(hidden.ymax < 10, `the y axis fits small alone: ${hidden.ymax}`);
  // A new series rebuilds the plot: big stays hidden.
  await publish(server.nats, [['sv.two.data', { series: 'third', points: pts(30, (i) => 2) }]]);
  await waitFor(() => page.evaluate(() => document.querySelector('sv-chart').plot.series.length === 4), 10000, 'the third series');
  await frames(page);
  assert.equal((await look(page, 'two', 1)).show, false, 'still hidden after the rebuild');
  assert.equal(await page.getByRole('button', { name: /^big/ }).getAttribute('aria-pressed'), 'false');
  await page.getByRole('button', { name: /^big/ }).focus();
  await page.keyboard.press('Enter');
  await waitFor(async () => (await look(page, 'two', 1)).ymax >= 106, 5000, 'big back on the y axis');
  assert.ok((await look(page, 'two', 1)).ink > 50);
  assert.deepEqual(errors, []);
});

test('hiding a series of a stacked chart takes it out of the stack', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.st.config', { type: 'chart', title: 'Stack', chart_type: 'stacked_area' }],
    ['sv.st.data', { series: 'a', points: pts(10, () => 5) }],
    ['sv.st.data', { series: 'b', points: pts(10, () => 1) }],
    ['sv.st.data', { series: 'c', points: pts(10, () => 2) }],
  ], { path: '/embed/st', viewport: { width: 900, height: 500 } });
  await waitFor(() => page.evaluate(() => document.querySelector('sv-chart')?.dataset.points === '30'), 15000, 'the chart');
  await frames(page);
  const before = await look(page, 'st', 1);
  assert.deepEqual(before.data.slice(1).map((c) => c[0]), [5, 6, 8]);
  await page.getByRole('button', { name: /^a/ }).click();
  await waitFor(async () => (await look(page, 'st', 1)).show === false, 5000, 'a hidden');
  const after = await look(page, 'st', 1);
  assert.deepEqual(after.data.slice(2).map((c) => c[0]), [1, 3], 'b and c stack from zero');
  assert.ok(after.ymax < 5, `the y axis fits the smaller stack: ${after.ymax}`);
  assert.ok(after.ink < before.ink / 20, `a's colour left: ${after.ink} of ${before.ink}`);
  assert.deepEqual(errors, []);
});

test('a chart of 100 series (the server\u2019s limit) on a phone keeps half its card for the plot; its legend scrolls, by keyboard too', async (t) => {
  const msgs = [['sv.many.config', { type: 'chart', title: 'Per host' }]];
  for (let i = 0; i < 100; i++) msgs.push(['sv.many.data', { series: `host-${String(i).padStart(3, '0')}.eu-west.example`, points: pts(3, (k) => i + k) }]);
  const { page, errors } = await openPage(t, msgs, { viewport: { width: 360, height: 800 } });
  await waitFor(async () => (await page.$$('[data-widget-id="many"] .sv-legend-item')).length === 100, 15000, 'the legend');
  await waitFor(() => page.evaluate(() => document.querySelector('[data-widget-id="many"] sv-chart').plot !== null), 15000, 'the plot');
  await frames(page);
  const size = () => page.evaluate(() => {
    const c = document.querySelector('[data-widget-id="many"]');
    const box = (s) => c.querySelector(s).getBoundingClientRect();
    return { card: box('sv-chart').height, plot: box('.sv-chart-plot').height, legend: box('.sv-legend').height, canvas: c.querySelector('sv-chart').plot.height };
  });
  const s = await size();
  assert.ok(s.plot >= s.card / 2, `the plot keeps at least half the chart: ${JSON.stringify(s)}`);
  await waitFor(async () => (await size()).canvas >= s.card / 2 - 20, 10000, 'the canvas sized to the plot');
  // The last entry is reachable: focusing it scrolls the legend to it.
  const last = page.getByRole('button', { name: /^host-099/ });
  await last.focus();
  await waitFor(() => last.evaluate((b) => {
    const r = b.getBoundingClientRect();
    const l = b.closest('.sv-legend').getBoundingClientRect();
    return r.top >= l.top - 1 && r.bottom <= l.bottom + 1;
  }), 5000, 'the focused entry scrolled into view');
  assert.deepEqual(errors, []);
});
