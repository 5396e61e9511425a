// Charts as a reader sees them: a tooltip at the cursor that stays on its point while the data
// scrolls, axis labels that never collide or get clipped at any width over live data, a sensible
// x range for a single point, and colours that survive forced-colours mode.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, publish, waitFor } from './harness.mjs';

const T0 = 1764230400000;
const frames = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
const points = (page, id) => page.evaluate((i) => document.querySelector(`[data-widget-id="${i}"] sv-chart`)?.dataset.points, id);

test('the tooltip shows x and every visible series at the cursor and stays on its point while the chart scrolls', async (t) => {
  const pts = (from, n, f) => Array.from({ length: n }, (_, i) => [T0 + (from + i) * 1000, f(from + i)]);
  const { server, page, errors } = await openPage(t, [
    ['sv.lat.config', { type: 'chart', title: 'Latency', unit: 'ms', max_points: 30 }],
    ['sv.lat.data', { points: pts(0, 30, (i) => i + 0.25) }],
    ['sv.lat.data', { series: 'p99', points: pts(0, 30, (i) => 100 + i) }],
  ], { path: '/embed/lat', viewport: { width: 1024, height: 768 } });
  await waitFor(async () => (await points(page, 'lat')) === '60', 15000, 'the chart');
  await frames(page);
  const over = page.locator('[data-widget-id="lat"] .u-over');
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const tip = page.locator('[data-widget-id="lat"] .sv-tip');
  await waitFor(() => tip.isVisible(), 5000, 'the tooltip');
  const before = await tip.locator('div').allTextContents();
  assert.equal(before.length, 3, `x and two series: ${before}`);
  // The default series beside a named one is not the chart's title, which would read as a caption.
  assert.match(before[1], /^\(unnamed\): \d+\.25 ms$/);
  assert.match(before[2], /^p99: \d+ ms$/);
  const n = Number(/(\d+)\.25/.exec(before[1])[1]);
  assert.equal(before[2], `p99: ${100 + n} ms`, 'both series read at the same x');
  const tipX = () => tip.evaluate((e) => new DOMMatrix(getComputedStyle(e).transform).m41);
  const x0 = await tipX();
  // New points push the oldest out: every point moves left under the still pointer.
  await publish(server.nats, [['sv.lat.data', { points: pts(30, 4, (i) => i + 0.25) }], ['sv.lat.data', { series: 'p99', points: pts(30, 4, (i) => 100 + i) }]]);
  await waitFor(() => page.evaluate(() => document.querySelector('[data-widget-id="lat"] sv-chart').plot.data[0].length === 30
    && document.querySelector('[data-widget-id="lat"] sv-chart').plot.data[0][0] === (1764230400000 + 4000) / 1000), 10000, 'the chart scrolled');
  await frames(page);
  assert.deepEqual(await tip.locator('div').allTextContents(), before, 'the tooltip stays on the point it was on');
  assert.ok(await tipX() < x0 - 10, 'and moves with it as the chart scrolls');
  // Hiding a series drops it from the reading.
  await page.getByRole('button', { name: /^p99/ }).click();
  await page.mouse.move(box.x + box.width / 2 + 1, box.y + box.height / 2);
  await waitFor(async () => (await tip.locator('div').count()) === 2, 5000, 'only the visible series');
  assert.deepEqual(errors, []);
});

test('one point gets an x range of about a minute, not years', async (t) => {
  const { server, page, errors } = await openPage(t, [['sv.one.config', { type: 'chart', title: 'One' }], ['sv.one.data', { points: [[T0, 5]] }]], { path: '/embed/one' });
  await waitFor(async () => (await points(page, 'one')) === '1', 15000, 'the point');
  await frames(page);
  const { min, max } = await page.evaluate(() => document.querySelector('sv-chart').plot.scales.x);
  assert.ok(min < T0 / 1000 && max > T0 / 1000 && max - min <= 120, `x range ${min}..${max}: ${max - min}s`);
  await publish(server.nats, [['sv.one.data', { x: T0 + 3000, y: 6 }]]);
  await waitFor(async () => (await points(page, 'one')) === '2', 10000, 'a second point');
  await frames(page);
  const r = await page.evaluate(() => document.querySelector('sv-chart').plot.scales.x);
  assert.ok(r.max - r.min <= 10, `two points 3 s apart span ${r.max - r.min}s`);
  assert.deepEqual(errors, []);
});

