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
