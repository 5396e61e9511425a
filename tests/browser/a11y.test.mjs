// The page without sight: axe-core finds no violation at any impact on the dashboard or on an
// embed page of each widget type; charts have a text alternative and a keyboard cursor whose
// readings are announced; series toggles say whether they are pressed; tables are captioned and
// the sort arrow stays out of the header's name.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { instantText } from '../../web/asof.js';
import { launchBrowser, newPage, openPage, publish, startServer, waitFor } from './harness.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const T0 = 1764230400000;
const WIDGETS = [
  ['sv.$dashboard.config', { title: 'Accessible board' }],
  ['sv.revenue.config', { type: 'stat', title: 'Revenue', unit: '$', order: 1 }],
  ['sv.revenue.data', { value: 1234.5 }],
  ['sv.load.config', { type: 'gauge', title: 'Load', unit: '%', order: 2, thresholds: [[50, '#22c55e'], [100, '#ef4444']] }],
  ['sv.load.data', { value: 73 }],
  ['sv.latency.config', { type: 'chart', title: 'Latency', unit: 'ms', order: 3 }],
  ['sv.latency.data', { points: [[T0, 1], [T0 + 1000, 2], [T0 + 2000, 3.5]] }],
  ['sv.regions.config', { type: 'table', title: 'Regions', order: 4, columns: ['region', 'revenue'], sort_by: 'revenue' }],
  ['sv.regions.data', { ops: [{ key: 'eu', row: { region: 'eu', revenue: 10 } }, { key: 'us', row: { region: 'us', revenue: 20.5 } }] }],
];

async function axeViolations(page) {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

async function setup(t) {
  const server = await startServer({});
  t.after(() => server.stop());
  await publish(server.nats, WIDGETS);
  const browser = await launchBrowser(t);
  return { server, browser };
}

const ready = (page) => waitFor(() => page.evaluate(() => document.body.dataset.ready === '1'
  && document.querySelector('#sv-conn')?.getAttribute('data-state') === 'live'), 15000, 'the page live');

test('axe-core finds no violation on the dashboard or on the embed page of each widget type', async (t) => {
  const { server, browser } = await setup(t);
  const errors = [];
  for (const path of ['/', '/embed/revenue', '/embed/load', '/embed/latency', '/embed/regions']) {
    const page = await newPage(browser, errors);
    await page.setViewportSize(path === '/' ? { width: 1280, height: 900 } : { width: 400, height: 300 });
    await page.goto(`http://${server.http}${path}`);
    await ready(page);
    await waitFor(() => page.evaluate(() => document.querySelectorAll('[data-widget-id] .sv-stat-value, [data-widget-id] canvas, [data-widget-id] tr[data-key], [data-widget-id] .sv-gauge-value').length > 0), 10000, `${path} drawn`);
    assert.deepEqual(await axeViolations(page), [], path);
    if (path !== '/') {
      assert.equal(await page.locator('h1').count(), 1, `${path}: one h1`);
    }
    await page.close();
  }
  assert.deepEqual(errors, []);
});

test('a chart reads as an image with a summary, and its points can be walked with the arrow keys', async (t) => {
  const { server, browser } = await setup(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`http://${server.http}/`);
  await ready(page);
  const plot = page.locator('[data-widget-id="latency"] [role="img"]');
  await waitFor(async () => /latest 3\.5 ms/.test(await plot.getAttribute('aria-label')), 10000, 'the chart summary');
  const label = await plot.getAttribute('aria-label');
  assert.match(label, /^Latency: line chart of 1 series/);
  // One decimal: what the data needs (1, 2, 3.5), the same for every value.
  assert.match(label, /Latency: latest 3\.5 ms, ranging 1\.0 ms to 3\.5 ms over 3 points/);
  // The legend names the series by the widget's title, not "value", and says whether it is on.
  const toggle = page.getByRole('button', { name: /^Latency/ });
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');

  await plot.focus();
  const live = page.locator('[data-widget-id="latency"] [aria-live]');
  await page.keyboard.press('End');
  await waitFor(async () => /Latency: 3\.5 ms$/.test(await live.textContent()), 5000, 'the last point announced');
  await page.keyboard.press('ArrowLeft');
  await waitFor(async () => /Latency: 2\.0 ms$/.test(await live.textContent()), 5000, 'the previous point announced');
  const text = await live.textContent();
  assert.ok(text.includes(instantText(T0 + 1000)), `${text} names ${instantText(T0 + 1000)}`);
  // The tooltip shows the same reading at the cursor.
  assert.deepEqual(await page.locator('[data-widget-id="latency"] .sv-tip > div').allTextContents(), text.split('; '));
  await page.keyboard.press('Home');
  await waitFor(async () => /Latency: 1\.0 ms$/.test(await live.textContent()), 5000, 'the first point announced');
  assert.deepEqual(errors, []);
});

test('a table is captioned by its title and the sort arrow is not part of the header name', async (t) => {
  const { server, browser } = await setup(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(`http://${server.http}/`);
  await ready(page);
  await waitFor(() => page.evaluate(() => document.querySelectorAll('[data-widget-id="regions"] tr[data-key]').length === 2), 10000, 'rows');
  const table = page.getByRole('table', { name: 'Regions' });
  assert.equal(await table.count(), 1);
  const sorted = table.getByRole('columnheader', { name: 'revenue', exact: true });
  assert.equal(await sorted.getAttribute('aria-sort'), 'descending');
  assert.equal(await table.getByRole('button', { name: 'revenue', exact: true }).count(), 1);
  await table.getByRole('button', { name: 'region', exact: true }).click();
  await waitFor(async () => (await table.getByRole('columnheader', { name: 'region', exact: true }).getAttribute('aria-sort')) === 'descending', 5000, 'sorted by region');
  assert.equal(await table.getByRole('button', { name: 'region', exact: true }).count(), 1);
  assert.deepEqual(errors, []);
});

test('a chart whose points arrived out of x order names the x range they span in its summary', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.late.config', { type: 'chart', title: 'Late', unit: 'ms' }],
    ['sv.late.data', { points: [[T0 + 3000, 1], [T0, 2], [T0 + 2000, 4]] }],
  ], { path: '/embed/late' });
  const plot = page.locator('[data-widget-id="late"] [role="img"]');
  await waitFor(async () => /latest 4 ms/.test(await plot.getAttribute('aria-label')), 15000, 'the chart summary');
  // This process and the browser share the machine's time zone.
  const from = instantText(T0);
  const to = instantText(T0 + 3000);
  assert.ok((await plot.getAttribute('aria-label')).includes(`from ${from} to ${to}.`), await plot.getAttribute('aria-label'));
  assert.deepEqual(errors, []);
});

