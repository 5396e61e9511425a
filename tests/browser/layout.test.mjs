// The layout at every width from a phone to a wide monitor: the cards fill the width (no empty
// columns), nothing scrolls sideways inside a card or on the page, tables are as tall as their
// rows, and the title wraps on a phone. An embed whose server is down says how old its data is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, newPage, openPage, publish, startServer, tempDir, waitFor } from './harness.mjs';

const WIDTHS = [320, 375, 600, 768, 1024, 1440, 1920, 2560];
const T0 = 1764230400000;
const TITLE = 'StreamViz demo: revenue, orders and latency across every region we serve';

const rows = [];
for (let i = 0; i < 12; i++) {
  rows.push({ key: `r${i}`, row: { region: `region-${i}-north-east`, revenue: 7167.3 + i * 273, orders: 1000 + i, 'Avg basket': 54.21 + i, share: 0.1234 } });
}
const WIDGETS = [
  ['sv.$dashboard.config', { title: TITLE }],
  ['sv.a.config', { type: 'stat', title: 'Revenue today', unit: '$', order: 1 }],
  ['sv.a.data', { value: 1234567.5 }],
  ['sv.b.config', { type: 'stat', title: 'Orders', order: 2 }],
  ['sv.b.data', { value: 8123 }],
  ['sv.g.config', { type: 'gauge', title: 'CPU', unit: '%', order: 3 }],
  ['sv.g.data', { value: 59.66 }],
  ['sv.c.config', { type: 'chart', title: 'Latency', order: 4 }],
  ['sv.c.data', { points: Array.from({ length: 60 }, (_, i) => [T0 + i * 1000, 10 + (i % 7)]) }],
  ['sv.big.config', { type: 'table', title: 'Regions', order: 5, columns: ['region', 'revenue', 'orders', 'Avg basket', 'share'], sort_by: 'revenue' }],
  ['sv.big.data', { ops: rows }],
  ['sv.small.config', { type: 'table', title: 'Top two', order: 6 }],
  ['sv.small.data', { ops: [{ key: 'x', row: { name: 'x', n: 1 } }, { key: 'y', row: { name: 'y', n: 2 } }] }],
  ['sv.d.config', { type: 'stat', title: 'Errors', order: 7 }],
  ['sv.d.data', { value: 3 }],
];

function measure(page) {
  return page.evaluate(() => {
    const grid = document.querySelector('#sv-grid');
    const gs = getComputedStyle(grid);
    const content = grid.getBoundingClientRect();
    const right = content.right - parseFloat(gs.paddingRight);
    const cards = [...grid.querySelectorAll('.sv-card')].map((c) => {
      const r = c.getBoundingClientRect();
      const overflowing = [...c.querySelectorAll('*')]
        .filter((e) => e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
        .map((e) => `${e.className}: ${e.scrollWidth} > ${e.clientWidth}`);
      // Text cut by a box too narrow for it (an ellipsis or a clipped header).
      const clipped = [...c.querySelectorAll('th, td, .sv-card-title')]
        .filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent);
      return { id: c.dataset.widgetId, left: r.left, right: r.right, top: r.top, bottom: r.bottom, height: r.height, overflowing, clipped };
    });
    const small = document.querySelector('[data-widget-id="small"]');
    const smallTable = small.querySelector('table').getBoundingClientRect().height;
    const title = document.querySelector('#sv-title');
    return {
      pageScroll: document.documentElement.scrollWidth - window.innerWidth,
      gridLeft: content.left + parseFloat(gs.paddingLeft),
      gridRight: right,
      cards,
      smallCard: small.getBoundingClientRect().height,
      smallTable,
      title: { text: title.textContent, sw: title.scrollWidth, cw: title.clientWidth, right: title.getBoundingClientRect().right },
    };
  });
}

test('at 8 widths from 320 to 2560 px the cards fill the width, nothing scrolls sideways and tables fit their rows', async (t) => {
  const { server, page, errors } = await openPage(t, WIDGETS);
  await waitFor(() => page.evaluate(() => document.querySelectorAll('[data-widget-id="big"] tr[data-key]').length === 12
    && document.querySelectorAll('[data-widget-id="small"] tr[data-key]').length === 2), 15000, 'the tables');
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const m = await measure(page);
    assert.ok(m.pageScroll <= 0, `${width}px: the page scrolls sideways by ${m.pageScroll}px`);
    for (const c of m.cards) {
      assert.deepEqual(c.overflowing, [], `${width}px: ${c.id} scrolls sideways`);
      assert.deepEqual(c.clipped, [], `${width}px: ${c.id} cuts text`);
      assert.ok(c.left >= m.gridLeft - 1 && c.right <= m.gridRight + 1, `${width}px: ${c.id} leaves the grid`);
    }
    // No empty column: some card reaches the right edge of the grid.
    const reach = Math.max(...m.cards.map((c) => c.right));
    assert.ok(reach >= m.gridRight - 2, `${width}px: ${Math.round(m.gridRight - reach)}px of empty columns on the right`);
    // A two-row table's card is not much taller than the table (title, padding and one row slack).
    assert.ok(m.smallCard <= m.smallTable + 100, `${width}px: a 2-row table (${m.smallTable}px) sits in a ${m.smallCard}px card`);
    assert.ok(m.title.sw <= m.title.cw + 1 && m.title.text === TITLE && m.title.right <= width, `${width}px: the title is cut: ${JSON.stringify(m.title)}`);
  }
  assert.deepEqual(errors, []);
});

