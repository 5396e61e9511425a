// Sizing hints (protocol.md §1.2): width spans grid columns (or the whole row), height picks a
// size or pixels, order places the card; at 390 px every hint still fits the screen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, publish, waitFor } from './harness.mjs';

const T0 = 1764230400000;
const pts = Array.from({ length: 30 }, (_, i) => [T0 + i * 1000, i % 7]);
const WIDGETS = [
  ['sv.plain.config', { type: 'stat', title: 'No hints', order: 1 }],
  ['sv.plain.data', { value: 1 }],
  ['sv.two.config', { type: 'stat', title: 'Two columns, small', order: 2, width: 2, height: 'small' }],
  ['sv.two.data', { value: 2 }],
  ['sv.full.config', { type: 'chart', title: 'Full width, 420 px', order: 3, width: 'full', height: 420 }],
  ['sv.full.data', { points: pts }],
  ['sv.big.config', { type: 'gauge', title: 'Large gauge with a long title that has to wrap or shorten on a phone', order: 4, width: 4, height: 'large' }],
  ['sv.big.data', { value: 50 }],
  ['sv.first.config', { type: 'table', title: 'First by order', order: -1, width: 3, height: 'medium' }],
  ['sv.first.data', { key: 'a', row: { region: 'a-very-long-region-name-that-wraps', revenue: 123456.75 } }],
];

function boxes(page) {
  return page.evaluate(() => {
    const grid = document.querySelector('#sv-grid');
    const gs = getComputedStyle(grid);
    const g = grid.getBoundingClientRect();
    const col = parseFloat(gs.gridTemplateColumns.split(' ')[0]);
    const out = {
      columns: gs.gridTemplateColumns.split(' ').length, col, gap: parseFloat(gs.columnGap),
      inner: g.width - parseFloat(gs.paddingLeft) - parseFloat(gs.paddingRight),
      pageScroll: document.documentElement.scrollWidth - window.innerWidth,
      order: [...grid.querySelectorAll('.sv-card')].map((c) => c.dataset.widgetId),
      cards: {},
    };
    for (const c of grid.querySelectorAll('.sv-card')) {
      const r = c.getBoundingClientRect();
      const over = [...c.querySelectorAll('*')].filter((e) => e.scrollWidth > e.clientWidth + 1
        && ['auto', 'scroll', 'hidden'].includes(getComputedStyle(e).overflowX) && !e.matches('canvas, .u-over, .u-under, .sv-table-wrap, .sv-sr-only'));
      out.cards[c.dataset.widgetId] = { w: r.width, h: r.height, left: r.left, right: r.right, over: over.map((e) => e.className) };
    }
    out.right = g.right - parseFloat(gs.paddingRight);
    return out;
  });
}

const near = (a, b, what) => assert.ok(Math.abs(a - b) <= 2, `${what}: ${a} is not ${b}`);

test('width, height and order hints change the cards\' boxes; at 390 px nothing overflows', async (t) => {
  const { server, page, errors } = await openPage(t, WIDGETS, { viewport: { width: 1440, height: 1000 } });
  await waitFor(() => page.evaluate(() => document.querySelectorAll('.sv-card').length === 5
    && document.querySelector('[data-widget-id="full"] canvas') !== null), 15000, 'five cards');
  let b = await boxes(page);
  assert.ok(b.columns >= 4, `a 1440 px grid has at least 4 columns (${b.columns})`);
  assert.deepEqual(b.order, ['first', 'plain', 'two', 'full', 'big'], 'order -1 goes first');
  const span = (n) => n * b.col + (n - 1) * b.gap;
  near(b.cards.plain.w, span(1), 'no hint: one column');
  near(b.cards.two.w, span(2), 'width 2');
  near(b.cards.first.w, span(3), 'width 3');
  near(b.cards.big.w, span(4), 'width 4');
  near(b.cards.full.w, b.inner, 'width full');
  near(b.cards.full.h, 420, 'height 420 px');
  assert.ok(b.cards.two.h < b.cards.first.h && b.cards.first.h < b.cards.big.h, `small < medium < large: ${b.cards.two.h}, ${b.cards.first.h}, ${b.cards.big.h}`);
  near(b.cards.two.h, b.cards.plain.h, 'small is one row, as a stat');

  // A new config changes the box live.
  await publish(server.nats, [['sv.plain.config', { type: 'stat', title: 'No hints', order: 1, width: 2, height: 'medium' }]]);
  await waitFor(async () => Math.abs((await boxes(page)).cards.plain.w - span(2)) <= 2, 10000, 'the stat two columns wide');
  b = await boxes(page);
  near(b.cards.plain.h, b.cards.first.h, 'medium');

  await page.setViewportSize({ width: 390, height: 844 });
  await waitFor(async () => (await boxes(page)).columns === 1, 10000, 'one column at 390 px');
  b = await boxes(page);
  assert.equal(b.pageScroll, 0, 'the page does not scroll sideways');
  for (const [id, c] of Object.entries(b.cards)) {
    assert.ok(c.right <= b.right + 1, `${id} ends at ${c.right}, past the grid's ${b.right}`);
    near(c.w, b.inner, `${id} is one column wide on a phone`);
    assert.deepEqual(c.over, [], `${id} has content wider than its box`);
  }
  assert.deepEqual(errors, []);
});