/** Every drawn tick label's box on both axes of the chart in card `id`, in canvas pixels. */
function labelBoxes(page, id) {
  return page.evaluate((i) => {
    const u = document.querySelector(`[data-widget-id="${i}"] sv-chart`).plot;
    const ctx = u.ctx;
    const dpr = devicePixelRatio;
    const out = { width: u.ctx.canvas.width, x: [], y: [] };
    const [xa, ya] = u.axes;
    ctx.save();
    ctx.font = xa.font[0];
    xa._values.forEach((v, k) => {
      if (v == null || v === '') return;
      const pos = Math.round(u.valToPos(xa._splits[k], 'x', true));
      const w = ctx.measureText(String(v)).width;
      out.x.push({ v: String(v), l: pos - w / 2, r: pos + w / 2 });
    });
    ctx.font = ya.font[0];
    const room = (ya._size - ya.ticks.size - ya.gap) * dpr;
    ya._values.forEach((v) => {
      if (v == null || v === '') return;
      out.y.push({ v: String(v), w: ctx.measureText(String(v)).width, room });
    });
    ctx.restore();
    return out;
  }, id);
}

// A frozen page never answers page.evaluate: the test's own bound turns that into a failure.
test('x past the last date JavaScript has (nanosecond timestamps) go on a number axis, drawn, without freezing the page', { timeout: 300000 }, async (t) => {
  // time.time_ns() as x: 1.76e18, read as milliseconds it is no date at all.
  const ns = 1764230400000000000;
  const { server, page, errors } = await openPage(t, [['sv.ns.config', { type: 'chart', title: 'Nanoseconds' }]], { path: '/embed/ns' });
  await waitFor(() => page.evaluate(() => document.body.dataset.ready === '1'), 15000, 'the page');
  await page.evaluate(() => {
    window.longest = 0;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.longest = Math.max(window.longest, e.duration); }).observe({ type: 'longtask' });
  });
  await publish(server.nats, [['sv.ns.data', { points: [[ns, 1], [ns + 1e9, 2], [ns + 2e9, 3]] }]]);
  await waitFor(async () => (await points(page, 'ns')) === '3', 15000, 'the points');
  await waitFor(() => page.evaluate(() => document.querySelector('sv-chart').plot?.axes[0]._values?.length > 0), 15000, 'x tick labels');
  const axis = await page.evaluate(() => {
    const p = document.querySelector('sv-chart').plot;
    return { time: p.scales.x.time, labels: p.axes[0]._values, label: p.root.parentElement.getAttribute('aria-label') };
  });
  assert.equal(axis.time, false, 'a number axis');
  assert.ok(axis.labels.every((l) => l !== '' && !/Invalid|NaN/.test(l)), `tick labels ${axis.labels}`);
  assert.doesNotMatch(axis.label, /Invalid Date/);
  assert.ok(await page.evaluate(() => window.longest) < 2000, `no task of seconds (longest ${await page.evaluate(() => window.longest)} ms)`);
  assert.deepEqual(errors, []);
});

test('a time axis whose ticks fall under a second apart (a chart\u2019s first seconds) never shows one label twice', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.new.config', { type: 'chart', title: 'Just started' }],
    ['sv.new.data', { points: [[T0, 1], [T0 + 1000, 2], [T0 + 2000, 3]] }],
  ], { path: '/embed/new', viewport: { width: 1024, height: 600 } });
  await waitFor(() => page.evaluate(() => document.querySelector('sv-chart')?.plot?.axes[0]._values?.length > 0), 15000, 'x tick labels');
  const labels = await page.evaluate(() => document.querySelector('sv-chart').plot.axes[0]._values);
  assert.ok(labels.length >= 3, `${labels}`);
  assert.equal(new Set(labels).size, labels.length, `every tick its own label: ${labels}`);
  assert.deepEqual(errors, []);
});

