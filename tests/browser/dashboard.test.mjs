import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, newPage, publish, startServer, tempDir, waitFor } from './harness.mjs';

const WIDGETS = [
  ['sv.$dashboard.config', { title: 'Browser test board' }],
  ['sv.revenue.config', { type: 'stat', title: 'Revenue', unit: '$', format: ',.0f', order: 1 }],
  ['sv.revenue.data', { value: 1234567 }],
  ['sv.load.config', { type: 'gauge', title: 'Load', unit: '%', min: 0, max: 100, order: 2, thresholds: [[50, '#22c55e'], [100, '#ef4444']] }],
  ['sv.load.data', { value: 73 }],
  ['sv.latency.config', { type: 'chart', title: 'Latency', order: 3 }],
  ['sv.latency.data', { points: [[1764230400000, 1], [1764230401000, 2], [1764230402000, 3.5]] }],
  ['sv.regions.config', { type: 'table', title: 'Regions', order: 4, columns: ['region', 'revenue'], sort_by: 'revenue' }],
  ['sv.regions.data', { ops: [{ key: 'eu', row: { region: 'eu', revenue: 10 } }, { key: 'us', row: { region: 'us', revenue: 20 } }] }],
];

const card = (id) => `[data-widget-id="${id}"]`;

async function dashboardState(page) {
  return page.evaluate(() => {
    const q = (s) => document.querySelector(s);
    return {
      ready: document.body.dataset.ready,
      title: q('#sv-title')?.textContent,
      conn: q('#sv-conn')?.dataset.state,
      cards: [...document.querySelectorAll('[data-widget-id]')].map((e) => `${e.dataset.widgetId}:${e.dataset.widgetType}`),
      stat: q('[data-widget-id="revenue"] .sv-stat-value')?.textContent,
      gauge: q('[data-widget-id="load"] .sv-gauge-value')?.textContent,
      chartPoints: q('[data-widget-id="latency"] [data-points]')?.getAttribute('data-points'),
      chartLastY: q('[data-widget-id="latency"] [data-last-y]')?.getAttribute('data-last-y'),
      rows: [...document.querySelectorAll('[data-widget-id="regions"] tr[data-key]')].map((r) => r.dataset.key),
      cells: [...document.querySelectorAll('[data-widget-id="regions"] tr[data-key] td')].map((td) => td.textContent),
    };
  });
}

test('the dashboard shows all four widgets, live updates, and comes back by itself after a server restart', async (t) => {
  const dataDir = tempDir(t);
  let server = await startServer({ dataDir });
  t.after(() => server.stop());
  await publish(server.nats, WIDGETS);

  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(`http://${server.http}/`);
  await waitFor(async () => (await dashboardState(page)).rows.length === 2, 10000, 'the table rows');
  let s = await dashboardState(page);
  assert.equal(s.ready, '1');
  assert.equal(s.title, 'Browser test board');
  assert.equal(s.conn, 'live');
  assert.deepEqual(s.cards, ['revenue:stat', 'load:gauge', 'latency:chart', 'regions:table']);
  assert.match(s.stat, /1,234,567/);
  assert.match(s.gauge, /73/);
  assert.equal(s.chartPoints, '3');
  assert.equal(s.chartLastY, '3.5');
  assert.deepEqual(s.rows, ['us', 'eu'], 'sorted by revenue, descending');

  // A value published afterwards appears without a reload.
  await publish(server.nats, [
    ['sv.revenue.data', { value: 2000000 }],
    ['sv.latency.data', { x: 1764230403000, y: 9 }],
    ['sv.regions.data', { key: 'eu', row: { region: 'eu', revenue: 99 } }],
  ]);
  await waitFor(async () => {
    s = await dashboardState(page);
    return /2,000,000/.test(s.stat) && s.chartPoints === '4' && s.rows[0] === 'eu';
  }, 10000, 'the live update');
  assert.equal(s.chartLastY, '9');

  // Restart on the same address and data dir: the page reconnects by itself.
  assert.equal(await server.stop(), 0, 'SIGTERM exits 0');
  await waitFor(async () => (await dashboardState(page)).conn !== 'live', 10000, 'the page to notice the restart');
  server = await startServer({ addr: server.http, dataDir });
  await waitFor(async () => (await dashboardState(page)).conn === 'live', 15000, 'the page to reconnect');
  s = await dashboardState(page);
  assert.match(s.stat, /2,000,000/);
  assert.equal(s.chartPoints, '4', 'no point lost or duplicated across the restart');
  assert.deepEqual(s.rows, ['eu', 'us']);
  await publish(server.nats, [['sv.load.data', { value: 12 }]]);
  await waitFor(async () => /12/.test((await dashboardState(page)).gauge), 10000, 'an update after the restart');
  assert.deepEqual(errors, []);
});

test('/embed/{widget} shows only that widget, filling its frame', async (t) => {
  const server = await startServer({});
  t.after(() => server.stop());
  await publish(server.nats, WIDGETS);
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.setViewportSize({ width: 480, height: 320 });
  await page.goto(`http://${server.http}/embed/latency`);
  await waitFor(() => page.evaluate(() => document.body.dataset.ready === '1'), 10000, 'the embed page');
  const shown = await page.evaluate(() => [...document.querySelectorAll('[data-widget-id]')].map((e) => e.dataset.widgetId));
  assert.deepEqual(shown, ['latency']);
  await waitFor(async () => (await page.getAttribute(`${card('latency')} [data-points]`, 'data-points')) === '3', 10000, 'the chart points');
  const box = await page.locator(card('latency')).boundingBox();
  assert.ok(box && box.width >= 400 && box.height >= 250, `the widget fills the frame: ${JSON.stringify(box)}`);
  await publish(server.nats, [['sv.revenue.data', { value: 5 }], ['sv.latency.data', { x: 1764230409000, y: 4 }]]);
  await waitFor(async () => (await page.getAttribute(`${card('latency')} [data-points]`, 'data-points')) === '4', 10000, 'a live point');
  assert.equal(await page.locator('[data-widget-id]').count(), 1, 'other widgets never appear in an embed');
  assert.deepEqual(errors, []);
});

test('text from the bus is shown literally and never runs as script', async (t) => {
  const server = await startServer({});
  t.after(() => server.stop());
  const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
  await publish(server.nats, [
    ['sv.$dashboard.config', { title: evil }],
    ['sv.xss.config', { type: 'table', title: evil, columns: ['name'], column_labels: { name: evil } }],
    ['sv.xss.data', { key: evil, row: { name: evil } }],
    ['sv.xss2.config', { type: 'stat', title: evil, unit: evil }],
    ['sv.xss2.data', { value: 1 }],
  ]);
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(`http://${server.http}/`);
  await waitFor(() => page.evaluate(() => document.querySelectorAll('[data-widget-id="xss"] tr[data-key]').length === 1), 10000, 'the table');
  const seen = await page.evaluate(() => ({
    pwned: window.__pwned,
    imgs: document.querySelectorAll('img').length,
    title: document.querySelector('#sv-title').textContent,
    cell: document.querySelector('[data-widget-id="xss"] td').textContent,
    header: document.querySelector('[data-widget-id="xss"] th').textContent,
  }));
  assert.equal(seen.pwned, undefined);
  assert.equal(seen.imgs, 0, 'no element was created from the text');
  assert.equal(seen.title, evil);
  assert.equal(seen.cell, evil);
  assert.match(seen.header, /<img src=x/);
  assert.deepEqual(errors, []);
});
