// Themes: the header's picker switches every widget's colours and is remembered across reloads;
// `auto` follows the system's colour scheme; `?theme=` overrides one view (dashboard and embed);
// a custom theme sent on sv.$dashboard.config becomes the page's colours, font and radius.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPage, publish, waitFor } from './harness.mjs';

const T0 = 1764230400000;
const WIDGETS = [
  ['sv.s.config', { type: 'stat', title: 'Orders', order: 1 }],
  ['sv.s.data', { value: 12 }],
  ['sv.g.config', { type: 'gauge', title: 'CPU', order: 2 }],
  ['sv.g.data', { value: 40 }],
  ['sv.c.config', { type: 'chart', title: 'Latency', order: 3 }],
  ['sv.c.data', { points: Array.from({ length: 20 }, (_, i) => [T0 + i * 1000, 10 + (i % 5)]) }],
  ['sv.t.config', { type: 'table', title: 'Regions', order: 4 }],
  ['sv.t.data', { ops: [{ key: 'eu', row: { region: 'eu', n: 1 } }] }],
];

/** The colours each widget type draws with, read from the live page. */
function colours(page) {
  return page.evaluate(() => {
    const cs = (/** @type {string} */ sel, /** @type {string} */ prop) => {
      const e = document.querySelector(sel);
      return e ? getComputedStyle(e).getPropertyValue(prop) : 'missing';
    };
    return {
      theme: document.documentElement.dataset.theme,
      page: cs('body', 'background-color'),
      card: cs('[data-widget-id="s"]', 'background-color'),
      stat: cs('[data-widget-id="s"] .sv-stat-value', 'color'),
      gauge: cs('[data-widget-id="g"] .sv-gauge-track', 'stroke'),
      gaugeArc: cs('[data-widget-id="g"] .sv-gauge-arc', 'stroke'),
      chart: cs('[data-widget-id="c"] .sv-legend-swatch', 'background-color'),
      table: cs('[data-widget-id="t"] td', 'color'),
    };
  });
}

const ready = (page) => waitFor(() => page.evaluate(() => document.body.dataset.ready === '1'
  && document.querySelector('[data-widget-id="c"] .sv-legend-swatch') !== null
  && document.querySelector('[data-widget-id="t"] td') !== null), 15000, 'the page with its widgets');

test('the header picker switches every widget type to the light colours, and a reload keeps the choice', async (t) => {
  const { page, errors } = await openPage(t, WIDGETS);
  await ready(page);
  const dark = await colours(page);
  assert.equal(dark.theme, 'dark');
  await page.selectOption('#sv-theme', 'light');
  await waitFor(async () => (await colours(page)).theme === 'light', 10000, 'the light theme');
  // The chart draws again in the new palette (its swatch comes with the rebuilt plot).
  await waitFor(async () => (await colours(page)).chart !== dark.chart, 10000, 'the chart in light colours');
  const light = await colours(page);
  for (const k of ['page', 'card', 'stat', 'gauge', 'gaugeArc', 'chart', 'table']) {
    assert.notEqual(light[k], dark[k], `${k} keeps its dark colour ${dark[k]} in the light theme`);
  }
  await page.reload();
  await ready(page);
  assert.deepEqual(await colours(page), light, 'the choice survives a reload');
  assert.equal(await page.inputValue('#sv-theme'), 'light');
  // Back to the dashboard's own theme, which is dark.
  await page.selectOption('#sv-theme', '');
  await waitFor(async () => (await colours(page)).chart === dark.chart, 10000, 'the dark colours again');
  assert.deepEqual(await colours(page), dark);
  assert.deepEqual(errors, []);
});

test('auto follows the emulated prefers-color-scheme, both ways, without a reload', async (t) => {
  const { page, errors } = await openPage(t, WIDGETS, { path: '/?theme=auto' });
  await ready(page);
  await page.emulateMedia({ colorScheme: 'light' });
  await waitFor(async () => (await colours(page)).theme === 'light', 10000, 'light with a light system scheme');
  const light = await colours(page);
  await page.emulateMedia({ colorScheme: 'dark' });
  await waitFor(async () => (await colours(page)).theme === 'dark', 10000, 'dark with a dark system scheme');
  await waitFor(async () => (await colours(page)).chart !== light.chart, 10000, 'the chart redrawn dark');
  assert.notEqual((await colours(page)).card, light.card);
  assert.deepEqual(errors, []);
});

