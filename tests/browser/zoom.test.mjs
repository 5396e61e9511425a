// Zoom, pan and pause on a live chart: a zoomed chart (drag, Ctrl+wheel, keys) holds its view while
// points keep arriving, says "paused, N new points", and "resume" (or a double-click) returns it
// to live; a wheel on a held chart zooms its x range around the pointer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, publish, waitFor } from './harness.mjs';

const T0 = 1764230400000;
const pts = (from, n) => Array.from({ length: n }, (_, i) => [T0 + (from + i) * 1000, Math.sin((from + i) / 5)]);
const SEL = '[data-widget-id="live"] sv-chart';
const xScale = (page) => page.evaluate((s) => {
  const u = document.querySelector(s).plot;
  return { min: u.scales.x.min, max: u.scales.x.max, last: u.data[0][u.data[0].length - 1] };
}, SEL);
const pointsHeld = (page) => page.evaluate((s) => Number(document.querySelector(s)?.dataset.points), SEL);

async function livePage(t) {
  const opened = await openPage(t, [
    ['sv.live.config', { type: 'chart', title: 'Live', max_points: 1000 }],
    ['sv.live.data', { points: pts(0, 200) }],
  ], { path: '/embed/live', viewport: { width: 1000, height: 600 } });
  await waitFor(async () => (await pointsHeld(opened.page)) === 200 && (await xScale(opened.page)).max === (T0 + 199000) / 1000, 15000, 'the chart');
  return opened;
}

test('a drag-zoomed chart holds its range while points arrive, counts them, and resume returns to live', async (t) => {
  const { server, page, errors } = await livePage(t);
  const box = await page.locator(`${SEL} .u-over`).boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await waitFor(() => page.evaluate((s) => document.querySelector(s).dataset.held === '1', SEL), 5000, 'the hold');
  const zoomed = await xScale(page);
  assert.ok(zoomed.max - zoomed.min < 199 * 0.4, `zoomed to ${zoomed.min}..${zoomed.max}`);
  const note = page.locator(`${SEL} .sv-held`);
  assert.equal(await note.locator('.sv-held-text').textContent(), 'paused, 0 new points');

  await publish(server.nats, [['sv.live.data', { points: pts(200, 30) }], ['sv.live.data', { points: pts(230, 20) }]]);
  await waitFor(async () => (await pointsHeld(page)) === 250, 10000, 'the new points in the state');
  await waitFor(async () => (await note.locator('.sv-held-text').textContent()) === 'paused, 50 new points', 5000, 'the count');
  assert.deepEqual(await xScale(page), zoomed, 'the view holds: same range, same newest drawn point');

  await page.getByRole('button', { name: 'resume' }).click();
  await waitFor(async () => (await xScale(page)).max === (T0 + 249000) / 1000, 5000, 'live again, to the newest point');
  assert.equal(await note.isHidden(), true, 'the note goes');
  assert.equal((await xScale(page)).min, T0 / 1000, 'the whole range again');
  // Live again: the next points move the view.
  await publish(server.nats, [['sv.live.data', { points: pts(250, 5) }]]);
  await waitFor(async () => (await xScale(page)).max === (T0 + 254000) / 1000, 5000, 'following the data');
  assert.deepEqual(errors, []);
});

