// Data as of (protocol.md §1.2 stale_after, §1.3 as_of): a card shows the producer's time of its
// latest data on hover, turns stale when no newer data comes within stale_after, and the header
// shows the pipeline's latest time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, publish, waitFor } from './harness.mjs';

/** The clock text the page shows for t, computed in the page (its time zone). */
const clock = (page, t) => page.evaluate((ms) => {
  const d = new Date(ms);
  const two = (n) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}, t);

test('a card shows "as of" its latest Pathway time on hover, and the header the pipeline\'s latest', async (t) => {
  const t1 = Date.now() - (Date.now() % 2);
  const { server, page, errors } = await openPage(t, [
    ['sv.orders.config', { type: 'stat', title: 'Orders', stale_after: 3600, order: 1 }],
    ['sv.orders.data', { value: 5, as_of: t1 }],
    ['sv.plain.config', { type: 'stat', title: 'Plain', order: 2 }],
    ['sv.plain.data', { value: 1 }],
  ]);
  const card = '[data-widget-id="orders"]';
  await waitFor(async () => (await page.textContent(`${card} .sv-stat-value`)) === '5', 15000, 'the stat drawn');
  const want = `as of ${await clock(page, t1)}`;
  assert.equal(await page.textContent(`${card} .sv-card-asof`), want);
  assert.equal(await page.isVisible(`${card} .sv-card-asof`), false, 'hidden until hovered');
  await page.hover(card);
  await waitFor(() => page.isVisible(`${card} .sv-card-asof`), 5000, 'the as-of shown on hover');
  assert.equal(await page.textContent('#sv-asof'), `pipeline at ${await clock(page, t1)}`);
  assert.equal(await page.getAttribute(card, 'data-stale'), null);
  assert.equal(await page.textContent('[data-widget-id="plain"] .sv-card-asof'), '', 'a widget without as_of shows none');

  const t2 = t1 + 61_000;
  await publish(server.nats, [['sv.orders.data', { value: 6, as_of: t2 }]]);
  await waitFor(async () => (await page.textContent(`${card} .sv-card-asof`)) === `as of ${await clock(page, t2)}`, 15000, 'the newer as-of');
  await waitFor(async () => (await page.textContent('#sv-asof')) === `pipeline at ${await clock(page, t2)}`, 5000, 'the header follows');
  assert.deepEqual(errors, []);
});

test('a card goes stale when no commit arrives within stale_after, and fresh with the next one', async (t) => {
  const t1 = Date.now() - (Date.now() % 2);
  const { server, page, errors } = await openPage(t, [
    ['sv.rev.config', { type: 'table', title: 'Revenue', stale_after: 0.3 }],
    ['sv.rev.data', { ops: [{ key: 'eu', row: { region: 'eu', n: 1 } }], as_of: t1 }],
  ]);
  const card = '[data-widget-id="rev"]';
  await waitFor(async () => (await page.getAttribute(card, 'data-stale')) === 'true', 20000, 'the card marked stale');
  assert.match(await page.textContent(`${card} .sv-card-asof`), /^stale: no new data for \d+s, as of \d\d:\d\d:\d\d$/);
  assert.equal(await page.isVisible(`${card} .sv-card-asof`), true, 'a stale card shows its as-of without hovering');

  // Every state the card passes through, recorded as it happens: the commit that arrives must
  // show fresh, however soon stale_after makes it stale again.
  await page.evaluate((sel) => {
    const el = document.querySelector(sel);
    window.__asof = [];
    new MutationObserver(() => window.__asof.push({
      text: el.querySelector('.sv-card-asof').textContent, stale: el.dataset.stale ?? null,
    })).observe(el, { attributes: true, subtree: true, childList: true, characterData: true });
  }, card);
  const t2 = Date.now() - (Date.now() % 2);
  await publish(server.nats, [['sv.rev.data', { ops: [{ key: 'eu', row: { region: 'eu', n: 2 } }], as_of: t2 }]]);
  const fresh = `as of ${await clock(page, t2)}`;
  await waitFor(async () => (await page.evaluate(() => window.__asof)).some((s) => s.text === fresh && s.stale === null), 20000,
    'the card fresh with the new commit');
  assert.deepEqual(errors, []);
});