test('an embed whose server is down shows how long ago it was updated', async (t) => {
  const dataDir = tempDir(t);
  const server = await startServer({ dataDir });
  let stopped = false;
  t.after(() => (stopped ? undefined : server.stop()));
  await publish(server.nats, WIDGETS);
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.setViewportSize({ width: 400, height: 300 });
  await page.goto(`http://${server.http}/embed/a`);
  await waitFor(() => page.evaluate(() => document.querySelector('#sv-conn')?.getAttribute('data-state') === 'live'), 15000, 'live');
  assert.equal(await page.locator('#sv-updated').isVisible(), false, 'while live the embed shows only its dot');
  await server.stop();
  stopped = true;
  await waitFor(async () => (await page.locator('#sv-updated').isVisible())
    && /^updated (just now|\d+s ago)$/.test(await page.textContent('#sv-updated')), 15000, 'the age shown while down');
  await waitFor(async () => /^updated [1-9]\d*s ago$/.test(await page.textContent('#sv-updated')), 15000, 'the age counting');
  assert.deepEqual(errors, []);
});

test('a 10 KB cell wraps inside its own column: the short text and numbers beside it keep one line each', async (t) => {
  const long = 'A'.repeat(10000);
  const { page, errors } = await openPage(t, [
    ['sv.t.config', { type: 'table', title: 'Incidents', columns: ['detail', 'status', 'n', 'note'] }],
    ['sv.t.data', { ops: [
      { key: 'a', row: { detail: long, status: 'degraded', n: 12345678.25, note: 'word '.repeat(2000) } },
      { key: 'b', row: { detail: 'short', status: 'ok', n: 5e-324, note: 'x' } },
    ] }],
  ], { viewport: { width: 1280, height: 900 } });
  await waitFor(async () => (await page.$$('tr[data-key]')).length === 2, 15000, 'the rows');
  // Lines a cell's text takes: one per line box of its text.
  const lines = () => page.$$eval('tr[data-key] td, th', (cells) => cells.map((c) => {
    const tops = new Set();
    const walk = document.createTreeWalker(c, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const r = document.createRange();
      r.selectNodeContents(n);
      for (const b of r.getClientRects()) tops.add(Math.round(b.top));
    }
    return [c.textContent.slice(0, 12), tops.size];
  }));
  const got = await lines();
  const one = got.filter(([text]) => ['status', 'n', 'degraded', '12,345,678.2', 'ok', '4.94e-324', 'short', 'x'].includes(text));
  assert.equal(one.length, 8, `the short cells and headers: ${JSON.stringify(got)}`);
  assert.ok(one.every(([, n]) => n === 1), `each on one line: ${JSON.stringify(one)}`);
  assert.deepEqual(errors, []);
});

test('Arabic and Hebrew titles, headers, cells and series read right to left, punctuation where it was written', async (t) => {
  const q = 'كم عدد الطلبات؟';
  const { page, errors } = await openPage(t, [
    ['sv.$dashboard.config', { title: 'לוח בקרה!' }],
    ['sv.t.config', { type: 'table', title: q, order: 1, column_labels: { city: 'עיר?' } }],
    ['sv.t.data', { ops: [{ key: 'a', row: { city: 'תל אביב!', n: 3 } }, { key: 'b', row: { city: 'Paris', n: 4 } }] }],
    ['sv.c.config', { type: 'chart', title: 'Orders', order: 2 }],
    ['sv.c.data', { series: 'الرياض!', points: [[T0, 1]] }],
  ]);
  await waitFor(async () => (await page.$$('tr[data-key]')).length === 2 && (await page.$$('.sv-legend-label')).length === 1, 15000, 'drawn');
  const dir = (sel) => page.$eval(sel, (e) => getComputedStyle(e).direction);
  assert.equal(await dir('#sv-title'), 'rtl');
  assert.equal(await dir('[data-widget-id="t"] .sv-card-title'), 'rtl');
  assert.equal(await dir('th[data-col="city"] .sv-th-label'), 'rtl');
  assert.equal(await dir('tr[data-key="a"] td'), 'rtl');
  assert.equal(await dir('.sv-legend-label'), 'rtl');
  // Left to right text and numbers keep their direction.
  assert.equal(await dir('tr[data-key="b"] td'), 'ltr');
  assert.equal(await dir('[data-widget-id="c"] .sv-card-title'), 'ltr');
  // The question mark that ends the title is drawn at its left end.
  const ends = await page.$eval('[data-widget-id="t"] .sv-card-title', (e) => {
    const text = e.firstChild;
    const at = (i) => { const r = document.createRange(); r.setStart(text, i); r.setEnd(text, i + 1); return r.getBoundingClientRect().left; };
    return { mark: at(text.length - 1), first: at(0) };
  });
  assert.ok(ends.mark < ends.first, `the question mark (${ends.mark}) left of the first letter (${ends.first})`);
  assert.deepEqual(errors, []);
});
