// Viewers around the world (README "Numbers and times"): every instant is shown in the viewer's
// time zone and written one way in every widget, whatever the browser's locale; numbers keep one
// rendering. Each test sets the browser context's locale and time zone itself, never the machine's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, publish, startServer, waitFor } from './harness.mjs';

/** A page in its own browser context with this locale and time zone; closed after t. */
async function pageIn(t, server, locale, timezoneId) {
  const browser = await launchBrowser(t);
  const context = await browser.newContext({ locale, timezoneId, viewport: { width: 1280, height: 900 } });
  t.after(() => context.close());
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://${server.http}/`);
  return { page, errors };
}

test('in the hour repeated when clocks go back, two points an hour apart read as two times, as a stat\u2019s hover writes them', async (t) => {
  const server = await startServer({});
  t.after(() => server.stop());
  // 01:30 on 1 November 2026 happens twice in Los Angeles: 08:30 UTC (daylight time) and 09:30 UTC.
  const first = Date.UTC(2026, 10, 1, 8, 30);
  const second = Date.UTC(2026, 10, 1, 9, 30);
  await publish(server.nats, [
    ['sv.c.config', { type: 'chart', title: 'Across the change', order: 1 }],
    ['sv.c.data', { points: [[first, 1], [second, 2]] }],
    ['sv.s.config', { type: 'stat', title: 'Then', order: 2 }],
    ['sv.s.data', { value: 1234.5, ts: first }],
  ]);
  const { page, errors } = await pageIn(t, server, 'de-DE', 'America/Los_Angeles');
  const label = () => page.evaluate(() => document.querySelector('[data-widget-id="c"] sv-chart')?.plot?.root.parentElement.getAttribute('aria-label') ?? '');
  await waitFor(async () => (await label()).includes('2 points'), 15000, 'the chart');
  assert.match(await label(), /from 2026-11-01 01:30:00 UTC-7 to 2026-11-01 01:30:00 UTC-8\./);
  const hover = await page.evaluate(() => document.querySelector('[data-widget-id="s"] .sv-stat-value')?.getAttribute('title'));
  assert.equal(hover, '2026-11-01 01:30:00 UTC-7', 'the stat names the same instant as the chart does');
  assert.equal(await page.evaluate(() => document.querySelector('[data-widget-id="s"] .sv-stat-value')?.textContent), '1,234.5');
  assert.deepEqual(errors, []);
});

test('a time axis across a daylight-saving change, in zones of half and quarter hours, labels each tick at its own instant and names the day at midnight', async (t) => {
  const server = await startServer({});
  t.after(() => server.stop());
  // Twelve hours of points, ten minutes apart, around each zone's change in 2026 (Kolkata has none).
  const zones = {
    'America/Los_Angeles': Date.UTC(2026, 10, 1, 3, 0),
    'Australia/Lord_Howe': Date.UTC(2026, 9, 3, 10, 0),
    'Pacific/Chatham': Date.UTC(2026, 8, 26, 8, 0),
    'Asia/Kolkata': Date.UTC(2026, 9, 3, 10, 0),
  };
  const msgs = [];
  for (const [i, t0] of Object.values(zones).entries()) {
    msgs.push([`sv.z${i}.config`, { type: 'chart', title: `zone ${i}` }],
      [`sv.z${i}.data`, { points: Array.from({ length: 73 }, (_, k) => [t0 + k * 600000, k]) }]);
  }
  await publish(server.nats, msgs);
  for (const [i, tz] of Object.keys(zones).entries()) {
    const { page, errors } = await pageIn(t, server, 'hi-IN', tz);
    const axis = () => page.evaluate((id) => {
      const p = document.querySelector(`[data-widget-id="${id}"] sv-chart`)?.plot;
      return p && p.data[0].length === 73 ? { splits: p.axes[0]._splits, values: p.axes[0]._values } : null;
    }, `z${i}`);
    await waitFor(async () => (await axis())?.values?.length > 0, 15000, `${tz}'s ticks`);
    const { splits, values } = await axis();
    assert.equal(new Set(values).size, values.length, `${tz}: every tick its own label: ${values}`);
    const want = await page.evaluate((s) => s.map((sec) => {
      const d = new Date(sec * 1000);
      const clock = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
      return clock === '00:00' ? `${d.toLocaleString('en', { month: 'short' })} ${d.getDate()}` : clock;
    }), splits);
    assert.deepEqual(values, want, `${tz}: each label is its tick's local time, or at midnight its day`);
    assert.ok(values.some((v) => / \d+$/.test(v)), `${tz}: twelve hours over midnight name the day: ${values}`);
    assert.deepEqual(errors, []);
  }
});

test('a chart of six days with ticks hours apart tells the days apart: each midnight tick reads its date', async (t) => {
  const server = await startServer({});
  t.after(() => server.stop());
  const t0 = Date.UTC(2026, 9, 30, 12, 0);
  await publish(server.nats, [
    ['sv.week.config', { type: 'chart', title: 'Six days', width: 'full' }],
    ['sv.week.data', { points: Array.from({ length: 145 }, (_, k) => [t0 + k * 3600e3, k]) }],
  ]);
  const { page, errors } = await pageIn(t, server, 'ja-JP', 'Asia/Kolkata');
  const axis = () => page.evaluate(() => {
    const p = document.querySelector('[data-widget-id="week"] sv-chart')?.plot;
    return p && p.data[0].length === 145 ? p.axes[0]._values : null;
  });
  await waitFor(async () => (await axis())?.length > 0, 15000, 'the ticks');
  const values = await axis();
  assert.ok(values.some((v) => /^\d\d:\d\d$/.test(v)), `ticks hours apart at 1280 px: ${values}`);
  const days = values.filter((v) => /^[A-Z][a-z]{2} \d+$/.test(v));
  assert.ok(days.length >= 5, `every midnight of six days names its date: ${values}`);
  assert.equal(new Set(days).size, days.length, `each day once: ${values}`);
  assert.deepEqual(errors, []);
});
