// A stat or gauge is there to show its number: the number is shown whole, never cut with an
// ellipsis or by the card's edge, on a phone (320 CSS px, also a 1280 px window at 400% zoom), at
// 200% zoom (640) and on a desktop window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, waitFor } from './harness.mjs';

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
