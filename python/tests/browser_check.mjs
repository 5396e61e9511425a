// Opens a StreamViz dashboard in Debian's Chromium (never a downloaded browser) and waits until
// every expected widget type shows data. Used by test_demo_browser.py.
//
//   node browser_check.mjs <dashboard url> <timeout ms>
//
// Prints one JSON line: {"ok": bool, "state": {...}, "errors": [...]}; exits 0 when ok.
import { chromium } from '../../tests/browser/node_modules/playwright-core/index.mjs';

const [url, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg || 30000);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function readState() {
  const cards = [...document.querySelectorAll('[data-widget-id]')];
  const of = (type) => cards.filter((c) => c.dataset.widgetType === type);
  const text = (el, sel) => el.querySelector(sel)?.textContent?.trim() ?? null;
  return {
    ready: document.body.dataset.ready ?? null,
    conn: document.querySelector('#sv-conn')?.dataset.state ?? null,
    title: document.querySelector('#sv-title')?.textContent ?? null,
    cards: cards.map((c) => `${c.dataset.widgetId}:${c.dataset.widgetType}`),
    stats: of('stat').map((c) => text(c, '.sv-stat-value')),
    gauges: of('gauge').map((c) => text(c, '.sv-gauge-value')),
    charts: of('chart').map((c) => Number(c.querySelector('[data-points]')?.getAttribute('data-points') ?? 0)),
    tables: of('table').map((c) => c.querySelectorAll('tr[data-key]').length),
    cells: of('table').map((c) => [...c.querySelectorAll('tr[data-key] td')].slice(0, 4).map((td) => td.textContent)),
  };
}

const digit = (s) => typeof s === 'string' && /\d/.test(s);
const complete = (s) =>
  s.ready === '1' && s.conn === 'live' &&
  s.stats.length >= 1 && s.stats.every(digit) &&
  s.gauges.length >= 1 && s.gauges.every(digit) &&
  s.charts.length >= 1 && s.charts.every((n) => n >= 1) &&
  s.tables.length >= 1 && s.tables.every((n) => n >= 1);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const errors = [];
let state = null;
let ok = false;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url, { timeout });
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    state = await page.evaluate(readState);
    if (complete(state)) {
      ok = true;
      break;
    }
    await page.waitForTimeout(100);
  }
} catch (e) {
  errors.push(String(e));
} finally {
  await browser.close();
}
console.log(JSON.stringify({ ok: ok && errors.length === 0, state, errors }));
process.exit(ok && errors.length === 0 ? 0 : 1);
