// A stat or gauge is there to show its number: the number is shown whole, never cut with an
// ellipsis or by the card's edge, on a phone (320 CSS px, also a 1280 px window at 400% zoom), at
// 200% zoom (640) and on a desktop window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, newPage, openPage, publish, startServer, waitFor } from './harness.mjs';

test('a long stat or gauge value is shown whole at 320, 640 and 1280 px wide', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.big.config', { type: 'stat', title: 'Big', unit: 'requests/s', order: 1 }],
    ['sv.big.data', { value: 1234567890123.45 }],
    ['sv.big.data', { value: 1234567890124.45 }],
    ['sv.mid.config', { type: 'stat', title: 'Mid', unit: '$', order: 2 }],
    ['sv.mid.data', { value: 12345678.9 }],
    ['sv.g.config', { type: 'gauge', title: 'Gauge', unit: 'requests/s', min: 0, max: 1e9, order: 3 }],
    ['sv.g.data', { value: 123456789.25 }],
    ['sv.small.config', { type: 'stat', title: 'Small', order: 4 }],
    ['sv.small.data', { value: 7 }],
  ], { viewport: { width: 320, height: 640 } });
  await waitFor(() => page.evaluate(() => document.querySelectorAll('.sv-stat-value').length === 3
    && document.querySelector('.sv-gauge-value')?.textContent === '123,456,789.25'), 15000, 'the values');
  for (const width of [320, 640, 1280]) {
    await page.setViewportSize({ width, height: 700 });
    // The layout follows the new width at the next frame.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const cut = await page.evaluate(() => {
      const out = [];
      for (const v of document.querySelectorAll('.sv-stat-value, .sv-stat-unit, .sv-gauge-value, .sv-gauge-unit, .sv-gauge-limit')) {
        const card = v.closest('.sv-card').getBoundingClientRect();
        const r = v.getBoundingClientRect();
        const clipped = v instanceof HTMLElement && v.scrollWidth > v.clientWidth + 1;
        if (clipped || r.left < card.left - 0.5 || r.right > card.right + 0.5) {
          out.push(`${v.className.baseVal ?? v.className} "${v.textContent}": ${Math.round(r.left)}..${Math.round(r.right)} in card ${Math.round(card.left)}..${Math.round(card.right)}${clipped ? `, ${v.scrollWidth} wide in ${v.clientWidth}` : ''}`);
        }
      }
      return out;
    });
    assert.deepEqual(cut, [], `${width} px: values cut`);
    // A short value keeps its large size: only what does not fit is made smaller.
    const small = await page.$eval('[data-widget-id="small"] .sv-stat-value', (e) => parseFloat(getComputedStyle(e).fontSize));
    const mid = await page.$eval('[data-widget-id="mid"] .sv-stat-value', (e) => parseFloat(getComputedStyle(e).fontSize));
    assert.ok(small >= mid, `${width} px: "7" at ${small}px, "12,345,678.9" at ${mid}px`);
    assert.ok(small >= 22, `${width} px: a short value stays large (${small}px)`);
  }
  assert.deepEqual(errors, []);
});

test('a stat\'s number is shown whole under the reader\'s own text spacing (WCAG 1.4.12: letters 0.12em apart, words 0.16em, lines 1.5)', async (t) => {
  const server = await startServer({});
  t.after(() => server.stop());
  await publish(server.nats, [
    ['sv.a.config', { type: 'stat', title: 'Revenue today', unit: '$' }],
    ['sv.a.data', { value: 1234567.5 }],
  ]);
  const errors = [];
  const page = await newPage(await launchBrowser(t), errors);
  await page.setViewportSize({ width: 320, height: 640 });
  // What a text-spacing bookmarklet or user style sheet does, there before the page draws.
  await page.addInitScript(() => {
    const s = new CSSStyleSheet();
    s.replaceSync('* { line-height: 1.5 !important; letter-spacing: 0.12em !important; word-spacing: 0.16em !important; }');
    document.adoptedStyleSheets = [s];
  });
  await page.goto(`http://${server.http}/`);
  await waitFor(() => page.evaluate(() => document.querySelector('.sv-stat-value')?.textContent === '1,234,567.5'
    && getComputedStyle(document.body).letterSpacing !== 'normal'), 15000, 'the value, spaced');
  for (const width of [320, 1280]) {
    await page.setViewportSize({ width, height: 640 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const v = await page.$eval('.sv-stat-value', (e) => ({ sw: e.scrollWidth, cw: e.clientWidth }));
    assert.ok(v.sw <= v.cw + 1, `${width} px: the value is ${v.sw} px wide in ${v.cw}`);
  }
  assert.deepEqual(errors, []);
});
