// The page-wide pause: every widget (tables too) holds what it shows while updates keep arriving,
// the header says how many came in, and resume shows the latest at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, publish, waitFor } from './harness.mjs';

test('pause freezes a table and a stat while updates arrive; resume shows the latest', async (t) => {
  const { server, page, errors } = await openPage(t, [
    ['sv.s.config', { type: 'stat', title: 'Orders', order: 1 }],
    ['sv.s.data', { value: 1 }],
    ['sv.t.config', { type: 'table', title: 'Regions', order: 2, sort_by: 'region', sort_desc: false }],
    ['sv.t.data', { key: 'eu', row: { region: 'eu', n: 1 } }],
  ]);
  const stat = () => page.textContent('[data-widget-id="s"] .sv-stat-value');
  const keys = () => page.$$eval('[data-widget-id="t"] tr[data-key]', (trs) => trs.map((tr) => tr.dataset.key));
  await waitFor(async () => (await stat()) === '1' && (await keys()).length === 1, 15000, 'the first values');
  assert.equal(await page.isHidden('#sv-paused'), true);

  await page.click('#sv-pause');
  assert.equal(await page.getAttribute('#sv-pause', 'aria-pressed'), 'true');
  // One at a time, each counted before the next: the server may fold a stat's updates that
  // share a tick into the latest.
  const held = (n) => waitFor(async () => (await page.textContent('#sv-paused')) === `paused, ${n} new update${n === 1 ? '' : 's'}`, 10000, `${n} held updates counted`);
  await publish(server.nats, [['sv.s.data', { value: 2 }]]);
  await held(1);
  await publish(server.nats, [['sv.t.data', { key: 'us', row: { region: 'us', n: 2 } }]]);
  await held(2);
  await publish(server.nats, [['sv.s.data', { value: 3 }]]);
  await held(3);
  assert.equal(await stat(), '1', 'the stat holds its value');
  assert.deepEqual(await keys(), ['eu'], 'the table holds its rows');

  await page.click('#sv-pause');
  await waitFor(async () => (await stat()) === '3' && (await keys()).length === 2, 10000, 'the latest after resume');
  assert.deepEqual(await keys(), ['eu', 'us']);
  assert.equal(await page.isHidden('#sv-paused'), true);
  // Live again: the next update shows at once.
  await publish(server.nats, [['sv.s.data', { value: 4 }]]);
  await waitFor(async () => (await stat()) === '4', 10000, 'live updates after resume');
  assert.deepEqual(errors, []);
});

test('pause holds every chart with its own count of new points (a chart zoomed before stays zoomed after resume)', async (t) => {
  const T0 = 1764230400000;
  const pts = (from, n) => Array.from({ length: n }, (_, i) => [T0 + (from + i) * 1000, i % 5]);
  const { server, page, errors } = await openPage(t, [
    ['sv.a.config', { type: 'chart', title: 'A', order: 1 }],
    ['sv.a.data', { points: pts(0, 50) }],
    ['sv.b.config', { type: 'chart', title: 'B', order: 2 }],
    ['sv.b.data', { points: pts(0, 50) }],
  ]);
  const chart = (id) => `[data-widget-id="${id}"] sv-chart`;
  const view = (id) => page.evaluate((s) => {
    const c = document.querySelector(s);
    return { max: c.plot.scales.x.max, min: c.plot.scales.x.min, held: c.dataset.held ?? null, note: c.querySelector('.sv-held-text').textContent };
  }, chart(id));
  await waitFor(() => page.evaluate((s) => document.querySelector(s)?.plot?.scales.x.max === (1764230400000 + 49000) / 1000, chart('b')), 15000, 'the charts');
  // B zoomed by its reader first (the + key on the focused chart).
  await page.locator(`${chart('b')} .sv-chart-plot`).focus();
  await page.keyboard.press('+');
  await waitFor(async () => (await view('b')).held === '1', 5000, 'b zoomed');
  const zoomedB = await view('b');

  await page.click('#sv-pause');
  await waitFor(async () => (await view('a')).held === '1', 5000, 'a held by the pause');
  const before = await view('a');
  await publish(server.nats, [['sv.a.data', { points: pts(50, 7) }], ['sv.b.data', { points: pts(50, 3) }]]);
  await waitFor(async () => (await view('a')).note === 'paused, 7 new points' && (await view('b')).note === 'paused, 3 new points', 10000, 'each chart counts its points');
  assert.equal((await view('a')).max, before.max, 'a holds its range');
  assert.equal(await page.textContent('#sv-paused'), 'paused, 2 new updates');

  await page.click('#sv-pause');
  await waitFor(async () => (await view('a')).max === (T0 + 56000) / 1000 && (await view('a')).held === null, 5000, 'a live again');
  const b = await view('b');
  assert.deepEqual([b.min, b.max, b.held], [zoomedB.min, zoomedB.max, '1'], 'b keeps the zoom its reader chose');
  assert.deepEqual(errors, []);
});