test('axis labels never collide or get clipped, at every width from 320 px and over live data', async (t) => {
  const { server, page, errors } = await openPage(t, [
    ['sv.time.config', { type: 'chart', title: 'Time', order: 1 }],
    ['sv.num.config', { type: 'chart', title: 'Steps', order: 2 }],
    ['sv.one.config', { type: 'chart', title: 'One point', order: 3 }],
    ['sv.one.data', { points: [[T0, 123456789.5]] }],
  ]);
  let k = 0;
  for (const width of [320, 375, 480, 600, 768, 1024, 1440, 2560]) {
    await page.setViewportSize({ width, height: 1000 });
    // A minute of live data per width: seconds ticks, then minutes, as the span grows.
    for (let round = 0; round < 3; round++) {
      const batch = Array.from({ length: 20 }, () => { k++; return k; });
      await publish(server.nats, [
        ['sv.time.data', { points: batch.map((i) => [T0 + i * 1000 * (1 + round * 10), 1e6 * Math.sin(i / 7)]) }],
        ['sv.num.data', { points: batch.map((i) => [1e6 + i * 1234.5, i % 2 ? 0.001 * i : 98765.4321]) }],
      ]);
      await waitFor(async () => (await points(page, 'time')) === String(k) && (await points(page, 'num')) === String(k), 10000, `${width}px round ${round}`);
      await waitFor(() => page.evaluate(() => [...document.querySelectorAll('sv-chart')].every((c) => c.plot
        && Math.abs(c.plot.width - c.querySelector('.sv-chart-plot').clientWidth) <= 1)), 10000, 'charts resized');
      await frames(page);
      for (const id of ['time', 'num', 'one']) {
        const b = await labelBoxes(page, id);
        assert.ok(b.x.length >= 1, `${width}px ${id}: no x labels`);
        b.x.forEach((l, i) => {
          assert.ok(l.l >= 0 && l.r <= b.width, `${width}px ${id}: x label "${l.v}" clipped (${l.l.toFixed(1)}..${l.r.toFixed(1)} of ${b.width})`);
          if (i > 0) assert.ok(l.l >= b.x[i - 1].r + 2, `${width}px ${id}: x labels "${b.x[i - 1].v}" and "${l.v}" collide`);
        });
        for (const l of b.y) assert.ok(l.w <= l.room + 0.5, `${width}px ${id}: y label "${l.v}" (${l.w.toFixed(1)}px) clipped in ${l.room}px`);
      }
    }
  }
  assert.deepEqual(errors, []);
});

/** WCAG contrast ratio of two rgb()/rgba() colours. */
function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

