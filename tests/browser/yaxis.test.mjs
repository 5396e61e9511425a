// A chart's y axis from its config: y_min / y_max fix its ends whatever the data, y_scale "log"
// draws it in powers of ten.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, waitFor } from './harness.mjs';

const T0 = 1764230400000;
const pts = (f) => Array.from({ length: 20 }, (_, i) => [T0 + i * 1000, f(i)]);

test('y_min and y_max fix the y axis; y_scale log makes it logarithmic', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.fixed.config', { type: 'chart', title: 'Fixed', order: 1, y_min: 0, y_max: 100 }],
    ['sv.fixed.data', { points: pts((i) => 40 + i) }],
    ['sv.free.config', { type: 'chart', title: 'Free', order: 2 }],
    ['sv.free.data', { points: pts((i) => 40 + i) }],
    ['sv.log.config', { type: 'chart', title: 'Log', order: 3, y_scale: 'log' }],
    ['sv.log.data', { points: pts((i) => 10 ** (i / 4)) }],
  ]);
  const y = (id) => page.evaluate((i) => {
    const p = document.querySelector(`[data-widget-id="${i}"] sv-chart`).plot;
    return p ? { min: p.scales.y.min, max: p.scales.y.max, distr: p.scales.y.distr } : null;
  }, id);
  await waitFor(async () => (await y('fixed')) && (await y('free')) && (await y('log')), 15000, 'three plots');
  const fixed = await y('fixed');
  assert.deepEqual([fixed.min, fixed.max], [0, 100]);
  const free = await y('free');
  assert.ok(free.min > 0 && free.max < 100, `without hints the axis follows the data: ${free.min}..${free.max}`);
  const log = await y('log');
  assert.equal(log.distr, 3, 'a log distribution');
  assert.ok(log.min > 0 && log.min <= 1 && log.max >= 10 ** (19 / 4), `log range ${log.min}..${log.max}`);
  // uPlot leaves most ticks of a log decade unlabelled (their value null): they get no text, not "-∞".
  const labels = await page.evaluate(() => document.querySelector('[data-widget-id="log"] sv-chart').plot.axes[1]._values);
  assert.ok(labels.includes('1') && labels.includes('10'), `the decades are labelled: ${JSON.stringify(labels)}`);
  assert.ok(labels.every((l) => /^(\d[\d,.]*|)$/.test(l)), `every y label is a number or empty: ${JSON.stringify(labels)}`);
  assert.deepEqual(errors, []);
});

test('a chart draws its thresholds as lines across the plot in their colours', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.th.config', { type: 'chart', title: 'Latency', y_min: 0, y_max: 100, thresholds: [[50, '#ff0000'], [200, '#00ff00']] }],
    ['sv.th.data', { points: pts((i) => 10 + (i % 3)) }],
  ]);
  await waitFor(() => page.evaluate(() => document.querySelector('sv-chart')?.plot != null), 15000, 'the plot');
  const seen = () => page.evaluate(() => {
    const u = document.querySelector('sv-chart').plot;
    const y = Math.round(u.valToPos(50, 'y', true));
    const d = u.ctx.getImageData(0, 0, u.ctx.canvas.width, u.ctx.canvas.height).data;
    const w = u.ctx.canvas.width;
    let red = 0;
    let green = 0;
    for (let x = Math.ceil(u.bbox.left); x < u.bbox.left + u.bbox.width; x++) {
      const i = 4 * (y * w + x);
      if (d[i] > 200 && d[i + 1] < 60 && d[i + 2] < 60) red++;
    }
    for (let i = 0; i < d.length; i += 4) if (d[i] < 60 && d[i + 1] > 200 && d[i + 2] < 60) green++;
    return { red, width: u.bbox.width, green };
  });
  await waitFor(async () => (await seen()).red > 0, 10000, 'a red line at 50');
  const s = await seen();
  assert.ok(s.red > s.width * 0.4, `the line at 50 runs across the plot, dashed (${s.red} of ${s.width} px)`);
  assert.equal(s.green, 0, 'a threshold outside the axis (200 > y_max) is not drawn');
  assert.deepEqual(errors, []);
});

test('y values past 1e32 keep their axis labels, and values from -1e308 to 1e308 still get a finite axis', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.e40.config', { type: 'chart', title: 'Unstable', order: 1 }],
    ['sv.e40.data', { points: pts((i) => i * 1e39) }],
    ['sv.span.config', { type: 'chart', title: 'Overflowing', order: 2 }],
    ['sv.span.data', { points: [[T0, -1e308], [T0 + 1000, 1e308], [T0 + 2000, 3]] }],
  ]);
  const axis = (id) => page.evaluate((i) => {
    const p = document.querySelector(`[data-widget-id="${i}"] sv-chart`).plot;
    return p ? { min: p.scales.y.min, max: p.scales.y.max, labels: p.axes[1]._values } : null;
  }, id);
  await waitFor(async () => (await axis('e40'))?.labels && (await axis('span'))?.labels, 15000, 'two plots with y labels');
  const big = await axis('e40');
  assert.ok(big.labels.length >= 3 && big.labels.includes('1e+40'), `labels ${big.labels}`);
  const span = await axis('span');
  assert.ok(Number.isFinite(span.max - span.min), `a range a double can measure: ${span.min}..${span.max}`);
  assert.ok(span.labels.length >= 3, `labels ${span.labels}`);
  assert.deepEqual(errors, []);
});
