// A keyboard-only reader of a dashboard of 30 mixed widgets (stats, gauges, charts, tables): Tab
// walks the cards in the order they are shown, every control shows its focus, nothing traps the
// focus, and going back with Shift+Tab never leaves the focused control under the sticky header,
// on a desktop window or at 400% zoom (320 by 256 CSS pixels).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, waitFor } from './harness.mjs';

const T0 = 1764230400000;
const N = 30;

/** A dashboard of N widgets in the order given (order = i): stat, gauge, chart, table, stat, ... */
function dashboard() {
  const msgs = [['sv.$dashboard.config', { title: 'Thirty widgets' }]];
  for (let i = 0; i < N; i++) {
    const id = `w${i}`;
    switch (i % 4) {
      case 0:
        msgs.push([`sv.${id}.config`, { type: 'stat', title: `Stat ${i}`, unit: '$', order: i }], [`sv.${id}.data`, { value: 1000 + i }]);
        break;
      case 1:
        msgs.push([`sv.${id}.config`, { type: 'gauge', title: `Gauge ${i}`, unit: '%', order: i }], [`sv.${id}.data`, { value: 40 + i }]);
        break;
      case 2:
        msgs.push([`sv.${id}.config`, { type: 'chart', title: `Chart ${i}`, order: i }],
          [`sv.${id}.data`, { points: Array.from({ length: 20 }, (_, j) => [T0 + j * 1000, j % 5]) }]);
        break;
      default:
        msgs.push([`sv.${id}.config`, { type: 'table', title: `Table ${i}`, order: i }],
          [`sv.${id}.data`, { ops: Array.from({ length: 5 }, (_, j) => ({ key: `r${j}`, row: { region: `region-${j}`, revenue: j * 10.5 } })) }]);
    }
  }
  return msgs;
}

async function open(t, viewport) {
  const { page, errors } = await openPage(t, dashboard(), { viewport });
  await waitFor(() => page.evaluate((n) => document.body.dataset.ready === '1'
    && document.querySelectorAll('.sv-card').length === n
    && document.querySelectorAll('.sv-card tr[data-key]').length === 5 * Math.floor(n / 4), N), 30000, 'the dashboard drawn');
  return { page, errors };
}

/** What has the focus: its card's widget id (or null on the page's own controls), its box, the header's bottom, and whether it shows a focus indicator. */
const focused = (page) => page.evaluate(() => {
  const a = document.activeElement;
  if (!a || a === document.body) return null;
  const r = a.getBoundingClientRect();
  const s = getComputedStyle(a);
  return {
    id: a.closest('[data-widget-id]')?.getAttribute('data-widget-id') ?? null,
    inHeader: a.closest('.sv-header') !== null,
    what: `${a.tagName.toLowerCase()}.${a.className}`,
    top: r.top,
    height: r.height,
    header: document.querySelector('.sv-header').getBoundingClientRect().bottom,
    vh: innerHeight,
    ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
  };
});

/** Tabs from the top of the page until the focus leaves it; returns each focused element. */
async function tabThrough(page) {
  await page.evaluate(() => { document.activeElement?.blur?.(); scrollTo(0, 0); });
  const seen = [];
  for (let i = 0; i < 400; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (!f) return seen;
    seen.push(f);
  }
  assert.fail(`the focus never left the page after 400 Tabs (trapped at ${seen.at(-1)?.what} of ${seen.at(-1)?.id})`);
}