test('in forced-colours mode the gauge number, the status dot and the chart strokes stay visible', async (t) => {
  const { server, page, errors } = await openPage(t, [
    ['sv.g.config', { type: 'gauge', title: 'Load', unit: '%', order: 1, thresholds: [[50, '#22c55e'], [100, '#1a1a1a']] }],
    ['sv.g.data', { value: 73 }],
    ['sv.c.config', { type: 'chart', title: 'Trend', order: 2, color: '#222222' }],
    ['sv.c.data', { points: [[T0, 1], [T0 + 1000, 2]] }],
    ['sv.c.data', { series: 'b', points: [[T0, 2], [T0 + 1000, 1]] }],
  ]);
  for (const scheme of ['dark', 'light']) {
    await page.emulateMedia({ forcedColors: 'active', colorScheme: scheme });
    await page.goto(`http://${server.http}/`);
    await waitFor(() => page.evaluate(() => document.querySelector('#sv-conn')?.dataset.state === 'live'
      && document.querySelector('[data-widget-id="c"] sv-chart')?.plot), 15000, 'the page');
    await frames(page);
    const c = await page.evaluate(() => {
      const cs = (e, p) => getComputedStyle(e, p);
      const card = document.querySelector('[data-widget-id="g"]');
      const u = document.querySelector('[data-widget-id="c"] sv-chart').plot;
      const canvasBg = cs(document.querySelector('[data-widget-id="c"]')).backgroundColor;
      const norm = (col) => { const e = document.createElement('i'); e.style.color = col; document.body.append(e); const v = cs(e).color; e.remove(); return v; };
      return {
        gaugeFill: cs(document.querySelector('.sv-gauge-value')).fill,
        arc: cs(document.querySelector('.sv-gauge-arc')).stroke,
        cardBg: cs(card).backgroundColor,
        dot: cs(document.querySelector('#sv-conn'), '::before').backgroundColor,
        headerBg: cs(document.querySelector('.sv-header')).backgroundColor,
        strokes: u.series.slice(1).map((s) => norm(typeof s.stroke === 'function' ? s.stroke(u, 1) : s.stroke)),
        dashes: u.series.slice(1).map((s) => JSON.stringify(s.dash ?? [])),
        axis: norm(typeof u.axes[0].stroke === 'function' ? u.axes[0].stroke(u, 0) : u.axes[0].stroke),
        canvasBg,
      };
    });
    assert.ok(contrast(c.gaugeFill, c.cardBg) >= 4.5, `${scheme}: gauge number ${c.gaugeFill} on ${c.cardBg}`);
    assert.ok(contrast(c.arc, c.cardBg) >= 3, `${scheme}: gauge arc ${c.arc} on ${c.cardBg}`);
    assert.ok(contrast(c.dot, c.headerBg) >= 3, `${scheme}: status dot ${c.dot} on ${c.headerBg}`);
    for (const s of [...c.strokes, c.axis]) assert.ok(contrast(s, c.canvasBg) >= 4.5, `${scheme}: chart stroke ${s} on ${c.canvasBg}`);
    assert.equal(new Set(c.dashes).size, c.dashes.length, `${scheme}: series told apart by dashes: ${c.dashes}`);
  }
  assert.deepEqual(errors, []);
});

// A series name is data (a Pathway series_column holds whatever the rows hold): a right-to-left
// override (U+202E) in it must not reach past the name and turn the value beside it around,
// making 12.5 read 5.21 in the tooltip.
test('a bidi override in a series name does not reverse the value the tooltip shows beside it', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.spoof.config', { type: 'chart', title: 'Spoof', max_points: 10 }],
    ['sv.spoof.data', { series: 'p50\u202e', points: [[T0, 12.5], [T0 + 1000, 12.5]] }],
  ], { path: '/embed/spoof', viewport: { width: 1024, height: 768 } });
  await waitFor(async () => (await points(page, 'spoof')) === '2', 15000, 'the chart');
  await frames(page);
  const box = await page.locator('[data-widget-id="spoof"] .u-over').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const tip = page.locator('[data-widget-id="spoof"] .sv-tip');
  await waitFor(() => tip.isVisible(), 5000, 'the tooltip');
  const line = tip.locator('div').nth(1);
  assert.equal(await line.textContent(), 'p50\u202e: 12.5', 'the text is kept whole');
  // Where each digit of the value is drawn: left to right as written, or turned around.
  const xs = await line.evaluate((div) => {
    const walker = document.createTreeWalker(div, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const at = n.data.indexOf('12.5');
      if (at < 0) continue;
      return [0, 1, 2, 3].map((i) => {
        const r = document.createRange();
        r.setStart(n, at + i);
        r.setEnd(n, at + i + 1);
        return r.getBoundingClientRect().left;
      });
    }
    return null;
  });
  assert.ok(xs, 'the value is in the tooltip');
  assert.deepEqual([...xs].sort((a, b) => a - b), xs, `12.5 drawn in its order, not reversed: x of 1, 2, ., 5 = ${xs}`);
  assert.deepEqual(errors, []);
});
