// A reader scrolled into a live table keeps their place while rows move. Chrome's scroll
// anchoring used to follow whichever row sat at the top of the view: sorted by a changing
// column, that row sank and the view slid down with it, to the bottom within seconds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, publish, waitFor } from './harness.mjs';

const N = 300;

test('a live-sorted 300-row table keeps its scroll position while the rows in view sink to the bottom', async (t) => {
  const ops = [];
  for (let i = 0; i < N; i++) ops.push({ key: `k${i}`, row: { name: `row ${i}`, score: N - i } });
  const { server, page, errors } = await openPage(t, [
    ['sv.board.config', { type: 'table', title: 'Board', columns: ['name', 'score'], sort_by: 'score', max_rows: N }],
    ['sv.board.data', { ops }],
  ], { viewport: { width: 1024, height: 768 } });
  const wrap = '[data-widget-id="board"] .sv-table-wrap';
  await waitFor(() => page.evaluate(
    (n) => document.querySelectorAll('[data-widget-id="board"] tr[data-key]').length === n, N), 15000, 'all rows');
  // Scroll so that row k100 is at the top of the view (below the sticky header).
  const start = await page.evaluate((sel) => {
    const w = document.querySelector(sel);
    const row = w.querySelector('tr[data-key="k100"]');
    const head = w.querySelector('th').getBoundingClientRect().height;
    w.scrollTop = row.offsetTop - head;
    return w.scrollTop;
  }, wrap);
  assert.ok(start > 1000, `scrolled into the table: ${start}`);
  /** The key of the first row fully below the header. */
  const topKey = () => page.evaluate((sel) => {
    const w = document.querySelector(sel);
    const edge = w.querySelector('th').getBoundingClientRect().bottom;
    return [...w.querySelectorAll('tr[data-key]')].find((r) => r.getBoundingClientRect().top >= edge - 1)?.dataset.key;
  }, wrap);
  assert.equal(await topKey(), 'k100');
  // Each round, the last row jumps to the top and the one at the top of the view sinks a few
  // ranks: rows cross the view in both directions, as on a leaderboard. Chrome's anchoring
  // would keep the row under the reader's eye in place and scroll the ranks away beneath it.
  const score = new Map(ops.map((o) => [o.key, o.row.score]));
  const ranked = () => [...score].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  let top = N + 1;
  for (let round = 0; round < 10; round++) {
    const key = await topKey();
    let order = ranked();
    assert.equal(order.indexOf(key), 100, `round ${round}: the view shows rank 100 (${key})`);
    const riser = order[N - 1];
    score.set(riser, top++);
    order = ranked();
    const at = order.indexOf(key);
    score.set(key, (score.get(order[at + 5]) + score.get(order[at + 6])) / 2);
    await publish(server.nats, [['sv.board.data', { ops: [
      { key: riser, row: { name: riser, score: score.get(riser) } },
      { key, row: { name: key, score: score.get(key) } },
    ] }]]);
    const want = ranked();
    await waitFor(() => page.evaluate(
      (w) => [...document.querySelectorAll('[data-widget-id="board"] tr[data-key]')].every((r, i) => r.dataset.key === w[i]),
      want), 10000, `round ${round}: the new order`);
    // Chrome applies scroll anchoring at the next layout: let two frames pass before reading.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const now = await page.evaluate((sel) => document.querySelector(sel).scrollTop, wrap);
    assert.equal(now, start, `round ${round}: the view moved from ${start} to ${now}`);
  }
  assert.deepEqual(errors, []);
});
