import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, newPage, publish, startServer, waitFor } from './harness.mjs';

const legend = (page, id) => page.evaluate((wid) =>
  [...document.querySelectorAll(`[data-widget-id="${wid}"] .sv-legend-label`)].map((e) => e.textContent), id);

test('chart legends name each series: the default one by its label or the title, the others by name', async (t) => {
  const server = await startServer({});
  t.after(() => server.stop());
  await publish(server.nats, [
    ['sv.labelled.config', { type: 'chart', title: 'Revenue per window', label: 'total' }],
    ['sv.labelled.data', { points: [[1, 1], [2, 2]] }],
    ['sv.titled.config', { type: 'chart', title: 'Latency' }],
    ['sv.titled.data', { points: [[1, 1]] }],
    ['sv.tiers.config', { type: 'chart', title: 'Per tier' }],
    ['sv.tiers.data', { series: 'gold', points: [[1, 5]] }],
    ['sv.tiers.data', { series: 'free', points: [[1, 8]] }],
  ]);
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(`http://${server.http}/`);
  await waitFor(async () => (await legend(page, 'tiers')).length === 2, 10000, 'the tiers legend');
  assert.deepEqual(await legend(page, 'labelled'), ['total']);
  assert.deepEqual(await legend(page, 'titled'), ['Latency']);
  assert.deepEqual(await legend(page, 'tiers'), ['free', 'gold']);
  assert.deepEqual(errors, []);
});

test('a table over the row limit says how many rows it has and that the limit was reached', async (t) => {
  const server = await startServer({ extraArgs: ['--max-table-rows', '3'] });
  t.after(() => server.stop());
  const row = (k) => ({ key: k, row: { k, v: 1 } });
  await publish(server.nats, [
    ['sv.big.config', { type: 'table', title: 'Big', max_rows: 2 }],
    ['sv.big.data', { ops: ['a', 'b', 'c', 'd', 'e'].map(row) }],
  ]);
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(`http://${server.http}/`);
  const foot = () => page.evaluate(() => document.querySelector('[data-widget-id="big"] .sv-table-foot')?.textContent);
  await waitFor(async () => /limit reached/.test((await foot()) ?? ''), 10000, 'the limit note');
  assert.equal(await foot(), 'showing 2 of 5 rows; limit reached (3 held)');
  // Deleting a refused key and a held one: the table fits again and the note goes.
  await publish(server.nats, [['sv.big.data', { ops: [{ key: 'e', delete: true }, { key: 'd', delete: true }, { key: 'a', delete: true }] }]]);
  await waitFor(async () => (await foot()) === '2 of 2 rows' || (await foot()) === '', 10000, 'the note to go');
  assert.deepEqual(errors, []);
});

test('a category chart draws one bar per category, named, and moves a bar in place on an update', async (t) => {
  const server = await startServer({});
  t.after(() => server.stop());
  await publish(server.nats, [
    ['sv.rev.config', { type: 'chart', title: 'Revenue per region', chart_type: 'bar', x_type: 'category', label: 'revenue' }],
    ['sv.rev.data', { points: [['eu', 10], ['us', 20], ['apac', 5]], mode: 'upsert' }],
  ]);
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(`http://${server.http}/`);
  const state = () => page.evaluate(() => {
    const el = /** @type {any} */ (document.querySelector('[data-widget-id="rev"] [data-points]'));
    return {
      points: el?.getAttribute('data-points'),
      bars: el?.plot ? el.labels.map((name, i) => [name, el.plot.data[1][i]]) : [],
      summary: el?.querySelector('.sv-chart-plot')?.getAttribute('aria-label') ?? '',
    };
  });
  await waitFor(async () => (await state()).bars.length === 3, 10000, 'three bars');
  let s = await state();
  assert.deepEqual(s.bars, [['eu', 10], ['us', 20], ['apac', 5]], 'in the order the categories came');
  assert.match(s.summary, /eu/);
  await publish(server.nats, [['sv.rev.data', { points: [['us', 25]], mode: 'upsert' }]]);
  await waitFor(async () => (await state()).bars[1]?.[1] === 25, 10000, 'the us bar to move');
  s = await state();
  assert.deepEqual(s.bars, [['eu', 10], ['us', 25], ['apac', 5]], 'an update moves its bar, it does not add one');
  assert.equal(s.points, '3');
  assert.deepEqual(errors, []);
});