test('a blank title, column name, column label or series name still leaves every heading and button a name', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.blank.config', { type: 'stat', title: ' \t ', order: 1 }],
    ['sv.blank.data', { value: 1 }],
    ['sv.cols.config', { type: 'table', title: 'Columns', order: 2, columns: ['a', '', ' '], column_labels: { a: '' } }],
    ['sv.cols.data', { key: 'x', row: { a: 'labelled ""', '': 'named ""', ' ': 'named " "' } }],
    ['sv.ser.config', { type: 'chart', title: 'Series', order: 3, label: '  ' }],
    ['sv.ser.data', { series: ' ', points: [[T0, 1]] }],
    ['sv.ser.data', { points: [[T0, 2]] }],
  ], { viewport: { width: 1280, height: 900 } });
  await ready(page);
  await waitFor(() => page.evaluate(() => document.querySelectorAll('[data-widget-id="cols"] tr[data-key]').length === 1
    && document.querySelectorAll('[data-widget-id="ser"] .sv-legend-item').length === 2), 15000, 'drawn');
  assert.deepEqual(await axeViolations(page), []);
  // What stands in: the widget id for a title, the column's name for a label, else "(unnamed)".
  assert.equal(await page.textContent('[data-widget-id="blank"] .sv-card-title'), 'blank');
  assert.deepEqual(await page.$$eval('[data-widget-id="cols"] th', (ths) => ths.map((th) => th.textContent)), ['a', '(unnamed)', '(unnamed)']);
  // The default series beside a named one is one of them, unnamed: numbered, so the two differ.
  assert.deepEqual(await page.$$eval('[data-widget-id="ser"] .sv-legend-label', (ls) => ls.map((l) => l.textContent)), ['(unnamed 1)', '(unnamed 2)']);
  assert.deepEqual(errors, []);
});

test('points under a second apart read their milliseconds when walked with the arrow keys', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.fast.config', { type: 'chart', title: 'Fast' }],
    ['sv.fast.data', { points: [[T0, 1], [T0 + 250, 2], [T0 + 500, 3]] }],
  ], { path: '/embed/fast' });
  const plot = page.locator('[role="img"]');
  await waitFor(async () => /latest 3/.test(await plot.getAttribute('aria-label') ?? ''), 15000, 'the chart');
  await plot.focus();
  const live = page.locator('sv-chart > [aria-live]');
  const heard = [];
  for (const key of ['Home', 'ArrowRight', 'ArrowRight']) {
    await page.keyboard.press(key);
    await waitFor(async () => /Fast: \d$/.test(await live.textContent()) && !heard.includes(await live.textContent()), 5000, `a new reading after ${key}`);
    heard.push(await live.textContent());
  }
  assert.match(heard[1], /:00\.250/, heard.join(' | '));
  assert.deepEqual(errors, []);
});

test('a series named "" beside named ones is "(unnamed)" in the legend, the cursor reading and the text alternative, not the chart title', async (t) => {
  const { page, errors } = await openPage(t, [
    ['sv.tiers.config', { type: 'chart', title: 'Orders by tier' }],
    ['sv.tiers.data', { series: '', points: [[T0, 1], [T0 + 1000, 2]] }],
    ['sv.tiers.data', { series: 'gold', points: [[T0, 5], [T0 + 1000, 6]] }],
  ], { path: '/embed/tiers', viewport: { width: 800, height: 500 } });
  const plot = page.locator('[role="img"]');
  await waitFor(async () => /gold: latest 6/.test(await plot.getAttribute('aria-label') ?? ''), 15000, 'the chart summary');
  assert.deepEqual(await page.$$eval('.sv-legend-label', (ls) => ls.map((l) => l.textContent)), ['(unnamed)', 'gold']);
  assert.equal(await page.getByRole('button', { name: /^\(unnamed\)/ }).count(), 1, 'the legend toggle is named "(unnamed)"');
  const label = await plot.getAttribute('aria-label');
  assert.match(label, /^Orders by tier: line chart of 2 series, .*\. \(unnamed\): latest 2, ranging 1 to 2 over 2 points; gold: latest 6/);
  await plot.focus();
  await page.keyboard.press('End');
  const live = page.locator('sv-chart > [aria-live]');
  await waitFor(async () => /; \(unnamed\): 2; gold: 6$/.test(await live.textContent()), 5000, `the reading names it: ${await live.textContent()}`);
  assert.deepEqual(await page.locator('.sv-tip > div').allTextContents(), (await live.textContent()).split('; '));
  assert.ok(!(await live.textContent()).includes('Orders by tier'), 'the title is not read as a series');
  assert.deepEqual(errors, []);
});