test('?theme=light overrides the view on the dashboard and on an embed', async (t) => {
  const { server, browser, page, errors } = await openPage(t, WIDGETS, { path: '/?theme=light' });
  await ready(page);
  assert.equal((await colours(page)).theme, 'light');
  assert.equal(await page.inputValue('#sv-theme'), 'light');
  const embed = await browser.newPage();
  embed.on('pageerror', (e) => errors.push(e.message));
  await embed.goto(`http://${server.http}/embed/g?theme=light`);
  await waitFor(() => embed.evaluate(() => document.querySelector('.sv-gauge-track') !== null), 15000, 'the embedded gauge');
  const track = await embed.evaluate(() => [document.documentElement.dataset.theme, getComputedStyle(document.querySelector('.sv-gauge-track')).stroke]);
  assert.deepEqual(track, ['light', (await colours(page)).gauge]);
  const plain = await browser.newPage();
  await plain.goto(`http://${server.http}/embed/g`);
  await waitFor(() => plain.evaluate(() => document.querySelector('.sv-gauge-track') !== null), 15000, 'the plain embed');
  assert.equal(await plain.evaluate(() => document.documentElement.dataset.theme), 'dark');
  assert.deepEqual(errors, []);
});

test('a custom theme from raw NATS sets accent, background, font and radius; a bad one changes nothing', async (t) => {
  const { server, page, errors } = await openPage(t, WIDGETS);
  await ready(page);
  const before = await colours(page);
  await publish(server.nats, [['sv.$dashboard.config', {
    title: 'Themed', theme: { accent: '#7c3aed', background: '#0b1020', font: 'Inter, sans-serif', radius: 8 },
  }]]);
  const custom = () => page.evaluate(() => ({
    bg: getComputedStyle(document.body).backgroundColor,
    font: getComputedStyle(document.body).fontFamily,
    radius: getComputedStyle(document.querySelector('[data-widget-id="s"]')).borderTopLeftRadius,
    arc: getComputedStyle(document.querySelector('.sv-gauge-arc')).stroke,
    swatch: getComputedStyle(document.querySelector('[data-widget-id="c"] .sv-legend-swatch')).backgroundColor,
  }));
  const want = { bg: 'rgb(11, 16, 32)', font: 'Inter, sans-serif', radius: '8px', arc: 'rgb(124, 58, 237)', swatch: 'rgb(124, 58, 237)' };
  await waitFor(async () => JSON.stringify(await custom()) === JSON.stringify(want), 10000, 'the custom theme');
  assert.notEqual(before.page, want.bg);
  // Trying to smuggle CSS through a value is refused by the server: the page keeps its theme.
  await assert.rejects(
    publish(server.nats, [['sv.$dashboard.config', { title: 'Evil', theme: { accent: 'red;} body{display:none', background: 'url(//x)' } }]]),
    /theme\.accent/, 'the publisher is told the first bad field by name (accent before background)',
  );
  await publish(server.nats, [['sv.s.data', { value: 13 }]]);
  await waitFor(async () => (await page.textContent('[data-widget-id="s"] .sv-stat-value')) === '13', 10000, 'the update after the bad theme');
  assert.deepEqual(await custom(), want);
  assert.equal(await page.textContent('#sv-title'), 'Themed');
  // The viewer's choice of light drops the dark background but keeps accent, font and radius.
  await page.selectOption('#sv-theme', 'light');
  await waitFor(async () => (await custom()).bg !== want.bg, 10000, 'the light background');
  const mixed = await custom();
  assert.deepEqual([mixed.font, mixed.radius, mixed.arc], [want.font, want.radius, want.arc]);
  assert.deepEqual(errors, []);
});
