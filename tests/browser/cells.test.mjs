// Long table cells (a log line or JSON blob of 10 KB from a pipeline): the row shows a few lines,
// a "show all" button (mouse, Enter, Space) shows the rest and "show less" hides it again, a
// screen reader gets the whole text either way, and live updates of the row leave it open or
// closed as the reader left it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { openPage, publish, waitFor } from './harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** About 10 KB of words, ending in a marker a reader has to reach. */
const blob = (tag) => `${tag} ${'GET /api/orders?region=eu status=200 took=12ms '.repeat(220)}END-OF-${tag}`;

const rowHeight = (page, key) => page.$eval(`tr[data-key="${key}"]`, (tr) => tr.getBoundingClientRect().height);

async function axeViolations(page) {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

/** Presses Tab, as a keyboard-only user would, until the focus is on an element matching sel. */
async function tabTo(page, sel) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, sel)) return;
  }
  assert.fail(`Tab never reached ${sel}`);
}

test('a 10 KB cell keeps its row a few lines tall until "show all" is pressed, by keyboard alone, and a screen reader gets all of it', async (t) => {
  const long = blob('LOG');
  const { server, page, errors } = await openPage(t, [
    ['sv.logs.config', { type: 'table', title: 'Logs', columns: ['line', 'status'] }],
    ['sv.logs.data', { ops: [
      { key: 'a', row: { line: long, status: 'ok' } },
      { key: 'b', row: { line: 'short line', status: 'ok' } },
    ] }],
  ], { viewport: { width: 1280, height: 900 } });
  await waitFor(async () => (await page.$$('tr[data-key]')).length === 2, 15000, 'the rows');
  const short = await rowHeight(page, 'b');
  const closed = await rowHeight(page, 'a');
  assert.ok(closed <= short * 5, `the long row is ${closed}px tall, a one-line row ${short}px`);
  // The cell's whole text is in the accessibility tree, its end too, while clamped.
  const cell = page.getByRole('cell', { name: /END-OF-LOG/ });
  assert.equal(await cell.count(), 1, 'the clamped cell is named by its whole text');
  assert.equal(await page.$eval('tr[data-key="a"] td', (td) => td.textContent), long, 'the cell holds its text as is');

  const btn = page.locator('tr[data-key="a"] .sv-cell-more');
  assert.equal(await page.getByRole('button', { name: 'show all' }).count(), 1, 'one button, on the long cell only');
  assert.equal(await btn.getAttribute('aria-expanded'), 'false');
  const controls = await btn.getAttribute('aria-controls');
  assert.equal(await page.$eval(`#${controls}`, (e) => e.textContent), long, 'the button controls the text');

  await tabTo(page, 'tr[data-key="a"] .sv-cell-more');
  assert.ok(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle !== 'none'), 'the focused button shows its focus');
  await page.keyboard.press('Enter');
  await waitFor(async () => (await btn.getAttribute('aria-expanded')) === 'true', 5000, 'opened by Enter');
  const open = await rowHeight(page, 'a');
  assert.ok(open > closed * 5, `open, the row shows all its text: ${open}px against ${closed}px`);
  assert.equal(await btn.getAttribute('aria-label'), 'show less');
  assert.deepEqual(await axeViolations(page), [], 'open');

  // Live updates of the open row keep it open, and the focus where it was.
  const next = blob('NEXT');
  await publish(server.nats, [['sv.logs.data', { key: 'a', row: { line: next, status: 'degraded' } }]]);
  await waitFor(() => page.$eval('tr[data-key="a"] td', (td) => td.textContent.startsWith('NEXT')), 15000, 'the update');
  assert.equal(await btn.getAttribute('aria-expanded'), 'true', 'still open after an update');
  assert.ok(await page.evaluate(() => document.activeElement?.matches('tr[data-key="a"] .sv-cell-more')), 'the focus stayed on the button');

  await page.keyboard.press('Space');
  await waitFor(async () => (await btn.getAttribute('aria-expanded')) === 'false', 5000, 'closed by Space');
  assert.ok(await rowHeight(page, 'a') <= short * 5, 'closed again, a few lines tall');
  assert.deepEqual(await axeViolations(page), [], 'closed');

  // A closed row stays closed through updates.
  await publish(server.nats, [['sv.logs.data', { key: 'a', row: { line: blob('THIRD'), status: 'ok' } }]]);
  await waitFor(() => page.$eval('tr[data-key="a"] td', (td) => td.textContent.startsWith('THIRD')), 15000, 'the second update');
  assert.equal(await btn.getAttribute('aria-expanded'), 'false');
  assert.ok(await rowHeight(page, 'a') <= short * 5, 'still a few lines tall');
  assert.deepEqual(errors, []);
});