test('Ctrl+wheel zooms the x range around the pointer, a plain wheel zooms a held chart further, and double-click returns to live', async (t) => {
  const { server, page, errors } = await livePage(t);
  const box = await page.locator(`${SEL} .u-over`).boundingBox();
  const before = await xScale(page);
  // Over the plot, at three quarters of its width.
  await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2);
  const at = await page.evaluate(([s, px]) => document.querySelector(s).plot.posToVal(px, 'x'), [SEL, box.width * 0.75]);
  await page.keyboard.down('Control');
  await page.mouse.wheel(0, -300);
  await page.keyboard.up('Control');
  await waitFor(async () => (await xScale(page)).max - (await xScale(page)).min < before.max - before.min, 5000, 'a narrower x range');
  const z1 = await xScale(page);
  assert.ok(z1.min > before.min && z1.max < before.max, `inside the data: ${z1.min}..${z1.max}`);
  assert.ok(z1.min < at && at < z1.max, 'around the pointer');
  assert.equal(await page.evaluate((s) => document.querySelector(s).dataset.held, SEL), '1', 'zooming holds the view');
  // Held: a plain wheel zooms too (outward here), and new points do not move it.
  await page.mouse.wheel(0, 100);
  await waitFor(async () => (await xScale(page)).max - (await xScale(page)).min > z1.max - z1.min, 5000, 'a wider x range');
  const z2 = await xScale(page);
  await publish(server.nats, [['sv.live.data', { points: pts(200, 10) }]]);
  await waitFor(async () => (await page.locator(`${SEL} .sv-held-text`).textContent()) === 'paused, 10 new points', 10000, 'the count');
  assert.deepEqual(await xScale(page), z2);
  await page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
  await waitFor(async () => (await xScale(page)).max === (T0 + 209000) / 1000, 5000, 'live again');
  assert.equal(await page.evaluate((s) => document.querySelector(s).dataset.held, SEL), undefined);
  assert.deepEqual(errors, []);
});

test('a plain wheel over a live chart leaves it live (the wheel is the page\u2019s, to scroll)', async (t) => {
  const { page, errors } = await livePage(t);
  const box = await page.locator(`${SEL} .u-over`).boundingBox();
  const before = await xScale(page);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  // The embed page does not scroll, so the wheel's effect is only what the chart did with it.
  await page.mouse.wheel(0, -300);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  assert.deepEqual(await xScale(page), before);
  assert.equal(await page.evaluate((s) => document.querySelector(s).dataset.held, SEL), undefined);
  assert.deepEqual(errors, []);
});

test('from the keyboard: + zooms the focused chart in, 0 returns to live', async (t) => {
  const { page, errors } = await livePage(t);
  const before = await xScale(page);
  await page.locator(`${SEL} .sv-chart-plot`).focus();
  await page.keyboard.press('+');
  await waitFor(async () => (await xScale(page)).max - (await xScale(page)).min < before.max - before.min, 5000, 'zoomed in');
  await page.keyboard.press('0');
  await waitFor(async () => JSON.stringify(await xScale(page)) === JSON.stringify(before), 5000, 'the whole range');
  assert.deepEqual(errors, []);
});

test('a held chart pans with Shift+wheel, keeping the width of its range', async (t) => {
  const { page, errors } = await livePage(t);
  const box = await page.locator(`${SEL} .u-over`).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.keyboard.down('Control');
  await page.mouse.wheel(0, -500);
  await page.keyboard.up('Control');
  await waitFor(() => page.evaluate((s) => document.querySelector(s).dataset.held === '1', SEL), 5000, 'zoomed');
  const z = await xScale(page);
  await page.keyboard.down('Shift');
  await page.mouse.wheel(0, -100);
  await page.keyboard.up('Shift');
  await waitFor(async () => (await xScale(page)).min < z.min, 5000, 'panned back in time');
  const p = await xScale(page);
  assert.ok(Math.abs((p.max - p.min) - (z.max - z.min)) < 1e-6, `same width: ${p.max - p.min} vs ${z.max - z.min}`);
  assert.deepEqual(errors, []);
});

test('two fingers spread on a chart zoom it in (pinch)', async (t) => {
  const { page, errors } = await livePage(t);
  const box = await page.locator(`${SEL} .u-over`).boundingBox();
  const before = await xScale(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 2 });
  const y = box.y + box.height / 2;
  const cx = box.x + box.width / 2;
  const touch = (type, d) => cdp.send('Input.dispatchTouchEvent', {
    type,
    touchPoints: type === 'touchEnd' ? [] : [{ x: cx - d, y, id: 0 }, { x: cx + d, y, id: 1 }],
  });
  await touch('touchStart', 40);
  for (const d of [60, 90, 130, 180]) await touch('touchMove', d);
  await touch('touchEnd', 0);
  await waitFor(async () => (await xScale(page)).max - (await xScale(page)).min < (before.max - before.min) * 0.7, 5000, 'a narrower range');
  assert.equal(await page.evaluate((s) => document.querySelector(s).dataset.held, SEL), '1');
  assert.deepEqual(errors, []);
});