test('Tab walks a 30-widget dashboard card by card in the order the cards are shown, every control showing its focus, and leaves the page at the end', async (t) => {
  const { page, errors } = await open(t, { width: 1280, height: 900 });
  const seen = await tabThrough(page);
  const noRing = seen.filter((f) => !f.ring).map((f) => `${f.what} of ${f.id}`);
  assert.deepEqual(noRing, [], 'every focused control shows a focus ring');
  const cards = [];
  for (const f of seen) if (f.id !== null && cards.at(-1) !== f.id) cards.push(f.id);
  assert.equal(new Set(cards).size, cards.length, `each card is entered once: ${cards.join(' ')}`);
  assert.equal(cards.length, N, `every card is reached: ${cards.join(' ')}`);
  // Where each card is shown, page coordinates: reading order is top to bottom, then left to right.
  const at = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('.sv-card')].map((c) => {
    const r = c.getBoundingClientRect();
    return [c.getAttribute('data-widget-id'), [Math.round(r.top + scrollY), Math.round(r.left)]];
  })));
  const shown = Object.keys(at).sort((a, b) => at[a][0] - at[b][0] || at[a][1] - at[b][1]);
  assert.deepEqual(cards, shown, 'the focus order is the order the cards are shown in');
  // ... which is the dashboard's order (order= of each widget).
  assert.deepEqual(cards, Array.from({ length: N }, (_, i) => `w${i}`));
  assert.deepEqual(errors, []);
});

for (const viewport of [{ width: 1280, height: 900 }, { width: 320, height: 256 }]) {
  test(`Shift+Tab back through a 30-widget dashboard never leaves the focused control under the header (${viewport.width}x${viewport.height})`, async (t) => {
    const { page, errors } = await open(t, viewport);
    const n = (await tabThrough(page)).length;
    const hidden = [];
    for (let i = 0; i < n; i++) {
      await page.keyboard.press('Shift+Tab');
      const f = await focused(page);
      assert.ok(f, `Shift+Tab ${i + 1} of ${n} left the page`);
      // A control taller than the room below the header cannot be wholly in view; its top still must be.
      if (!f.inHeader && f.top < f.header - 1) hidden.push(`${f.what} of ${f.id}: top ${Math.round(f.top)}, header bottom ${Math.round(f.header)}`);
    }
    assert.deepEqual(hidden, [], 'controls left under the header');
    assert.deepEqual(errors, []);
  });
}

// WCAG 1.4.4: text resized to 200% loses nothing. A window of 1280 by 900 at 200% zoom is 640 by 450
// CSS pixels: two columns of cards, each about 300 px wide.
for (const viewport of [{ width: 640, height: 450 }, { width: 1280, height: 900 }]) {
  test(`a long card title is shown whole, wrapped, not cut with an ellipsis (${viewport.width}x${viewport.height})`, async (t) => {
    const long = (what) => `${what}: revenue from enterprise customers in the EU region, net of refunds and chargebacks`;
    const { page, errors } = await openPage(t, [
      ['sv.s.config', { type: 'stat', title: long('Stat'), unit: '$', order: 1 }],
      ['sv.s.data', { value: 1234.5 }],
      ['sv.g.config', { type: 'gauge', title: long('Gauge'), order: 2 }],
      ['sv.g.data', { value: 40 }],
      ['sv.c.config', { type: 'chart', title: long('Chart'), order: 3 }],
      ['sv.c.data', { points: [[T0, 1], [T0 + 1000, 2]] }],
      ['sv.t.config', { type: 'table', title: long('Table'), order: 4 }],
      ['sv.t.data', { key: 'a', row: { a: 1 } }],
    ], { viewport });
    await waitFor(() => page.evaluate(() => document.querySelectorAll('.sv-card-title').length === 4
      && document.querySelector('tr[data-key]') !== null), 15000, 'the cards');
    const cut = await page.$$eval('.sv-card-title', (ts) => ts.filter((e) => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
      .map((e) => `${e.textContent.slice(0, 10)}: ${e.scrollWidth}x${e.scrollHeight} in ${e.clientWidth}x${e.clientHeight}`));
    assert.deepEqual(cut, [], 'titles cut');
    // The widget is still there to read below its title.
    const bodies = await page.$$eval('.sv-card-body', (bs) => bs.map((b) => b.getBoundingClientRect().height));
    assert.ok(bodies.every((h) => h >= 40), `every card keeps room for its content: ${bodies}`);
    assert.deepEqual(errors, []);
  });
}