test('a cell that shrinks to a short text loses its "show all" button, and a mouse click opens a long one', async (t) => {
  const { server, page, errors } = await openPage(t, [
    ['sv.j.config', { type: 'table', title: 'Blobs', columns: ['json', 'n'] }],
    ['sv.j.data', { ops: [{ key: 'a', row: { json: JSON.stringify({ items: Array.from({ length: 400 }, (_, i) => ({ i })) }), n: 1 } }] }],
  ], { viewport: { width: 1280, height: 900 } });
  await waitFor(async () => (await page.$$('tr[data-key]')).length === 1, 15000, 'the row');
  const btn = page.getByRole('button', { name: 'show all' });
  await btn.click();
  assert.equal(await page.locator('.sv-cell-more').getAttribute('aria-expanded'), 'true');
  await publish(server.nats, [['sv.j.data', { key: 'a', row: { json: '{}', n: 2 } }]]);
  await waitFor(() => page.$eval('tr[data-key="a"] td', (td) => td.textContent === '{}'), 15000, 'the short text');
  assert.equal(await page.getByRole('button', { name: /show (all|less)/ }).count(), 0, 'no button on a short cell');
  assert.deepEqual(errors, []);
});

test('Shift+Tab back up a scrolled table of long cells never leaves the focused "show all" under the table\'s sticky header', async (t) => {
  const ops = Array.from({ length: 20 }, (_, i) => ({ key: `k${String(i).padStart(2, '0')}`, row: { line: blob(`ROW${i}`), n: i } }));
  const { page, errors } = await openPage(t, [
    ['sv.logs.config', { type: 'table', title: 'Logs', columns: ['line', 'n'], sort_by: 'n', sort_desc: false }],
    ['sv.logs.data', { ops }],
  ], { viewport: { width: 1024, height: 768 } });
  await waitFor(async () => (await page.$$('.sv-cell-more')).length === 20, 15000, 'the rows');
  await tabTo(page, 'tr[data-key="k19"] .sv-cell-more');
  const hidden = [];
  for (let i = 18; i >= 0; i--) {
    await page.keyboard.press('Shift+Tab');
    const f = await page.evaluate(() => {
      const a = document.activeElement;
      return { key: a.closest('tr')?.dataset.key, top: a.getBoundingClientRect().top, head: a.closest('table').tHead.getBoundingClientRect().bottom };
    });
    assert.equal(f.key, `k${String(i).padStart(2, '0')}`, 'Shift+Tab goes up the rows');
    if (f.top < f.head - 1) hidden.push(`${f.key}: top ${Math.round(f.top)}, header bottom ${Math.round(f.head)}`);
  }
  assert.deepEqual(hidden, [], 'buttons left under the table header');
  assert.deepEqual(errors, []);
});

test('a table of two rows with long cells gets a card tall enough to show both, clamped, without scrolling', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.two.config', { type: 'table', title: 'Two logs', columns: ['line', 'n'] }],
    ['sv.two.data', { ops: [{ key: 'a', row: { line: blob('A'), n: 1 } }, { key: 'b', row: { line: blob('B'), n: 2 } }] }],
  ], { viewport: { width: 1280, height: 900 } });
  await waitFor(async () => (await page.$$('.sv-cell-more')).length === 2, 15000, 'the rows');
  const wrap = await page.$eval('.sv-table-wrap', (w) => ({ sh: w.scrollHeight, ch: w.clientHeight }));
  assert.ok(wrap.sh <= wrap.ch + 1, `the table scrolls inside its card: ${wrap.sh}px in ${wrap.ch}px`);
  assert.deepEqual(errors, []);
});
