// Numbers without a format keep a stable number of decimals, chosen from the data: a gauge does
// not jump between 59.66, 59.8 and 60, and a column does not print 7,167.3 beside 7,440.29.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, publish, waitFor } from './harness.mjs';

test('a gauge, a stat and a table column keep the decimals their data has needed', async (t) => {
  const { server, page, errors } = await openPage(t, [
    ['sv.cpu.config', { type: 'gauge', title: 'CPU', order: 1 }],
    ['sv.cpu.data', { value: 59.66 }],
    ['sv.n.config', { type: 'stat', title: 'Orders', order: 2 }],
    ['sv.n.data', { value: 12 }],
    ['sv.fmt.config', { type: 'stat', title: 'Formatted', format: '.1f', order: 3 }],
    ['sv.fmt.data', { value: 2.26 }],
    ['sv.t.config', { type: 'table', title: 'Sales', order: 4, columns: ['region', 'revenue'], sort_by: 'region', sort_desc: false }],
    ['sv.t.data', { ops: [{ key: 'a', row: { region: 'a', revenue: 7167.3 } }, { key: 'b', row: { region: 'b', revenue: 7440.29 } }] }],
  ]);
  const gauge = () => page.textContent('[data-widget-id="cpu"] .sv-gauge-value');
  const cells = () => page.$$eval('[data-widget-id="t"] tr[data-key] td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
  await waitFor(async () => (await gauge()) === '59.66' && (await cells()).length === 2, 15000, 'the first values');
  assert.deepEqual(await cells(), ['7,167.30', '7,440.29']);
  assert.equal(await page.textContent('[data-widget-id="n"] .sv-stat-value'), '12', 'integers stay integers');
  assert.equal(await page.textContent('[data-widget-id="fmt"] .sv-stat-value'), '2.3', 'a given format wins');
  for (const [v, want] of [[59.8, '59.80'], [60, '60.00'], [61.5, '61.50']]) {
    await publish(server.nats, [['sv.cpu.data', { value: v }]]);
    await waitFor(async () => (await gauge()) === want, 10000, `the gauge at ${want} (shows ${await gauge()})`);
  }
  // A stat's change carries the value's decimals as well.
  // One value at a time, each waited for: updates within one server tick are coalesced.
  await publish(server.nats, [['sv.d.config', { type: 'stat', title: 'Price', order: 5 }], ['sv.d.data', { value: 10.14 }]]);
  await waitFor(async () => (await page.textContent('[data-widget-id="d"] .sv-stat-value')) === '10.14', 10000, 'the price');
  await publish(server.nats, [['sv.d.data', { value: 10.28 }]]);
  const delta = () => page.textContent('[data-widget-id="d"] .sv-stat-delta');
  await waitFor(async () => /^▲ \+0\.14 /.test(await delta()), 10000, 'the first change');
  await publish(server.nats, [['sv.d.data', { value: 10.48 }]]);
  await waitFor(async () => /^▲ \+0\.20 /.test(await delta()), 10000, `the change as +0.20 (shows ${await delta()})`);
  await publish(server.nats, [['sv.t.data', { key: 'c', row: { region: 'c', revenue: 10 } }]]);
  await waitFor(async () => (await cells()).length === 3, 10000, 'a third row');
  assert.deepEqual(await cells(), ['7,167.30', '7,440.29', '10.00']);
  assert.deepEqual(errors, []);
});

test('a gauge whose scale spans most of the doubles (-1e308 to 1e308) draws 0 as half its arc', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.wide.config', { type: 'gauge', title: 'Wide', min: -1e308, max: 1e308 }],
    ['sv.wide.data', { value: 0 }],
  ], { path: '/embed/wide' });
  const arc = () => page.getAttribute('.sv-gauge-arc', 'd');
  await waitFor(async () => (await page.textContent('.sv-gauge-value')) === '0', 15000, 'the value');
  // Half of the 240° arc ends at its top, straight above the centre (100, 95) at radius 80.
  assert.match(await arc(), / 100\.00 15\.00$/, `the arc: ${await arc()}`);
  assert.deepEqual(errors, []);
});

test('a stat whose change overflows a double (1e308, then -1e308) shows it falling, as −∞', async (t) => {
  const { server, page, errors } = await openPage(t, [
    ['sv.big.config', { type: 'stat', title: 'Big', unit: 'J' }],
    ['sv.big.data', { value: 1e308 }],
  ], { path: '/embed/big' });
  await waitFor(async () => (await page.textContent('.sv-stat-value')) === '1e+308', 15000, 'the first value');
  await publish(server.nats, [['sv.big.data', { value: -1e308 }]]);
  const delta = page.locator('.sv-stat-delta');
  await waitFor(async () => (await page.textContent('.sv-stat-value')) === '-1e+308', 15000, 'the second value');
  assert.equal(await delta.textContent(), '▼ −∞ J');
  assert.equal(await delta.getAttribute('data-dir'), 'down');
  assert.deepEqual(errors, []);
});
