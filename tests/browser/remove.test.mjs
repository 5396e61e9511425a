import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, publish, waitFor } from './harness.mjs';

const cards = (page) => page.evaluate(() => [...document.querySelectorAll('[data-widget-id]')].map((e) => e.dataset.widgetId));

test('a live card disappears when its widget is removed, and comes back empty when declared again', async (t) => {
  const { server, page, errors } = await openPage(t, [
    ['sv.old_name.config', { type: 'chart', title: 'Old name', order: 1 }],
    ['sv.old_name.data', { points: [[1, 1], [2, 2], [3, 3]] }],
    ['sv.kept.config', { type: 'stat', title: 'Kept', order: 2 }],
    ['sv.kept.data', { value: 5 }],
  ]);
  await waitFor(async () => (await cards(page)).length === 2, 10000, 'both cards');

  await publish(server.nats, [['sv.old_name.config', { remove: true }]]);
  await waitFor(async () => (await cards(page)).join() === 'kept', 10000, 'the removed card to go');
  assert.equal(await page.evaluate(() => document.querySelector('#sv-conn')?.dataset.state), 'live', 'no reconnect was needed');

  await publish(server.nats, [['sv.old_name.data', { points: [[10, 7]] }]]);
  await waitFor(async () => (await cards(page)).includes('old_name'), 10000, 'the card declared again');
  const points = await page.evaluate(() => document.querySelector('[data-widget-id="old_name"] [data-points]')?.getAttribute('data-points'));
  assert.equal(points, '1', 'the widget declared again holds none of the old points');

  // A fresh page never shows a removed widget.
  await publish(server.nats, [['sv.old_name.config', { remove: true }]]);
  await page.reload();
  await waitFor(async () => (await cards(page)).join() === 'kept', 10000, 'a fresh page without the removed card');
  assert.deepEqual(errors, []);
});
