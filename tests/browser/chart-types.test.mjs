// Chart types as a reader sees them: line, area, bar, scatter, stacked_bar and stacked_area each
// draw the same data differently (pixels of their canvases compared); stacked types put each
// series on the ones below it and still read out each series' own value.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { openPage, waitFor } from './harness.mjs';

const T0 = 1764230400000;
const TYPES = ['line', 'area', 'bar', 'scatter', 'stacked_bar', 'stacked_area'];
const N = 12;
const A = (i) => 1 + (i % 3);
const B = (i) => 2 + (i % 2);
const C = (i) => 4 - (i % 4);
const frames = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

function widgets() {
  const msgs = [];
  TYPES.forEach((type, k) => {
    msgs.push([`sv.${type}.config`, { type: 'chart', title: type, chart_type: type, order: k, width: 2, height: 260 }]);
    for (const [name, f] of [['a', A], ['b', B], ['c', C]]) {
      // Series c has no point at x 5: a stacked chart counts it as 0 there.
      const pts = Array.from({ length: N }, (_, i) => [T0 + i * 1000, f(i)]).filter(([x]) => !(name === 'c' && x === T0 + 5000));
      msgs.push([`sv.${type}.data`, { series: name, points: pts }]);
    }
  });
  return msgs;
}

/** Every chart's canvas as RGBA bytes (base64), with its size. */
function canvases(page) {
  return page.evaluate((types) => types.map((t) => {
    const c = document.querySelector(`[data-widget-id="${t}"] sv-chart`).plot.ctx.canvas;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let bin = '';
    for (let i = 0; i < d.length; i += 0x8000) bin += String.fromCharCode(...d.subarray(i, i + 0x8000));
    return { type: t, width: c.width, height: c.height, rgba: btoa(bin) };
  }), TYPES);
}

/** Share of pixels that differ clearly (any channel by more than 24) between two canvases. */
function differing(a, b) {
  const x = Buffer.from(a.rgba, 'base64');
  const y = Buffer.from(b.rgba, 'base64');
  let n = 0;
  for (let i = 0; i < x.length; i += 4) {
    if (Math.abs(x[i] - y[i]) > 24 || Math.abs(x[i + 1] - y[i + 1]) > 24 || Math.abs(x[i + 2] - y[i + 2]) > 24) n++;
  }
  return n / (x.length / 4);
}

test('each chart type draws the same three series visibly differently', async (t) => {
  const { page, errors } = await openPage(t, widgets(), { viewport: { width: 1280, height: 1100 } });
  await waitFor(() => page.evaluate(([types, n]) => types.every((ty) => document.querySelector(`[data-widget-id="${ty}"] sv-chart`)?.dataset.points === String(n)
    && document.querySelector(`[data-widget-id="${ty}"] sv-chart`).plot), [TYPES, 3 * N - 1]), 15000, 'every chart with its points');
  await frames(page);
  const shots = await canvases(page);
  if (process.env.SV_SHOTS) for (const s of shots) await page.locator(`[data-widget-id="${s.type}"]`).screenshot({ path: `${process.env.SV_SHOTS}/${s.type}.png` });
  const { width, height } = shots[0];
  for (const s of shots) assert.deepEqual([s.width, s.height], [width, height], `${s.type}: same canvas size as ${shots[0].type}`);
  for (let i = 0; i < shots.length; i++) {
    for (let j = i + 1; j < shots.length; j++) {
      const d = differing(shots[i], shots[j]);
      assert.ok(d > 0.01, `${shots[i].type} and ${shots[j].type} differ in only ${(d * 100).toFixed(2)}% of pixels`);
    }
  }
  assert.deepEqual(errors, []);
});

test('stacked charts stack the series (a missing point counts as 0) and read out each series\u2019 own value', async (t) => {
  const { page, errors } = await openPage(t, widgets(), { viewport: { width: 1280, height: 1100 } });
  for (const type of ['stacked_bar', 'stacked_area']) {
    const sel = `[data-widget-id="${type}"] sv-chart`;
    await waitFor(() => page.evaluate((s) => document.querySelector(s)?.dataset.points === '35' && document.querySelector(s).plot, sel), 15000, type);
    await frames(page);
    const { data, ymax } = await page.evaluate((s) => {
      const u = document.querySelector(s).plot;
      return { data: u.data.map((c) => [...c]), ymax: u.scales.y.max };
    }, sel);
    const want = Array.from({ length: N }, (_, i) => {
      const c = i === 5 ? 0 : C(i);
      return [A(i), A(i) + B(i), A(i) + B(i) + c];
    });
    assert.deepEqual(data.slice(1).map((col) => col.map((v) => v)), [0, 1, 2].map((k) => want.map((r) => r[k])), `${type}: running sums`);
    const top = Math.max(...want.map((r) => r[2]));
    assert.ok(ymax >= top, `${type}: y axis reaches the top of the stack (${ymax} < ${top})`);
    // The tooltip at x 5 names each series' own value, and says that c has no point there.
    const at = await page.evaluate((s) => {
      const u = document.querySelector(s).plot;
      const r = u.over.getBoundingClientRect();
      return { x: r.left + u.valToPos(u.data[0][5], 'x'), y: r.top + r.height / 2 };
    }, sel);
    await page.mouse.move(at.x, at.y);
    const tip = page.locator(`[data-widget-id="${type}"] .sv-tip`);
    await waitFor(async () => (await tip.locator('div').count()) === 4, 5000, `${type}: the tooltip`);
    assert.deepEqual((await tip.locator('div').allTextContents()).slice(1), [`a: ${A(5)}`, `b: ${B(5)}`, 'c: no point'], type);
    await page.mouse.move(0, 0);
  }
  assert.deepEqual(errors, []);
});
